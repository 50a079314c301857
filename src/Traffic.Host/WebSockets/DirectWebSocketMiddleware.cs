using System.IO.Pipelines;
using System.Net.WebSockets;
using Akka.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.WebUtilities;
using Traffic.Actors.Connections;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Host.Configuration;

namespace Traffic.Host.WebSockets;

/// <summary>
/// Kestrel connection middleware: when a new connection's first request is a WebSocket upgrade to
/// `/` or `/ws`, it completes the handshake itself and builds the WebSocket straight on the
/// transport's pipes. The connection then carries none of the HTTP/1.1 machinery (request and
/// response objects, headers, body streams, output producer) for its whole life: measured, that
/// is most of the memory an idle connection costs, and a layer less on every frame sent.
/// Any other first request is handed, untouched, to the ordinary HTTP pipeline (which still
/// accepts WebSockets the standard way, e.g. an upgrade on a reused keep-alive connection).
/// </summary>
public sealed class DirectWebSocketMiddleware(ConnectionDelegate next, IServiceProvider services)
{
    private ServiceOptions? _options;
    private IRequiredActor<ConnectionHubActor>? _hub;
    private TrafficMetrics? _metrics;
    private ILogger? _log;

    /// <summary>
    /// How long a new connection may take to send its first request head. This runs before
    /// Kestrel's HTTP layer, whose header timeout does not apply yet; 30 s is that timeout's default.
    /// </summary>
    public static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(30);

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        ReadResult read;
        // Give up on a connection that never sends a whole head, or that the server asks to close.
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed,
            connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? default);
        waiting.CancelAfter(HeadTimeout);
        while (true)
        {
            try { read = await input.ReadAsync(waiting.Token); }
            catch (Exception e) when (e is OperationCanceledException or ConnectionResetException or IOException) { return; }

            var buffer = read.Buffer;
            if (WebSocketHandshake.TryFindHeadEnd(buffer, out var end))
            {
                if (WebSocketHandshake.TryParse(buffer.Slice(0, end)) is { } handshake && IsServedPath(handshake.Path))
                {
                    input.AdvanceTo(end);
                    await AcceptAsync(connection, handshake);
                    return;
                }
                break;
            }
            if (read.IsCompleted || read.IsCanceled || buffer.Length > WebSocketHandshake.MaxHeadBytes) break;
            input.AdvanceTo(buffer.Start, buffer.End); // wait for the rest of the head
        }

        input.AdvanceTo(read.Buffer.Start); // nothing consumed: the HTTP pipeline reads the same bytes
        await next(connection);
    }

    private static bool IsServedPath(string path) =>
        path is "/" || path.Equals("/ws", StringComparison.OrdinalIgnoreCase);

    private async Task AcceptAsync(ConnectionContext connection, WebSocketHandshake handshake)
    {
        _options ??= services.GetRequiredService<ServiceOptions>();
        _hub ??= services.GetRequiredService<IRequiredActor<ConnectionHubActor>>();
        _metrics ??= services.GetRequiredService<TrafficMetrics>();
        var output = connection.Transport.Output;

        if (handshake.Problem is { } problem)
        {
            await RefuseAsync(connection, handshake.Version != "13" ? 426 : 400, "Bad WebSocket handshake", problem);
            return;
        }
        var query = QueryHelpers.ParseQuery(handshake.Query);
        if (!ClientMessageParser.TryParseTopicList(query.TryGetValue("topics", out var requested) ? requested.ToString() : null,
                out var topics, out var unknown))
        {
            await RefuseAsync(connection, 400, "Unknown topic", WebSocketSession.UnknownTopicDetail(unknown));
            return;
        }

        await output.WriteAsync(handshake.SwitchingProtocolsResponse());
        var stream = new DuplexPipeStream(connection.Transport);
        var (interval, timeout) = WebSocketSession.KeepAlive(_options);
        var webSocket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            KeepAliveInterval = interval,
            KeepAliveTimeout = timeout,
        });
        await WebSocketSession.ServeAsync(webSocket, stream, topics, _options, _hub.ActorRef, connection.ConnectionClosed,
            connection.RemoteEndPoint?.ToString(), _metrics);
    }

    /// <summary>400, or 426 with the version this server speaks (RFC 6455 section 4.4).</summary>
    private async Task RefuseAsync(ConnectionContext connection, int status, string title, string detail)
    {
        _log ??= services.GetRequiredService<ILoggerFactory>().CreateLogger<DirectWebSocketMiddleware>();
        _log.LogInformation("Refused a WebSocket handshake from {Remote}: {Title}: {Detail}", connection.RemoteEndPoint, title, detail);
        await connection.Transport.Output.WriteAsync(status == 426
            ? WebSocketHandshake.ProblemResponse(426, "Upgrade Required", title, detail, "Sec-WebSocket-Version: 13")
            : WebSocketHandshake.ProblemResponse(400, "Bad Request", title, detail));
    }
}
