using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Http;
using Traffic.Actors.Connections;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Host.Configuration;

namespace Traffic.Host.WebSockets;

/// <summary>
/// The standard ASP.NET Core way of accepting a WebSocket at `/` and `/ws`. Most connections never
/// reach it (<see cref="DirectWebSocketMiddleware"/> accepts them first); it serves an upgrade that
/// arrives as a later request on a reused HTTP connection, and answers plain HTTP requests with 426.
/// </summary>
public static class WebSocketEndpoint
{
    public static void MapTrafficWebSockets(this IEndpointRouteBuilder app)
    {
        app.Map("/", Accept);
        app.Map("/ws", Accept);
    }

    private static async Task<IResult> Accept(HttpContext context, ServiceOptions options, IRequiredActor<ConnectionHubActor> hub, TrafficMetrics metrics)
    {
        if (!context.WebSockets.IsWebSocketRequest)
            return Results.Problem(statusCode: StatusCodes.Status426UpgradeRequired, title: "WebSocket upgrade required",
                detail: "Connect with a WebSocket client to ws://HOST:PORT/ws (or /); see docs/protocol.md.");

        if (!ClientMessageParser.TryParseTopicList(context.Request.Query["topics"], out var topics, out var unknown))
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Unknown topic",
                detail: WebSocketSession.UnknownTopicDetail(unknown));

        var (interval, timeout) = WebSocketSession.KeepAlive(options);
        var webSocket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = interval,
            KeepAliveTimeout = timeout,
        });
        await WebSocketSession.ServeAsync(webSocket, context.Features.Get<ActivityTrackingStream>(), topics, options, hub.ActorRef,
            context.RequestAborted, $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}", metrics);
        return Results.Empty;
    }
}
