using System.Net.Sockets;
using System.Text;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// A WebSocket client written on a bare TCP socket, for what <c>ClientWebSocket</c> hides: the
/// server's PINGs, frames that break RFC 6455, several HTTP requests on one connection. Blocking
/// reads bounded by the socket's read timeout (20 s).
/// </summary>
public sealed class RawWebSocketConnection : IDisposable
{
    private readonly TcpClient _tcp = new();
    private NetworkStream _stream = null!;

    public static async Task<RawWebSocketConnection> OpenAsync(Uri server)
    {
        var connection = new RawWebSocketConnection();
        await connection._tcp.ConnectAsync("127.0.0.1", server.Port);
        connection._stream = connection._tcp.GetStream();
        connection._stream.ReadTimeout = 20_000;
        return connection;
    }

    public Task WriteAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    /// <summary>An ordinary request, answered in full (its head returned, its body read).</summary>
    public async Task<string> GetAsync(string path)
    {
        await WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n"));
        var head = ReadHead();
        ReadBody(head);
        return head;
    }

    /// <summary>The upgrade handshake; returns the answer's head.</summary>
    public async Task<string> UpgradeAsync(string pathAndQuery = "/ws")
    {
        await WriteAsync(Encoding.ASCII.GetBytes(
            $"GET {pathAndQuery} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        return ReadHead();
    }

    /// <summary>A client frame (masked, as RFC 6455 requires): <paramref name="first"/> is FIN, RSV and opcode.</summary>
    public static byte[] Masked(byte first, byte[] payload)
    {
        byte[] mask = [1, 2, 3, 4];
        var frame = new byte[2 + 4 + payload.Length];
        frame[0] = first;
        frame[1] = (byte)(0x80 | payload.Length); // short payloads only
        mask.CopyTo(frame, 2);
        for (var i = 0; i < payload.Length; i++) frame[6 + i] = (byte)(payload[i] ^ mask[i % 4]);
        return frame;
    }

    /// <summary>The next server frame (unmasked).</summary>
    public (int Opcode, byte[] Payload) ReadFrame()
    {
        var first = ReadByte();
        long length = ReadByte() & 0x7F;
        if (length == 126) length = (ReadByte() << 8) | ReadByte();
        else if (length == 127) length = ReadBytes(8).Aggregate(0L, (sum, b) => (sum << 8) | b);
        return (first & 0x0F, ReadBytes((int)length));
    }

    private string ReadHead()
    {
        var head = new List<byte>();
        while (head.Count < 4 || head[^4] != '\r' || head[^3] != '\n' || head[^2] != '\r' || head[^1] != '\n')
            head.Add(ReadByte());
        return Encoding.ASCII.GetString(head.ToArray());
    }

    /// <summary>A body with a Content-Length, or chunked.</summary>
    private void ReadBody(string head)
    {
        var length = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        if (length is not null)
        {
            ReadBytes(int.Parse(length["Content-Length:".Length..].Trim()));
            return;
        }
        var tail = new List<byte>();
        while (tail.Count < 5 || Encoding.ASCII.GetString(tail.TakeLast(5).ToArray()) != "0\r\n\r\n") tail.Add(ReadByte());
    }

    private byte[] ReadBytes(int count)
    {
        var bytes = new byte[count];
        _stream.ReadExactly(bytes);
        return bytes;
    }

    private byte ReadByte()
    {
        var b = _stream.ReadByte();
        if (b < 0) throw new Xunit.Sdk.XunitException("the server ended the connection");
        return (byte)b;
    }

    public void Dispose() => _tcp.Dispose();
}
