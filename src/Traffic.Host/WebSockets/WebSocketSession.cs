using System.Net.WebSockets;
using Akka.Actor;
using Traffic.Actors.Connections;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Host.Configuration;

namespace Traffic.Host.WebSockets;

/// <summary>What both ways of accepting a WebSocket share: its keep-alive settings and its hand-over to the hub.</summary>
public static class WebSocketSession
{
    /// <summary>
    /// The runtime's keep-alive settings that make it send a protocol PING every heartbeat interval, on the
    /// standard path only (<see cref="WebSocketEndpoint"/>: an upgrade on a reused HTTP connection). On the
    /// direct path the runtime has no keep-alive timer: the connection actor's heartbeat sends the PINGs
    /// (<see cref="OutboundWriter.Ping"/>), so 10 000 sockets do not keep 10 000 timers ticking.
    /// <para>
    /// Interval: .NET checks on a timer that ticks every quarter of its KeepAliveInterval and pings
    /// at the first tick after "interval since the peer last sent anything"; the PONG arrives just
    /// after a tick, so the next ping waits for the fifth tick: pings every 1.25 x the interval
    /// (measured: 12.5 s for 10 s). Passing 0.8 x the heartbeat interval puts them at the interval
    /// (PingIntervalSpecs).
    /// </para>
    /// Timeout: none in effect. The runtime waits for the PONG of its PING and, past its timeout, aborts
    /// the connection whatever else the client sent: a client that sends messages but answers no
    /// PING, or keeps itself alive with unsolicited PONGs (RFC 6455 5.5.3), would be cut off although
    /// the protocol counts any frame as a sign of life (docs/protocol.md). So the decision is the
    /// ConnectionActor's alone (HEARTBEAT_TIMEOUT_MS of silence, any frame counts; a dead TCP peer is
    /// silent too). The runtime's timeout is set as long as it takes (about 24 days: it only needs
    /// to be finite, or the runtime sends unsolicited PONGs instead of PINGs); while a PING waits
    /// for its PONG the runtime sends no other.
    /// </summary>
    public static (TimeSpan Interval, TimeSpan Timeout) KeepAlive(ServiceOptions options) =>
        (options.Connection.HeartbeatInterval * 0.8, RuntimePongTimeout);

    /// <summary>The longest keep-alive timeout the runtime takes (it counts in int milliseconds).</summary>
    private static readonly TimeSpan RuntimePongTimeout = TimeSpan.FromMilliseconds(int.MaxValue);

    /// <summary>Hands the socket to a new connection actor and returns once the socket is finished with.</summary>
    /// <param name="remoteAddress">Where the client connects from, for the logs.</param>
    /// <param name="compression">Set when the client negotiated permessage-deflate (the direct path only).</param>
    public static async Task ServeAsync(WebSocket webSocket, SocketStream? stream, ConnectRequest request,
        ServiceOptions options, IActorRef hub, CancellationToken connectionAborted, string? remoteAddress = null, TrafficMetrics? metrics = null,
        FrameCompressor? compression = null)
    {
        var socket = new WebSocketClientSocket(webSocket, stream, options.OutboundQueueLimit, options.MaxClientMessageBytes,
            options.ClientBytesPerSecond, options.OutboundQueueBytes, remoteAddress ?? "unknown", connectionAborted, metrics, compression);
        using (connectionAborted.Register(socket.AbandonIfNotStarted))
        {
            if (request.Deltas) socket.UseDeltas();
            hub.Tell(new ConnectionHubCommands.Accept(socket, request.Topics, request.Since));
            await socket.Completion.ConfigureAwait(false);
        }
    }
}
