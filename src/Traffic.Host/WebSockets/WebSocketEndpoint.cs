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
        // The same answers as the direct path (DirectWebSocketMiddleware) for the same faults.
        var request = context.Request;
        if (!HttpProtocol.IsHttp11(request.Protocol) && request.Headers.Upgrade.ToString().Contains("websocket", StringComparison.OrdinalIgnoreCase))
            return Refuse(log, StatusCodes.Status400BadRequest, "Bad WebSocket handshake",
                $"A WebSocket upgrade needs HTTP/1.1, not {request.Protocol} (RFC 6455 section 4.1)");
        if (!context.WebSockets.IsWebSocketRequest)
            return Results.Problem(statusCode: StatusCodes.Status426UpgradeRequired, title: "WebSocket upgrade required",
                detail: "Connect with a WebSocket client to ws://HOST:PORT/ws (or /); see docs/protocol.md.");
        if (request.Headers.SecWebSocketKey.Count > 1)
            return Refuse(log, StatusCodes.Status400BadRequest, "Bad WebSocket handshake", "Sec-WebSocket-Key appears more than once (RFC 6455 section 11.3.1)");
        if (!TrafficSubProtocol.TryChoose(context.WebSockets.WebSocketRequestedProtocols, out var subProtocol, out var protocolProblem))
            return Refuse(log, StatusCodes.Status400BadRequest, "Unsupported subprotocol", protocolProblem!);
        if (!ConnectRequest.TryParse(name => request.Query.TryGetValue(name, out var value) ? value.ToString() : null, out var connect, out var problem))
            return Refuse(log, StatusCodes.Status400BadRequest, problem.Title, problem.Detail);

        // UseForwardedHeaders has already put the client's address (from a trusted proxy's X-Forwarded-For) here.
        var decision = admission.Admit(context.Connection.RemoteIpAddress, null,
            request.Headers.Origin.Count > 0 ? request.Headers.Origin.ToString() : null, request.Host.Value, alreadyResolved: true);
        if (decision.Refusal is { } refusal)
        {
            if (refusal.RetryAfterSeconds is { } seconds) context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return Results.Problem(statusCode: refusal.Status, title: refusal.Title, detail: refusal.Detail);
        }

        using var lease = decision.Lease; // counted until the socket is finished with
        var (interval, timeout) = WebSocketSession.KeepAlive(options);
        var webSocket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            SubProtocol = subProtocol,
            KeepAliveInterval = interval,
            KeepAliveTimeout = timeout,
        });
        await WebSocketSession.ServeAsync(webSocket, context.Features.Get<ActivityTrackingStream>(), connect, options, hub.ActorRef,
            context.RequestAborted, $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}", metrics);
        return Results.Empty;
    }

    private static IResult Refuse(ILogger log, int status, string title, string detail)
    {
        log.LogInformation("Refused a WebSocket handshake: {Status} {Title}: {Detail}", status, title, detail);
        return Results.Problem(statusCode: status, title: title, detail: detail);
    }
}
