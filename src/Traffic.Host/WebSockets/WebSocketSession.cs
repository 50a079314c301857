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
    /// The runtime's keep-alive settings that make it send a protocol PING every heartbeat interval.
    /// <para>
    /// Interval: .NET checks on a timer that ticks every quarter of its KeepAliveInterval and pings
    /// at the first tick after "interval since the peer last sent anything"; the PONG arrives just
    /// after a tick, so the next ping waits for the fifth tick: pings every 1.25 x the interval
    /// (measured: 12.5 s for 10 s). Passing 0.8 x the heartbeat interval puts them at the interval
    /// (PingIntervalSpecs).
    /// </para>
    /// Timeout: the runtime's own PONG timeout is only a backstop, far enough behind the
    /// ConnectionActor's (HEARTBEAT_TIMEOUT_MS, checked every interval) that the actor always ends a
    /// silent connection first, counts it and logs why.
    /// </summary>
    public static (TimeSpan Interval, TimeSpan Timeout) KeepAlive(ServiceOptions options) =>
        (options.Connection.HeartbeatInterval * 0.8, options.Connection.HeartbeatTimeout * 2 + options.Connection.HeartbeatInterval);

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
