using System.Net.WebSockets;
using Akka.Actor;
using Traffic.Actors.Connections;
using Traffic.Actors.Protocol;
using Traffic.Host.Configuration;

namespace Traffic.Host.WebSockets;

/// <summary>What both ways of accepting a WebSocket share: its keep-alive settings and its hand-over to the hub.</summary>
public static class WebSocketSession
{
    /// <summary>
    /// The runtime sends the protocol PING every heartbeat interval. Its own PONG timeout is only
    /// a backstop: the ConnectionActor ends silent connections first and logs why.
    /// </summary>
    public static (TimeSpan Interval, TimeSpan Timeout) KeepAlive(ServiceOptions options) =>
        (options.Connection.HeartbeatInterval, options.Connection.HeartbeatTimeout + options.Connection.HeartbeatInterval);

    /// <summary>Hands the socket to a new connection actor and returns once the socket is finished with.</summary>
    /// <param name="remoteAddress">Where the client connects from, for the logs.</param>
    public static async Task ServeAsync(WebSocket webSocket, SocketStream? stream, TopicSet topics,
        ServiceOptions options, IActorRef hub, CancellationToken connectionAborted, string? remoteAddress = null)
    {
        var socket = new WebSocketClientSocket(webSocket, stream, options.OutboundQueueLimit, options.MaxClientMessageBytes,
            options.OutboundQueueBytes, remoteAddress ?? "unknown", connectionAborted);
        using (connectionAborted.Register(socket.AbandonIfNotStarted))
        {
            hub.Tell(new ConnectionHubActor.Accept(socket, topics));
            await socket.Completion.ConfigureAwait(false);
        }
    }

    public static string UnknownTopicDetail(string? unknown) =>
        $"?topics names \"{unknown}\"; expected a comma-separated list of {string.Join(", ", TopicSet.All.WireNames())} or all.";
}
