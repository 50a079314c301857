using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>The opening handshake as raw bytes on a TCP connection, for the cases a WebSocket client library won't produce.</summary>
public sealed class HandshakeSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private async Task<NetworkStream> OpenAsync()
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(_service.BaseAddress.Host, _service.BaseAddress.Port);
        return tcp.GetStream();
    }

    private static Task SendAsync(Stream stream, string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();

    /// <summary>Reads one HTTP response: its head, and its body by Content-Length or chunked encoding.</summary>
    private static async Task<string> ReadResponseAsync(Stream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var head = await ReadUntilAsync(stream, "\r\n\r\n", timeout.Token);
        if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
            return head + await ReadUntilAsync(stream, "0\r\n\r\n", timeout.Token);
        var length = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        if (length is null) return head;
        var body = new byte[int.Parse(length.Split(':')[1].Trim())];
        await stream.ReadExactlyAsync(body, timeout.Token);
        return head + Encoding.UTF8.GetString(body);
    }

    /// <summary>Reads byte by byte (so nothing past the response is taken from the stream) up to a terminator.</summary>
    private static async Task<string> ReadUntilAsync(Stream stream, string terminator, CancellationToken cancel)
    {
        var received = new StringBuilder();
        var one = new byte[1];
        while (!received.ToString().EndsWith(terminator))
        {
            if (await stream.ReadAsync(one, cancel) == 0) break;
            received.Append((char)one[0]);
        }
        return received.ToString();
    }

    private static string UpgradeRequest(string target, string version = "13") =>
        $"GET {target} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        $"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n\r\n";

    [Fact]
    public async Task An_upgrade_after_an_ordinary_request_on_the_same_connection_is_still_served()
    {
        await using var stream = await OpenAsync();
        await SendAsync(stream, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", await ReadResponseAsync(stream));

        await SendAsync(stream, UpgradeRequest("/ws?topics=weather"));
        var response = await ReadResponseAsync(stream);
        Assert.StartsWith("HTTP/1.1 101", response);
        Assert.Contains("Server: Kestrel", response); // the standard ASP.NET Core path took it
        Assert.Contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", response);

        using var client = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false });
        var buffer = new byte[64 * 1024];
        var ack = await client.ReceiveAsync(buffer, CancellationToken.None);
        var message = JsonDocument.Parse(buffer.AsMemory(0, ack.Count)).RootElement;
        Assert.Equal("connection", message.GetProperty("type").GetString());
        Assert.Equal(["weather"], message.GetProperty("topics").Strings());
    }

    [Fact]
    public async Task A_first_request_that_upgrades_is_accepted_at_the_connection_without_the_http_pipeline()
    {
        await using var stream = await OpenAsync();
        await SendAsync(stream, UpgradeRequest("/ws"));
        var response = await ReadResponseAsync(stream);
        Assert.StartsWith("HTTP/1.1 101", response);
        Assert.DoesNotContain("Server:", response); // Kestrel's HTTP layer adds "Server: Kestrel" to everything it answers
    }

    [Fact]
    public async Task A_handshake_with_a_wrong_version_is_refused_with_426_and_the_version_spoken()
    {
        await using var stream = await OpenAsync();
        await SendAsync(stream, UpgradeRequest("/ws", version: "8"));
        var response = await ReadResponseAsync(stream);
        Assert.StartsWith("HTTP/1.1 426", response);
        Assert.Contains("Sec-WebSocket-Version: 13\r\n", response);
        Assert.Contains("application/problem+json", response);
        Assert.Contains("Sec-WebSocket-Version must be 13", response);
    }

    [Fact]
    public async Task Plain_http_on_the_websocket_path_gets_426()
    {
        await using var stream = await OpenAsync();
        await SendAsync(stream, "GET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 426", await ReadResponseAsync(stream));
    }
}
