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
using Traffic.Actors.Metrics;
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
    private TrafficMetrics? _metrics;
    private FrameCompressor? _compressor;
    private object? _compressorLock;
    private ILogger? _log;
    private HandshakeLimiter? _handshakes;

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
        FirstRequest first;
        _handshakes ??= services.GetRequiredService<HandshakeLimiter>();
        var peer = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        using (var slot = _handshakes.TryEnter(peer))
        {
            if (slot is null)
            {
                await RefuseHandshakeAsync(connection, peer);
                return;
            }
            first = await ReadFirstHeadAsync(connection); // counted as in progress only while its head is read
        }
        switch (first)
        {
            case FirstRequest.Upgrade upgrade:
                if (await AdmitAsync(connection, upgrade.Handshake) is { } admitted) await ServeAsync(connection, admitted);
                return;
            case FirstRequest.Refused refused:
                // Not HTTP, over the limits, or malformed: Kestrel would refuse it too; answer now, not after a timeout.
                await RefuseAsync(connection, refused.Fault.Status, refused.Fault.Title, refused.Fault.Detail);
                return;
            case FirstRequest.PassOn:
                await next(connection);
                return;
        }
    }

    /// <summary>What the first request head turned out to be.</summary>
    private abstract record FirstRequest
    {
        /// <summary>The connection closed, or sent no whole head in time: nothing to answer.</summary>
        public sealed record Gone : FirstRequest;
        /// <summary>A WebSocket upgrade to a served path; its head has been consumed.</summary>
        public sealed record Upgrade(WebSocketHandshake Handshake) : FirstRequest;
        /// <summary>Anything else HTTP: nothing consumed, the HTTP pipeline reads the same bytes.</summary>
        public sealed record PassOn : FirstRequest;
        /// <summary>Bytes that are not an acceptable HTTP request head; consumed.</summary>
        public sealed record Refused(HeadFault Fault) : FirstRequest;
    }

    /// <summary>Reads until the first request head is whole, refused or gone (its timer lives only this long, not for the connection's life).</summary>
    private async Task<FirstRequest> ReadFirstHeadAsync(ConnectionContext connection)
    {
        // Kestrel's own limits on a request head, applied here since this runs before Kestrel reads it.
        _limits ??= HeadLimits.From(services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits);
        var input = connection.Transport.Input;
        // Give up on a connection that never sends a whole head, or that the server asks to close.
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed,
            connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? default);
        waiting.CancelAfter(HeadTimeout);
        var progress = new RequestHead.ScanProgress();
        while (true)
        {
            ReadResult read;
            try { read = await input.ReadAsync(waiting.Token); }
            catch (Exception e) when (e is OperationCanceledException or ConnectionResetException or IOException) { return new FirstRequest.Gone(); }

            var buffer = read.Buffer;
            var state = RequestHead.Scan(buffer, _limits, ref progress, out var end, out var fault);
            if (state == RequestHead.ScanState.Complete)
            {
                var head = RequestHead.Parse(buffer.Slice(0, end), _limits, out fault);
                if (head is not null)
                {
                    if (WebSocketHandshake.From(head) is { } handshake && IsServedPath(handshake.Path))
                    {
                        input.AdvanceTo(end);
                        return new FirstRequest.Upgrade(handshake);
                    }
                    input.AdvanceTo(buffer.Start);
                    return new FirstRequest.PassOn();
                }
            }
            if (fault is not null)
            {
                input.AdvanceTo(buffer.End);
                return new FirstRequest.Refused(fault);
            }
            if (read.IsCompleted || read.IsCanceled)
            {
                input.AdvanceTo(buffer.Start);
                return new FirstRequest.PassOn();
            }
            input.AdvanceTo(buffer.Start, buffer.End); // wait for the rest of the head
        }
    }

    private static bool IsServedPath(string path) =>
        path is "/" || path.Equals("/ws", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Checks the handshake and admits it, or answers the refusal. Returns what serving needs, so
    /// that nothing of the request (its head, the handshake, the query) is held for the socket's life.
    /// </summary>
    private async Task<Admitted?> AdmitAsync(ConnectionContext connection, WebSocketHandshake handshake)
    {
        _options ??= services.GetRequiredService<ServiceOptions>();
        _hub ??= services.GetRequiredService<IRequiredActor<ConnectionHubActor>>();
        _admission ??= services.GetRequiredService<WebSocketAdmission>();
        _metrics ??= services.GetRequiredService<TrafficMetrics>();

        switch (WebSocketAcceptance.Check(handshake, _admission, (connection.RemoteEndPoint as IPEndPoint)?.Address, forwardedResolved: false,
                    offerCompression: _options.Compression.Enabled))
        {
            case WebSocketAcceptance.Refused refused:
                await RefuseAsync(connection, refused.Status, refused.Title, refused.Detail, refused.ExtraHeader, refused.Logged);
                return null;
            case WebSocketAcceptance.Accepted accepted:
                var deflate = accepted.Deflate;
                return new Admitted(handshake.SwitchingProtocolsResponse(accepted.SubProtocol, deflate?.ResponseHeaderValue), accepted.SubProtocol,
                    accepted.Request, accepted.Lease, deflate?.Options);
            default:
                throw new InvalidOperationException("a handshake is accepted or refused");
        }
    }

    private sealed record Admitted(byte[] Response, string? SubProtocol, ConnectRequest Request, ConnectionLimiter.Lease Lease,
        WebSocketDeflateOptions? Deflate);

    /// <summary>The one compressor of the service (its counter is registered once).</summary>
    private FrameCompressor Compressor() =>
        LazyInitializer.EnsureInitialized(ref _compressor, ref _compressorLock,
            () => new FrameCompressor(_options!.Compression.MinBytes, _metrics));

    private async Task ServeAsync(ConnectionContext connection, Admitted admitted)
    {
        using var lease = admitted.Lease; // counted until the socket is finished with
        await connection.Transport.Output.WriteAsync(admitted.Response);
        var stream = new DuplexPipeStream(connection.Transport);
        var webSocket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = admitted.SubProtocol,
            // No keep-alive timer per socket: the connection actor's heartbeat asks the drain for the PINGs
            // (OutboundWriter.Ping). The runtime's timer ticked every quarter interval on every socket.
            KeepAliveInterval = TimeSpan.Zero,
            // Lets the runtime inflate what the client compresses; the server's own frames are compressed once per frame by FrameCompressor.
            DangerousDeflateOptions = admitted.Deflate,
        });
        var request = admitted.Request;
        var compression = admitted.Deflate is null ? null : Compressor();
        admitted = null!; // hold only what the socket needs from here on
        await WebSocketSession.ServeAsync(webSocket, stream, request, _options!, _hub!.ActorRef, connection.ConnectionClosed,
            connection.RemoteEndPoint?.ToString(), _metrics, compression);
    }

    /// <summary>
    /// Over MAX_HANDSHAKES_PER_ADDRESS: 429 and closed at once, before anything is read (no linger: holding
    /// the connection open longer is what the cap prevents); counted, and logged once a second per address at most.
    /// </summary>
    private async Task RefuseHandshakeAsync(ConnectionContext connection, IPAddress? peer)
    {
        _metrics ??= services.GetRequiredService<TrafficMetrics>();
        _metrics.CountHandshakeRefused();
        _options ??= services.GetRequiredService<ServiceOptions>();
        var limit = _options.Admission.MaxHandshakesPerAddress;
        if (_handshakes!.LogGate.ShouldLog(peer))
        {
            _log ??= services.GetRequiredService<ILoggerFactory>().CreateLogger<DirectWebSocketMiddleware>();
            _log.LogWarning("Refused connections from {Client}: {Limit} connections from this address are still sending their request head (MAX_HANDSHAKES_PER_ADDRESS)",
                peer, limit);
        }
        try
        {
            await connection.Transport.Output.WriteAsync(WebSocketHandshake.ProblemResponse(StatusCodes.Status429TooManyRequests,
                "Too many handshakes in progress",
                $"Your address already has {limit} connections that have not finished sending their request head (MAX_HANDSHAKES_PER_ADDRESS); finish or close those first.",
                $"Retry-After: {WebSocketAdmission.RetryAfterSeconds}"));
            await connection.Transport.Output.CompleteAsync();
        }
        catch (Exception e) when (e is ConnectionResetException or IOException or InvalidOperationException) { }
    }

    /// <summary>
    /// Answers with a problem and closes: the answer is sent, the sending side shut, and what the
    /// client still sends is read and dropped for a moment, so that it gets to read the answer.
    /// </summary>
    private async Task RefuseAsync(ConnectionContext connection, int status, string title, string detail, string? extraHeader = null, bool logged = false)
    {
        _log ??= services.GetRequiredService<ILoggerFactory>().CreateLogger<DirectWebSocketMiddleware>();
        if (!logged)
            _log.LogInformation("Refused a request from {Remote}: {Status} {Title}: {Detail}", connection.RemoteEndPoint, status, title, ClientText.Safe(detail, 300));
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
