using System.IO.Pipelines;
using System.Net;
using System.Net.WebSockets;
using Akka.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Traffic.Actors.Connections;
using Traffic.Actors.Protocol;
using Traffic.Host.Admission;
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
    private WebSocketAdmission? _admission;
    private HeadLimits? _limits;
    private ILogger? _log;

    /// <summary>
    /// How long a new connection may take to send its first request head. This runs before
    /// Kestrel's HTTP layer, whose header timeout does not apply yet; 30 s is that timeout's default.
    /// </summary>
    public static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(30);

    /// <summary>After a refusal, how long (and how much) the client's unread bytes are read and dropped, so that closing does not reset the connection before it has read the answer.</summary>
    private static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(2);
    private const long LingerBytes = 4 * 1024 * 1024;

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        // Kestrel's own limits on a request head, applied here since this runs before Kestrel reads it.
        _limits ??= HeadLimits.From(services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits);
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
            var state = RequestHead.Scan(buffer, _limits, out var end, out var fault);
            if (state == RequestHead.ScanState.Complete)
            {
                var head = RequestHead.Parse(buffer.Slice(0, end), _limits, out fault);
                if (head is not null && WebSocketHandshake.From(head) is { } handshake && IsServedPath(handshake.Path))
                {
                    input.AdvanceTo(end);
                    await AcceptAsync(connection, handshake);
                    return;
                }
                if (head is not null) break;
            }
            if (fault is not null)
            {
                // Not HTTP, over the limits, or malformed: Kestrel would refuse it too; answer now, not after a timeout.
                input.AdvanceTo(buffer.End);
                await RefuseAsync(connection, fault.Status, fault.Title, fault.Detail);
                return;
            }
            if (read.IsCompleted || read.IsCanceled) break;
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
        _admission ??= services.GetRequiredService<WebSocketAdmission>();
        var output = connection.Transport.Output;

        if (handshake.Fault is { } fault)
        {
            await RefuseAsync(connection, fault.Status, fault.Title, fault.Detail, fault.Status == 426 ? "Sec-WebSocket-Version: 13" : null);
            return;
        }
        if (!TrafficSubProtocol.TryChoose(handshake.SubProtocols, out var subProtocol, out var protocolProblem))
        {
            await RefuseAsync(connection, 400, "Unsupported subprotocol", protocolProblem!);
            return;
        }
        var query = QueryHelpers.ParseQuery(handshake.Query);
        if (!ClientMessageParser.TryParseTopicList(query.TryGetValue("topics", out var requested) ? requested.ToString() : null,
                out var topics, out var unknown))
        {
            await RefuseAsync(connection, 400, "Unknown topic", WebSocketSession.UnknownTopicDetail(unknown));
            return;
        }
        var decision = _admission.Admit((connection.RemoteEndPoint as IPEndPoint)?.Address, handshake.ForwardedFor, handshake.Origin, handshake.Host);
        if (decision.Refusal is { } refusal)
        {
            await RefuseAsync(connection, refusal.Status, refusal.Title, refusal.Detail, refusal.RetryAfterHeader, logged: true);
            return;
        }

        using var lease = decision.Lease; // counted until the socket is finished with
        await output.WriteAsync(handshake.SwitchingProtocolsResponse(subProtocol));
        var stream = new DuplexPipeStream(connection.Transport);
        var (interval, timeout) = WebSocketSession.KeepAlive(_options);
        var webSocket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = subProtocol,
            KeepAliveInterval = interval,
            KeepAliveTimeout = timeout,
        });
        await WebSocketSession.ServeAsync(webSocket, stream, topics, _options, _hub.ActorRef, connection.ConnectionClosed);
    }

    /// <summary>
    /// Answers with a problem and closes: the answer is sent, the sending side shut, and what the
    /// client still sends is read and dropped for a moment, so that it gets to read the answer.
    /// </summary>
    private async Task RefuseAsync(ConnectionContext connection, int status, string title, string detail, string? extraHeader = null, bool logged = false)
    {
        _log ??= services.GetRequiredService<ILoggerFactory>().CreateLogger<DirectWebSocketMiddleware>();
        if (!logged)
            _log.LogInformation("Refused a request from {Remote}: {Status} {Title}: {Detail}", connection.RemoteEndPoint, status, title, detail);
        var output = connection.Transport.Output;
        try
        {
            await output.WriteAsync(WebSocketHandshake.ProblemResponse(status, title, detail, extraHeader));
            await output.CompleteAsync();
        }
        catch (Exception e) when (e is ConnectionResetException or IOException or InvalidOperationException) { return; }

        var input = connection.Transport.Input;
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
        linger.CancelAfter(LingerTime);
        long dropped = 0;
        try
        {
            while (dropped < LingerBytes)
            {
                var read = await input.ReadAsync(linger.Token);
                dropped += read.Buffer.Length;
                input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled) return;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ConnectionResetException or IOException) { }
    }
}
