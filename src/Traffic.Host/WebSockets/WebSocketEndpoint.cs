using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Http;
using Traffic.Actors.Connections;
using Traffic.Actors.Protocol;
using Traffic.Host.Configuration;

namespace Traffic.Host.WebSockets;

/// <summary>
/// Accepts a WebSocket at `/` and `/ws`, hands it to the connection hub, and holds the request
/// open for as long as the socket lives.
/// </summary>
public static class WebSocketEndpoint
{
    public static void MapTrafficWebSockets(this IEndpointRouteBuilder app)
    {
        app.Map("/", Accept);
        app.Map("/ws", Accept);
    }

    private static async Task<IResult> Accept(HttpContext context, ServiceOptions options, IRequiredActor<ConnectionHubActor> hub)
    {
        if (!context.WebSockets.IsWebSocketRequest)
            return Results.Problem(statusCode: StatusCodes.Status426UpgradeRequired, title: "WebSocket upgrade required",
                detail: "Connect with a WebSocket client to ws://HOST:PORT/ws (or /); see docs/protocol.md.");

        if (!ClientMessageParser.TryParseTopicList(context.Request.Query["topics"], out var topics, out var unknown))
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Unknown topic",
                detail: $"?topics names \"{unknown}\"; expected a comma-separated list of {string.Join(", ", TopicSet.All.WireNames())} or all.");

        var webSocket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            // The runtime sends the protocol PING every interval. Its own PONG timeout is only a
            // backstop: the ConnectionActor ends silent connections first and logs why.
            KeepAliveInterval = options.Connection.HeartbeatInterval,
            KeepAliveTimeout = options.Connection.HeartbeatTimeout + options.Connection.HeartbeatInterval,
        });
        var socket = new WebSocketClientSocket(webSocket, context.Features.Get<ActivityTrackingStream>(),
            options.OutboundQueueLimit, options.MaxClientMessageBytes);
        using (context.RequestAborted.Register(socket.AbandonIfNotStarted))
        {
            hub.ActorRef.Tell(new ConnectionHubActor.Accept(socket, topics));
            await socket.Completion;
        }
        return Results.Empty;
    }
}
