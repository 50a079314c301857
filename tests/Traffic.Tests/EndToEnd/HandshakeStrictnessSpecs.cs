using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// Hostile and malformed first requests on a plain connection: each gets a clear status with a
/// problem body at once (never a 101, never a 30 s wait), and a client already connected to the
/// same server goes on receiving every message.
/// </summary>
public sealed class HandshakeStrictnessSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    /// <summary>Shorter than the 30 s the server waits for a head: an answer within it was not a timeout.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(15);

    public static TheoryData<string, string, int, string> Faults => new()
    {
        { "HTTP/1.0", RawHttp.Upgrade(version: "HTTP/1.0"), 400, "needs HTTP/1.1" },
        { "no colon", RawHttp.Upgrade(extraHeaders: "this line has no colon\r\n"), 400, "no colon" },
        { "no Host", RawHttp.Upgrade(host: ""), 400, "Host header is missing" },
        { "two Hosts", RawHttp.Upgrade(host: "Host: a\r\nHost: b\r\n"), 400, "Host header appears more than once" },
        { "two keys", RawHttp.Upgrade(extraHeaders: "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"), 400, "Sec-WebSocket-Key appears more than once" },
        { "space before colon", RawHttp.Upgrade(extraHeaders: "Origin : http://localhost\r\n"), 400, "between a header name and its colon" },
        { "Content-Length", RawHttp.Upgrade(extraHeaders: "Content-Length: 5\r\n") + "hello", 400, "without a body" },
        { "Transfer-Encoding", RawHttp.Upgrade(extraHeaders: "Transfer-Encoding: chunked\r\n") + "0\r\n\r\n", 400, "without a body" },
        { "64 KB header", RawHttp.Upgrade(extraHeaders: $"X-Pad: {new string('a', 64 * 1024)}\r\n"), 431, "within" },
        { "3000 headers", RawHttp.Upgrade(extraHeaders: string.Concat(Enumerable.Range(0, 3000).Select(i => $"X-H{i}: v\r\n"))), 431, "" },
        { "100 KB target", RawHttp.Upgrade(target: "/ws?pad=" + new string('a', 100 * 1024)), 414, "request line must end within" },
        { "101 headers", RawHttp.Upgrade(extraHeaders: string.Concat(Enumerable.Range(0, 101).Select(i => $"X-H{i}: v\r\n"))), 431, "at most 100 header lines" },
        { "TLS ClientHello", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400, "TLS handshake" },
        { "garbage, no blank line", "hello server, are you there?", 400, "cannot be an HTTP/1.1 request" },
        { "bare line feeds", "GET /ws HTTP/1.1\nHost: x\n\n", 400, "CRLF" },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task A_faulty_first_request_is_answered_at_once_with_a_problem_naming_the_fault(string name, string request, int status, string named)
    {
        await using var raw = await RawHttp.OpenAsync(_service);
        await raw.SendAsync(request);
        var response = await raw.ReadResponseAsync(Prompt);

        Assert.True(response.Status == status, $"{name}: expected {status}, got: {Shorten(response.Head)}");
        Assert.Contains("application/problem+json", response.Head);
        Assert.Equal(status, response.Problem.GetProperty("status").GetInt32());
        Assert.Contains(named, response.Problem.GetProperty("detail").GetString());
        Assert.Contains("Connection: close", response.Head);
    }

    [Fact]
    public async Task A_one_megabyte_head_gets_431_every_time()
    {
        var head = RawHttp.Upgrade(extraHeaders: $"X-Pad: {new string('a', 1024 * 1024)}\r\n");
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await using var raw = await RawHttp.OpenAsync(_service);
            var sending = raw.SendAsync(head); // the server answers after reading its limit, while this still sends
            var response = await raw.ReadResponseAsync(Prompt);
            Assert.True(response.Status == 431, $"attempt {attempt}: {Shorten(response.Head)}");
            try { await sending; } catch (IOException) { } // the server may close before taking it all
        }
    }

    [Fact]
    public async Task A_connected_client_receives_every_message_while_hostile_handshakes_come_and_go()
    {
        await using var bystander = await _service.ConnectAsync("/ws?topics=weather");
        await bystander.ExpectGreetingAsync();

        for (var i = 0; i < Faults.Count; i++)
        {
            var request = (string)((object[])Faults.ElementAt(i))[1];
            await using var raw = await RawHttp.OpenAsync(_service);
            await raw.SendAsync(request);
            Assert.NotEqual(101, (await raw.ReadResponseAsync(Prompt)).Status);
            Assert.Equal(HttpStatusCode.Accepted,
                (await _service.PublishAsync(new { type = "UPDATE", topic = "weather", data = new { marker = "between", seq = i } })).StatusCode);
        }

        for (var i = 0; i < Faults.Count; i++)
        {
            var update = await bystander.NextOfTypeAsync("UPDATE");
            Assert.Equal(i, update.GetProperty("data").GetProperty("seq").GetInt32());
        }
        Assert.False(bystander.Closed.IsCompleted);
    }

    [Fact]
    public async Task An_upgrade_sent_one_byte_per_write_is_accepted_and_garbage_sent_so_is_refused()
    {
        await using (var raw = await RawHttp.OpenAsync(_service))
        {
            foreach (var b in RawHttp.Upgrade("/ws?topics=weather")) await raw.SendAsync(b.ToString()); // each write its own segment (NoDelay)
            var response = await raw.ReadResponseAsync(Prompt);
            Assert.Equal(101, response.Status);
            Assert.Contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", response.Head);
        }
        await using (var raw = await RawHttp.OpenAsync(_service))
        {
            foreach (var b in "GET /ws") await raw.SendAsync(b.ToString());
            await raw.SendAsync("\u0001");
            var response = await raw.ReadResponseAsync(Prompt);
            Assert.Equal(400, response.Status);
            Assert.Contains("control character", response.Problem.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task A_client_that_offers_traffic_v1_gets_it_on_the_direct_path()
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("traffic.v1");
        await socket.ConnectAsync(_service.WebSocketUri(), CancellationToken.None);
        Assert.Equal("traffic.v1", socket.SubProtocol);
        Assert.Equal("connection", await FirstTypeAsync(socket));
    }

    [Fact]
    public async Task A_client_that_offers_traffic_v1_gets_it_on_the_standard_path_too()
    {
        await using var raw = await RawHttp.OpenAsync(_service);
        await raw.SendAsync("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.Equal(200, (await raw.ReadResponseAsync()).Status);

        await raw.SendAsync(RawHttp.Upgrade(extraHeaders: "Sec-WebSocket-Protocol: chat, traffic.v1\r\n"));
        var response = await raw.ReadResponseAsync();
        Assert.Equal(101, response.Status);
        Assert.Contains("Server: Kestrel", response.Head); // the standard ASP.NET Core path took it
        Assert.Equal("traffic.v1", response.Header("Sec-WebSocket-Protocol"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_that_offers_only_other_subprotocols_is_refused_with_400_naming_traffic_v1(bool reusedConnection)
    {
        await using var raw = await RawHttp.OpenAsync(_service);
        if (reusedConnection)
        {
            await raw.SendAsync("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
            await raw.ReadResponseAsync();
        }
        await raw.SendAsync(RawHttp.Upgrade(extraHeaders: "Sec-WebSocket-Protocol: chat, superchat\r\n"));
        var response = await raw.ReadResponseAsync();
        Assert.Equal(400, response.Status);
        Assert.Contains("traffic.v1", response.Problem.GetProperty("detail").GetString());

        // A client that offers nothing is served as before.
        await using var plain = await _service.ConnectAsync();
        Assert.Equal("", plain.Socket.SubProtocol ?? "");
        await plain.ExpectGreetingAsync();
    }

    private static async Task<string?> FirstTypeAsync(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TestClient.DefaultWait);
        var received = await socket.ReceiveAsync(buffer, timeout.Token);
        return JsonDocument.Parse(buffer.AsMemory(0, received.Count)).RootElement.GetProperty("type").GetString();
    }

    private static string Shorten(string s) => s.Length > 300 ? s[..300] + "..." : s;
}
