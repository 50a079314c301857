using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Traffic.Actors.Routing;
using Traffic.Host;
using Traffic.Tests.Support;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// A server certificate made in the spec (<see cref="CertificateRequest"/>, self-signed, for 127.0.0.1 and
/// localhost), written as an operator would get it: a PEM certificate and a PEM key (PKCS#8) in files.
/// Clients trust exactly this certificate (<see cref="Trusts"/>), nothing else.
/// </summary>
public sealed class TlsTestCertificate
{
    public TlsTestCertificate(string directory)
    {
        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=traffic-spec", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false)); // serverAuth
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(2));
        Certificate = X509CertificateLoader.LoadCertificate(certificate.RawData);
        CertPath = Path.Combine(directory, "server.crt.pem");
        KeyPath = Path.Combine(directory, "server.key.pem");
        File.WriteAllText(CertPath, certificate.ExportCertificatePem());
        File.WriteAllText(KeyPath, key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>The certificate (public part), as a client pins it.</summary>
    public X509Certificate2 Certificate { get; }

    public string CertPath { get; }
    public string KeyPath { get; }

    /// <summary>A client's check: the server presented this very certificate (whatever the machine's trust store says).</summary>
    public bool Trusts(X509Certificate? presented) =>
        presented is not null && presented.GetRawCertData().AsSpan().SequenceEqual(Certificate.RawData);

    public RemoteCertificateValidationCallback Validation => (_, presented, _, _) => Trusts(presented);

    /// <summary>The TLS settings of the service with this certificate (both ports picked by the OS).</summary>
    public Dictionary<string, string?> Settings() => new()
    {
        ["TLS_CERT_PATH"] = CertPath,
        ["TLS_KEY_PATH"] = KeyPath,
        ["HTTPS_PORT"] = "0",
    };
}

/// <summary>The real host on 127.0.0.1 with its listeners as configured: plain HTTP and/or TLS, each on a port the OS picks.</summary>
public sealed class TlsService : IAsyncDisposable
{
    public const string ApiKey = "test-publish-key";

    private readonly WebApplication _app;

    private TlsService(WebApplication app, TlsTestCertificate? trusted)
    {
        _app = app;
        var urls = app.Urls.Select(u => new Uri(u)).ToList();
        Https = urls.SingleOrDefault(u => u.Scheme == "https");
        Http = urls.SingleOrDefault(u => u.Scheme == "http");
        Client = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = trusted?.Validation },
        })
        { Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The TLS listener's base address (https://127.0.0.1:port), or null when there is none.</summary>
    public Uri? Https { get; }

    /// <summary>The plain listener's base address, or null when HTTP_ENABLED=false.</summary>
    public Uri? Http { get; }

    /// <summary>An HTTP client that trusts the spec's certificate.</summary>
    public HttpClient Client { get; }

    public static async Task<TlsService> StartAsync(TlsTestCertificate? certificate, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["WS_HOST"] = "127.0.0.1",
            ["WS_PORT"] = "0",
            ["PUBLISH_API_KEY"] = ApiKey,
            ["SIMULATOR_SEED"] = "7",
            ["PERSISTENCE"] = "none",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in certificate?.Settings() ?? []) all[key] = value;
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;

        var app = TrafficApp.Create([], all);
        await app.StartAsync();
        var registry = app.Services.GetRequiredService<ActorRegistry>();
        if (registry.TryGet<TopicSequencerActor>(out var sequencer)) // positions from the first client on (what readiness waits for)
            await Poll.UntilAsync(async () =>
                (await sequencer.Ask<SequencerCommands.Status>(SequencerCommands.GetStatus.Instance, TimeSpan.FromSeconds(10))).Numbering,
                "the sequencer numbering", TimeSpan.FromSeconds(60));
        return new TlsService(app, certificate);
    }

    public Uri Wss(string pathAndQuery = "/ws") => new($"wss://{Https!.Authority}{pathAndQuery}");

    /// <summary>POST /api/publish over https, with the key.</summary>
    public async Task<HttpStatusCode> PublishAlertAsync(string marker)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Https!, "/api/publish"))
        {
            Content = JsonContent.Create(new { type = "ALERT", topic = "accidents", data = new { id = "urn:ngsi-ld:RoadAccident:" + marker, severity = "high", marker } }),
        };
        request.Headers.Add("X-Api-Key", ApiKey);
        using var response = await Client.SendAsync(request);
        return response.StatusCode;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// A WebSocket client over any stream (a ClientWebSocket, or one built on a TLS stream the spec opened itself):
/// one long-lived receive loop, every message kept in order, waits bounded by time.
/// </summary>
public sealed class WssClient : IAsyncDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly Channel<JsonElement> _inbox = Channel.CreateUnbounded<JsonElement>();
    private readonly IDisposable? _owner;

    public WssClient(WebSocket socket, IDisposable? owner = null)
    {
        Socket = socket;
        _owner = owner;
        _ = ReceiveLoopAsync();
    }

    public WebSocket Socket { get; }

    /// <summary>The response headers of the handshake, when the client collected them.</summary>
    public IReadOnlyDictionary<string, IEnumerable<string>>? HandshakeHeaders { get; init; }

    /// <summary>ClientWebSocket to a wss:// URI, trusting <paramref name="certificate"/> only; with or without permessage-deflate.</summary>
    public static async Task<WssClient> ConnectAsync(Uri uri, TlsTestCertificate certificate, bool deflate)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        socket.Options.RemoteCertificateValidationCallback = certificate.Validation;
        socket.Options.CollectHttpResponseDetails = true;
        if (deflate) socket.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
        using var timeout = new CancellationTokenSource(Wait);
        await socket.ConnectAsync(uri, timeout.Token);
        return new WssClient(socket) { HandshakeHeaders = socket.HttpResponseHeaders };
    }

    public async Task<JsonElement> NextAsync(Func<JsonElement, bool>? match = null)
    {
        using var timeout = new CancellationTokenSource(Wait);
        var seen = new List<string>();
        try
        {
            while (true)
            {
                var message = await _inbox.Reader.ReadAsync(timeout.Token);
                if (match is null || match(message)) return message;
                seen.Add(message.Type());
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            throw new Xunit.Sdk.XunitException($"no matching message within {Wait.TotalSeconds} s (socket {Socket.State}, {Socket.CloseStatus}); skipped: {string.Join(", ", seen)}");
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await Socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage) continue;
                using (var document = JsonDocument.Parse(message.ToArray()))
                    _inbox.Writer.TryWrite(document.RootElement.Clone());
                message.SetLength(0);
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or IOException) { }
        finally { _inbox.Writer.TryComplete(); }
    }

    public ValueTask DisposeAsync()
    {
        Socket.Abort();
        Socket.Dispose();
        _owner?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Raw HTTP/1.1 on a TLS stream the spec opens itself: several requests on one connection, then a WebSocket on it.</summary>
public sealed class TlsConnection : IDisposable
{
    private readonly System.Net.Sockets.TcpClient _tcp;

    private TlsConnection(System.Net.Sockets.TcpClient tcp, SslStream stream) => (_tcp, Stream) = (tcp, stream);

    public SslStream Stream { get; }

    public static async Task<TlsConnection> OpenAsync(Uri https, TlsTestCertificate certificate)
    {
        var tcp = new System.Net.Sockets.TcpClient { NoDelay = true };
        await tcp.ConnectAsync(https.Host, https.Port);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, certificate.Validation);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = https.Host,
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        }, timeout.Token);
        return new TlsConnection(tcp, ssl);
    }

    public Task SendAsync(string text) => Stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();

    /// <summary>One response's head, and its body when it has a Content-Length.</summary>
    public async Task<(string Head, string Body)> ReadResponseAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await Stream.ReadAsync(one, timeout.Token) == 0) throw new IOException("the connection closed; read so far: " + head);
            head.Append((char)one[0]);
        }
        if (head.ToString().Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            var chunked = new StringBuilder(); // small bodies only: kept whole, chunk sizes and all
            while (!chunked.ToString().EndsWith("0\r\n\r\n", StringComparison.Ordinal))
            {
                if (await Stream.ReadAsync(one, timeout.Token) == 0) throw new IOException("the connection closed in a chunked body");
                chunked.Append((char)one[0]);
            }
            return (head.ToString(), chunked.ToString());
        }
        var length = head.ToString().Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        var body = new byte[length is null ? 0 : int.Parse(length.Split(':')[1].Trim())];
        await Stream.ReadExactlyAsync(body, timeout.Token);
        return (head.ToString(), Encoding.UTF8.GetString(body));
    }

    public void Dispose()
    {
        Stream.Dispose();
        _tcp.Dispose();
    }
}
