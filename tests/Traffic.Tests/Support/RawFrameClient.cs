using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Traffic.Tests.Support;

/// <summary>A server frame as read, its header checked.</summary>
public sealed record CheckedFrame(int Opcode, bool Rsv1, int LengthBits, byte[] Payload, JsonElement Json)
{
    public int? CloseCode => Opcode == 8 && Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : null;
}

/// <summary>A WebSocket client on a bare TCP connection that reads the server's frames byte by byte.</summary>
public sealed class RawFrameClient : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private RawFrameClient(TcpClient tcp) { _tcp = tcp; _stream = tcp.GetStream(); }

    public string Head { get; private set; } = "";
    public bool Deflate { get; private set; }

    public static async Task<RawFrameClient> UpgradeAsync(Uri server, string? extensions = null)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync("127.0.0.1", server.Port);
        var client = new RawFrameClient(tcp);
        var offer = extensions is null ? "" : $"Sec-WebSocket-Extensions: {extensions}\r\n";
        await client.SendAsync(Encoding.ASCII.GetBytes(
            $"GET /ws?topics=accidents HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"));
        var head = new List<byte>();
        while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
            head.Add((await client.ReadExactlyAsync(1))[0]);
        client.Head = Encoding.ASCII.GetString(head.ToArray());
        Assert.StartsWith("HTTP/1.1 101", client.Head);
        client.Deflate = client.Head.Contains("permessage-deflate", StringComparison.OrdinalIgnoreCase);
        return client;
    }

    /// <summary>A client frame, masked as RFC 6455 requires; <paramref name="first"/> is FIN, RSV and opcode.</summary>
    public static byte[] Masked(byte first, byte[] payload) => RawWebSocket.Frame(first & 0x0F, payload, fin: (first & 0x80) != 0, rsv: (first >> 4) & 7);

    public Task SendAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    /// <summary>The connection ack and the SNAPSHOT.</summary>
    public async Task ExpectGreetingAsync()
    {
        Assert.Equal("connection", (await ReadDataFrameAsync()).Json.GetProperty("type").GetString());
        Assert.Equal("SNAPSHOT", (await ReadDataFrameAsync()).Json.GetProperty("type").GetString());
    }

    /// <summary>The next text frame (the server's keep-alive PINGs, checked, are passed over).</summary>
    public async Task<CheckedFrame> ReadDataFrameAsync()
    {
        while (true)
        {
            var frame = await ReadFrameAsync();
            Assert.NotEqual(8, frame.Opcode);
            if (frame.Opcode == 1) return frame;
        }
    }

    /// <summary>The next frame that is not a keep-alive PING (a text frame, a PONG, a CLOSE), checked.</summary>
    public async Task<CheckedFrame> ReadNonPingFrameAsync()
    {
        while (true)
        {
            var frame = await ReadFrameAsync();
            if (frame.Opcode != 9) return frame;
        }
    }

    /// <summary>Frames up to the server's CLOSE (returned), each checked.</summary>
    public async Task<CheckedFrame> ReadUntilCloseAsync()
    {
        while (true)
        {
            var frame = await ReadFrameAsync();
            if (frame.Opcode == 8) return frame;
        }
    }

    /// <summary>Whether the server ends the connection (nothing more to read) in time.</summary>
    public async Task<bool> EndedAsync()
    {
        using var timeout = new CancellationTokenSource(Wait);
        try { return await _stream.ReadAsync(new byte[1], timeout.Token) == 0; }
        catch (IOException) { return true; } // a reset is an end too
    }

    /// <summary>The next frame, every header bit checked against what a server may send (RFC 6455 5.2, 5.5; RFC 7692 6).</summary>
    public async Task<CheckedFrame> ReadFrameAsync()
    {
        var header = await ReadExactlyAsync(2);
        var opcode = header[0] & 0x0F;
        var rsv1 = (header[0] & 0x40) != 0;
        Assert.True((header[0] & 0x80) != 0, $"FIN set (first byte {header[0]:X2})");
        Assert.True((header[0] & 0x30) == 0, $"RSV2 and RSV3 clear (first byte {header[0]:X2})");
        Assert.True(opcode is 1 or 8 or 9 or 10, $"a text or control opcode, got {opcode}");
        Assert.True(!rsv1 || (Deflate && opcode == 1), $"RSV1 only on a compressed text frame (first byte {header[0]:X2})");
        Assert.True((header[1] & 0x80) == 0, "a server frame is not masked");

        long length = header[1] & 0x7F;
        var bits = 7;
        if (length == 126)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(await ReadExactlyAsync(2));
            bits = 16;
            Assert.True(length > 125, $"a 16-bit length only past 125 (got {length})");
        }
        else if (length == 127)
        {
            var wide = BinaryPrimitives.ReadUInt64BigEndian(await ReadExactlyAsync(8));
            Assert.True(wide >> 63 == 0, "the 64-bit length's top bit is clear");
            Assert.True(wide is > ushort.MaxValue and < 64 * 1024 * 1024, $"a 64-bit length only past 65535, and sane (got {wide})");
            length = (long)wide;
            bits = 64;
        }
        if (opcode >= 8) Assert.True(length <= 125, $"a control frame of at most 125 bytes (got {length})");
        Assert.Equal(length <= 125 ? 7 : length <= ushort.MaxValue ? 16 : 64, bits); // the shortest encoding (RFC 6455 5.2)

        var payload = await ReadExactlyAsync((int)length);
        var json = default(JsonElement);
        if (opcode == 1)
        {
            var text = rsv1 ? RawWebSocket.Inflate(payload) : payload;
            try { json = JsonDocument.Parse(text).RootElement; }
            catch (JsonException e) { Assert.Fail($"a text frame of {length} bytes is not one JSON document ({e.Message}): a frame written inside another?"); }
        }
        return new CheckedFrame(opcode, rsv1, bits, payload, json);
    }

    private async Task<byte[]> ReadExactlyAsync(int count)
    {
        using var timeout = new CancellationTokenSource(Wait);
        var bytes = new byte[count];
        await _stream.ReadExactlyAsync(bytes, timeout.Token);
        return bytes;
    }

    public void Dispose() => _tcp.Dispose();
}
