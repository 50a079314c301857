using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// The frames the direct path writes itself (RFC 6455 5.2, server side), read by a raw TCP client
/// that does the upgrade by hand and checks every header byte by byte: FIN set, no mask, RSV1 only
/// on a compressed text frame, the shortest length encoding (7, 16 or 64 bits), control frames
/// short and whole; every text frame's payload is one JSON document (a frame cut by another one
/// written inside it would not parse, and the frames after it would not either).
/// </summary>
public sealed class ServerFramingSpecs
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static Dictionary<string, string?> Settings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" };
        foreach (var (key, value) in extra) settings[key] = value;
        return settings;
    }

    private static Task PublishAlertAsync(RunningService service, string marker, int padding) =>
        service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { marker, padding = new string('x', padding) } })
            .ContinueWith(t => t.Result.EnsureSuccessStatusCode());

    [Fact]
    public async Task Every_payload_length_class_is_framed_with_the_shortest_length_FIN_set_no_mask_and_the_text_opcode()
    {
        await using var service = await RunningService.StartAsync(Settings());
        using var client = await FrameClient.UpgradeAsync(service.BaseAddress);
        await client.ExpectGreetingAsync();

        // <= 125 bytes: the answer to an application ping.
        await client.SendAsync(FrameClient.Masked(0x81, Encoding.UTF8.GetBytes("""{"action":"ping"}""")));
        var pong = await client.ReadDataFrameAsync();
        Assert.Equal("PONG", pong.Json.GetProperty("type").GetString());
        Assert.True(pong.Payload.Length <= 125, $"a PONG of {pong.Payload.Length} bytes");
        Assert.Equal(7, pong.LengthBits);

        // 126..65535 bytes (16-bit length), over 65535 (64-bit length), and either side of 65535 exactly:
        // the envelope around the padding is learnt from the first ALERT (markers of one length).
        await PublishAlertAsync(service, "m-first", 2_000);
        var medium = await client.ReadDataFrameAsync();
        Assert.Equal(16, medium.LengthBits);
        var envelope = medium.Payload.Length - 2_000;
        var seen = new List<(int Length, int Bits)>();
        foreach (var (marker, padding) in new[] { ("m-large", 100_000), ("m-16max", 65_535 - envelope), ("m-64min", 65_536 - envelope), ("m-small", 300) })
        {
            await PublishAlertAsync(service, marker, padding);
            var alert = await client.ReadDataFrameAsync();
            Assert.Equal(marker, alert.Json.GetProperty("data").GetProperty("marker").GetString());
            seen.Add((alert.Payload.Length, alert.LengthBits)); // the parser checked that the encoding is the shortest
        }
        Assert.Contains((100_000 + envelope, 64), seen);
        Assert.Contains((65_535, 16), seen);
        Assert.Contains((65_536, 64), seen);
    }

    [Fact]
    public async Task Several_queued_frames_arrive_whole_and_in_order()
    {
        await using var service = await RunningService.StartAsync(Settings());
        using var client = await FrameClient.UpgradeAsync(service.BaseAddress);
        await client.ExpectGreetingAsync();

        // Published one after another while the client reads nothing: they pile up and leave in batches.
        const int count = 40;
        for (var i = 0; i < count; i++) await PublishAlertAsync(service, $"m{i}", padding: 100 + i * 997);

        for (var i = 0; i < count; i++)
        {
            var alert = await client.ReadDataFrameAsync();
            Assert.Equal($"m{i}", alert.Json.GetProperty("data").GetProperty("marker").GetString());
        }
    }

    [Fact]
    public async Task Client_PINGs_sent_during_a_burst_of_large_frames_get_PONGs_that_are_never_written_inside_a_data_frame()
    {
        await using var service = await RunningService.StartAsync(Settings());
        using var client = await FrameClient.UpgradeAsync(service.BaseAddress);
        await client.ExpectGreetingAsync();

        // Large frames published all at once, and PINGs sent meanwhile: the PONGs the runtime writes
        // and the frames the drain writes share the connection's one pipe.
        const int alerts = 30;
        const int pings = 300;
        var publishes = new List<Task>();
        for (var i = 0; i < alerts; i++)
        {
            publishes.Add(PublishAlertAsync(service, $"burst{i}", padding: 90_000));
            for (var p = 0; p < pings / alerts; p++) await client.SendAsync(FrameClient.Masked(0x89, Encoding.ASCII.GetBytes($"ping{i * (pings / alerts) + p}")));
        }
        await Task.WhenAll(publishes);

        var markers = new HashSet<string>();
        var pongs = new List<string>();
        while (markers.Count < alerts || pongs.Count < pings)
        {
            var frame = await client.ReadFrameAsync(); // checks every header; a data frame's payload must be one JSON document
            if (frame.Opcode == 0xA) pongs.Add(Encoding.ASCII.GetString(frame.Payload));
            else if (frame.Opcode == 0x1) markers.Add(frame.Json.GetProperty("data").GetProperty("marker").GetString()!);
        }
        Assert.Equal(Enumerable.Range(0, pings).Select(i => $"ping{i}"), pongs); // each PING answered, in order
        Assert.Equal(Enumerable.Range(0, alerts).Select(i => $"burst{i}").ToHashSet(), markers);
    }

    [Fact]
    public async Task A_client_CLOSE_is_answered_with_a_CLOSE_carrying_its_code()
    {
        await using var service = await RunningService.StartAsync(Settings());
        using var client = await FrameClient.UpgradeAsync(service.BaseAddress);
        await client.ExpectGreetingAsync();

        await client.SendAsync(FrameClient.Masked(0x88, [0x03, 0xE8, .. "bye"u8])); // 1000
        var close = await client.ReadUntilCloseAsync();
        Assert.Equal(1000, close.CloseCode);
        Assert.True(await client.EndedAsync(), "the server ends the connection after the handshake");
    }

    [Fact]
    public async Task A_server_initiated_CLOSE_carries_its_code_and_reason_and_every_frame_before_it_is_whole()
    {
        await using var service = await RunningService.StartAsync(Settings(("MAX_CLIENT_MESSAGE_BYTES", "1024")));
        using var client = await FrameClient.UpgradeAsync(service.BaseAddress);
        await client.ExpectGreetingAsync();

        await PublishAlertAsync(service, "before", padding: 20_000);
        // A message over MAX_CLIENT_MESSAGE_BYTES: the service closes with 1009 (RFC 6455 7.4.1).
        await client.SendAsync(FrameClient.Masked(0x81, Encoding.UTF8.GetBytes($$"""{"action":"ping","pad":"{{new string('p', 2_000)}}"}""")));
        var close = await client.ReadUntilCloseAsync(); // every frame before it well-formed
        Assert.Equal(1009, close.CloseCode);
        Assert.Contains("1024", Encoding.UTF8.GetString(close.Payload.AsSpan(2)));
    }

    [Fact]
    public async Task A_client_that_negotiates_deflate_gets_RSV1_frames_of_every_length_class_that_inflate_to_the_JSON()
    {
        await using var service = await RunningService.StartAsync(Settings());
        using var client = await FrameClient.UpgradeAsync(service.BaseAddress, "permessage-deflate");
        Assert.Contains("permessage-deflate", client.Head);
        await client.ExpectGreetingAsync();

        // Random text deflates little, so the compressed frames still span the length classes.
        var random = new Random(42);
        foreach (var (marker, size, bits) in new[] { ("c-medium", 3_000, 16), ("c-large", 120_000, 64) })
        {
            var noise = new string(Enumerable.Range(0, size).Select(_ => (char)random.Next('a', 'z' + 1)).ToArray());
            (await service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { marker, noise } })).EnsureSuccessStatusCode();
            var alert = await client.ReadDataFrameAsync();
            Assert.True(alert.Rsv1, "compressed: RSV1 set");
            Assert.Equal(bits, alert.LengthBits);
            Assert.Equal(marker, alert.Json.GetProperty("data").GetProperty("marker").GetString());
            Assert.Equal(noise, alert.Json.GetProperty("data").GetProperty("noise").GetString());
        }
    }

    /// <summary>A server frame as read, its header checked.</summary>
    private sealed record Frame(int Opcode, bool Rsv1, int LengthBits, byte[] Payload, JsonElement Json)
    {
        public int? CloseCode => Opcode == 8 && Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : null;
    }

    /// <summary>A WebSocket client on a bare TCP connection that reads the server's frames byte by byte.</summary>
    private sealed class FrameClient : IDisposable
    {
        private readonly TcpClient _tcp;
        private readonly NetworkStream _stream;
        private FrameClient(TcpClient tcp) { _tcp = tcp; _stream = tcp.GetStream(); }

        public string Head { get; private set; } = "";
        public bool Deflate { get; private set; }

        public static async Task<FrameClient> UpgradeAsync(Uri server, string? extensions = null)
        {
            var tcp = new TcpClient { NoDelay = true };
            await tcp.ConnectAsync("127.0.0.1", server.Port);
            var client = new FrameClient(tcp);
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
        public async Task<Frame> ReadDataFrameAsync()
        {
            while (true)
            {
                var frame = await ReadFrameAsync();
                Assert.NotEqual(8, frame.Opcode);
                if (frame.Opcode == 1) return frame;
            }
        }

        /// <summary>Frames up to the server's CLOSE (returned), each checked.</summary>
        public async Task<Frame> ReadUntilCloseAsync()
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
        public async Task<Frame> ReadFrameAsync()
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
            return new Frame(opcode, rsv1, bits, payload, json);
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
}
