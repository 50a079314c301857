using System.Globalization;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Http;
using Traffic.Actors.Connections;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Host.Admission;
using Traffic.Host.Configuration;

namespace Traffic.Host.WebSockets;

/// <summary>
/// The standard ASP.NET Core way of accepting a WebSocket at `/` and `/ws`. Most connections never
/// reach it (<see cref="DirectWebSocketMiddleware"/> accepts them first); it serves an upgrade that
/// arrives as a later request on a reused HTTP connection, and answers plain HTTP requests to `/ws` with 426 (a plain GET of `/` is the dashboard, served as a static file before routing).
/// </summary>
public static class WebSocketEndpoint
{
    public static void MapTrafficWebSockets(this IEndpointRouteBuilder app)
    {
        app.Map("/", Accept);
        app.Map("/ws", Accept);
    }

    private static async Task<IResult> Accept(HttpContext context, ServiceOptions options, IRequiredActor<ConnectionHubActor> hub,
        WebSocketAdmission admission, ILogger<WebSocketAdmission> log, TrafficMetrics metrics)
    {
        // The same validator as the direct path (DirectWebSocketMiddleware), so the same answers for the same faults.
        if (WebSocketHandshake.From(context.Request) is not { } handshake)
            return Results.Problem(statusCode: StatusCodes.Status426UpgradeRequired, title: "WebSocket upgrade required",
                detail: "Connect with a WebSocket client to ws://HOST:PORT/ws (or /); see docs/protocol.md.");
        // UseForwardedHeaders has already put the client's address (from a trusted proxy's X-Forwarded-For) in RemoteIpAddress.
        var outcome = WebSocketAcceptance.Check(handshake, admission, context.Connection.RemoteIpAddress, forwardedResolved: true, offerCompression: false);
        if (outcome is WebSocketAcceptance.Refused refused)
        {
            if (!refused.Logged)
                log.LogInformation("Refused a WebSocket handshake: {Status} {Title}: {Detail}", refused.Status, refused.Title, ClientText.Safe(refused.Detail, 300));
            if (refused.ExtraHeader?.Split(": ", 2) is [var name, var value]) context.Response.Headers[name] = value;
            return Results.Problem(statusCode: refused.Status, title: refused.Title, detail: refused.Detail);
        }
        var (subProtocol, connect, lease, _) = (WebSocketAcceptance.Accepted)outcome;
        using (lease) // counted until the socket is finished with
        {
            var (interval, timeout) = WebSocketSession.KeepAlive(options);
            var webSocket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                SubProtocol = subProtocol,
                KeepAliveInterval = interval,
                KeepAliveTimeout = timeout,
            });
            await WebSocketSession.ServeAsync(webSocket, context.Features.Get<ActivityTrackingStream>(), connect, options, hub.ActorRef,
                context.RequestAborted, $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}", metrics);
        }
        return Results.Empty;
    }
}
