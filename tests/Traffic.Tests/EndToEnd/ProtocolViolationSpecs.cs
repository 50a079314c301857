using System.Net.Sockets;
using System.Text;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// RFC 6455 violations from a raw TCP client get the close frame the RFC asks for (1002 protocol
/// error, 1007 invalid UTF-8), on both ways a WebSocket is accepted: the direct path (the
/// connection's first request is the upgrade) and the standard ASP.NET Core path (an upgrade on a
/// reused keep-alive connection).
/// </summary>
public sealed class ProtocolViolationSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private static readonly byte[] ReservedBits = Masked(0xC1, "hi"u8.ToArray());              // RSV1 set, no extension negotiated
    private static readonly byte[] ReservedOpcode = Masked(0x83, "hi"u8.ToArray());            // opcode 3 is reserved
    private static readonly byte[] InvalidUtf8 = Masked(0x81, [0xC3, 0x28]);                    // not UTF-8

    public static TheoryData<string, bool, int> Cases() => new()
    {
        { "reserved bits", false, 1002 }, { "reserved bits", true, 1002 },
        { "reserved opcode", false, 1002 }, { "reserved opcode", true, 1002 },
        { "invalid UTF-8", false, 1007 }, { "invalid UTF-8", true, 1007 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_protocol_violation_gets_its_close_frame(string violation, bool afterAnotherRequest, int expectedCode)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", _service.BaseAddress.Port);
        var stream = tcp.GetStream();
        stream.ReadTimeout = 20_000;
        var reader = new RawReader(stream);

        if (afterAnotherRequest)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /health HTTP/1.1\r\nHost: test\r\n\r\n"));
            var head = reader.ReadHead();
            Assert.StartsWith("HTTP/1.1 200", head);
            reader.ReadBody(head);
        }

        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            "GET /ws?topics=cameras HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 101", reader.ReadHead());
        // The ACK and the SNAPSHOT come first: read them so that the close frame is what follows.
        Assert.Equal(0x1, reader.ReadFrame().Opcode);
        Assert.Equal(0x1, reader.ReadFrame().Opcode);

        await stream.WriteAsync(violation switch
        {
            "reserved bits" => ReservedBits,
            "reserved opcode" => ReservedOpcode,
            _ => InvalidUtf8,
        });

        var close = reader.ReadFrame();
        while (close.Opcode == 0x9) close = reader.ReadFrame(); // the server's keep-alive pings may come first
        Assert.Equal(0x8, close.Opcode);
        Assert.Equal(expectedCode, (close.Payload[0] << 8) | close.Payload[1]);
    }

    private static byte[] Masked(byte first, byte[] payload)
    {
        byte[] mask = [1, 2, 3, 4];
        var frame = new byte[2 + 4 + payload.Length];
        frame[0] = first;
        frame[1] = (byte)(0x80 | payload.Length);
        mask.CopyTo(frame, 2);
        for (var i = 0; i < payload.Length; i++) frame[6 + i] = (byte)(payload[i] ^ mask[i % 4]);
        return frame;
    }

    /// <summary>Blocking reads with the stream's timeout: an HTTP head, raw bytes, one server (unmasked) frame.</summary>
    private sealed class RawReader(NetworkStream stream)
    {
        public string ReadHead()
        {
            var head = new List<byte>();
            while (head.Count < 4 || head[^4] != '\r' || head[^3] != '\n' || head[^2] != '\r' || head[^1] != '\n')
                head.Add(ReadByte());
            return Encoding.ASCII.GetString(head.ToArray());
        }

        /// <summary>A body with a Content-Length, or chunked.</summary>
        public void ReadBody(string head)
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

        public byte[] ReadBytes(int count)
        {
            var bytes = new byte[count];
            stream.ReadExactly(bytes);
            return bytes;
        }

        public (int Opcode, byte[] Payload) ReadFrame()
        {
            var first = ReadByte();
            long length = ReadByte() & 0x7F;
            if (length == 126) length = (ReadByte() << 8) | ReadByte();
            else if (length == 127) length = ReadBytes(8).Aggregate(0L, (sum, b) => (sum << 8) | b);
            return (first & 0x0F, ReadBytes((int)length));
        }

        private byte ReadByte()
        {
            var b = stream.ReadByte();
            if (b < 0) throw new Xunit.Sdk.XunitException("the server ended the connection (no close frame)");
            return (byte)b;
        }
    }
}
