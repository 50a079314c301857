using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Traffic.Tests.Support;

namespace Traffic.Tests.EndToEnd;

/// <summary>Raw bytes on a TCP connection to the service, for requests a WebSocket client library will not send.</summary>
public sealed class RawHttp : IAsyncDisposable
{
    private readonly TcpClient _tcp;

    private RawHttp(TcpClient tcp)
    {
        _tcp = tcp;
        Stream = tcp.GetStream();
    }

    /// <summary>
    /// Taken once: TcpClient.GetStream() refuses once the socket is no longer "connected" (a send
    /// that met the server's reset), though the server's answer may still be there to read.
    /// </summary>
    public NetworkStream Stream { get; }

    public static async Task<RawHttp> OpenAsync(RunningService service)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(service.BaseAddress.Host, service.BaseAddress.Port);
        return new RawHttp(tcp);
    }

    public Task SendAsync(string text) => Stream.WriteAsync(Encoding.Latin1.GetBytes(text)).AsTask();

    public static string Upgrade(string target = "/ws", string extraHeaders = "", string host = "Host: localhost\r\n", string version = "HTTP/1.1") =>
        $"GET {target} {version}\r\n{host}Upgrade: websocket\r\nConnection: Upgrade\r\n" +
        $"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extraHeaders}\r\n";

    /// <summary>Reads one HTTP response (head, and body by Content-Length or chunked), within <paramref name="wait"/>.</summary>
    public async Task<Response> ReadResponseAsync(TimeSpan? wait = null)
    {
        using var timeout = new CancellationTokenSource(wait ?? TimeSpan.FromSeconds(20));
        var head = await ReadUntilAsync("\r\n\r\n", timeout.Token);
        var body = "";
        if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
            body = Dechunk(await ReadUntilAsync("0\r\n\r\n", timeout.Token));
        else if (head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) is { } length)
        {
            var bytes = new byte[int.Parse(length.Split(':')[1].Trim())];
            await Stream.ReadExactlyAsync(bytes, timeout.Token);
            body = Encoding.UTF8.GetString(bytes);
        }
        return new Response(head, body);
    }

    private static string Dechunk(string chunked)
    {
        var result = new StringBuilder();
        var rest = chunked;
        while (true)
        {
            var lineEnd = rest.IndexOf("\r\n", StringComparison.Ordinal);
            var size = Convert.ToInt32(rest[..lineEnd].Split(';')[0], 16);
            if (size == 0) return result.ToString();
            result.Append(rest.AsSpan(lineEnd + 2, size));
            rest = rest[(lineEnd + 2 + size + 2)..];
        }
    }

    /// <summary>Byte by byte, so that nothing past the response is taken from the stream.</summary>
    private async Task<string> ReadUntilAsync(string terminator, CancellationToken cancel)
    {
        var received = new StringBuilder();
        var one = new byte[1];
        while (!received.ToString().EndsWith(terminator))
        {
            if (await Stream.ReadAsync(one, cancel) == 0) break;
            received.Append((char)one[0]);
        }
        return received.ToString();
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }

    public sealed record Response(string Head, string Body)
    {
        public int Status => Head.Length > 12 && int.TryParse(Head.AsSpan(9, 3), out var s) ? s : 0;

        public string? Header(string name) => Head.Split("\r\n")
            .FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))?[(name.Length + 1)..].Trim();

        /// <summary>The RFC 7807 problem body.</summary>
        public JsonElement Problem => JsonDocument.Parse(Body).RootElement.Clone();

        public override string ToString() => Head + Body;
    }
}
