using System.Buffers.Binary;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// permessage-deflate (RFC 7692) on the direct path: negotiated with clients that offer it, frames
/// compressed once and shared, plain frames for everyone else. Reads /metrics, hence the collection.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class CompressionSpecs
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly string Padding = new('x', 2000);

    private static Dictionary<string, string?> Settings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" };
        foreach (var (key, value) in extra) settings[key] = value;
        return settings;
    }

    [Fact]
    public async Task A_dotnet_client_that_negotiates_deflate_gets_the_same_messages_as_a_plain_client()
    {
        // Threshold 0: every frame the server sends, acks and PONG included, goes compressed.
        await using var service = await RunningService.StartAsync(Settings(("WS_COMPRESSION_MIN_BYTES", "0")));
        await using var plain = await DeflateClient.ConnectAsync(service.WebSocketUri("/ws?topics=accidents"), deflate: false);
        await using var compressed = await DeflateClient.ConnectAsync(service.WebSocketUri("/ws?topics=accidents"), deflate: true);

        Assert.Null(plain.Extensions);
        Assert.Equal("permessage-deflate; server_no_context_takeover; client_no_context_takeover", compressed.Extensions);

        Assert.Equal("connection", (await compressed.NextAsync()).Type());
        Assert.Equal("connection", (await plain.NextAsync()).Type());
        var plainSnapshot = JsonDocument.Parse(await plain.NextTextAsync()).RootElement;
        var compressedSnapshot = JsonDocument.Parse(await compressed.NextTextAsync()).RootElement;
        Assert.Equal("SNAPSHOT", plainSnapshot.Type());
        Assert.Equal("SNAPSHOT", compressedSnapshot.Type());
        // The same state; the positions may differ (a scheduled UPDATE numbered between the two registrations).
        Assert.Equal(plainSnapshot.GetProperty("data").GetRawText(), compressedSnapshot.GetProperty("data").GetRawText());

        var (plainBefore, compressedBefore) = (plain.BytesReceived, compressed.BytesReceived);
        (await service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { marker = "m1", padding = Padding } })).EnsureSuccessStatusCode();
        var plainAlert = await plain.NextTextAsync();
        Assert.Equal("ALERT", JsonDocument.Parse(plainAlert).RootElement.Type());
        Assert.Equal(plainAlert, await compressed.NextTextAsync());

        // The same message, fewer bytes on the wire: only compression makes that true (the 2 000 x's deflate to a few bytes).
        var (plainBytes, compressedBytes) = (plain.BytesReceived - plainBefore, compressed.BytesReceived - compressedBefore);
        Assert.True(plainBytes > Padding.Length, $"plain client read {plainBytes} bytes for a {plainAlert.Length}-byte ALERT");
        Assert.True(compressedBytes * 4 < plainBytes, $"compressing client read {compressedBytes} bytes for the ALERT, plain client {plainBytes}");

        // The client compresses what it sends too: the server inflates it (and answers, compressed).
        await compressed.SendAsync("""{"action":"ping"}""");
        Assert.Equal("PONG", (await compressed.NextAsync()).Type());
    }

    [Fact]
    public async Task A_raw_client_offering_deflate_gets_an_RSV1_SNAPSHOT_that_inflates_to_the_plain_one_and_a_client_offering_nothing_gets_plain_frames()
    {
        await using var service = await RunningService.StartAsync(Settings());
        using var offering = await RawFrameClient.UpgradeAsync(service.BaseAddress, "permessage-deflate; client_max_window_bits");
        using var silent = await RawFrameClient.UpgradeAsync(service.BaseAddress, extensions: null);

        Assert.Equal("permessage-deflate; server_no_context_takeover; client_no_context_takeover", ExtensionsOf(offering.Head));
        Assert.Null(ExtensionsOf(silent.Head));

        Assert.Equal("connection", JsonDocument.Parse(Text(await offering.ReadNonPingFrameAsync())).RootElement.Type());
        var offeredSnapshot = await offering.ReadNonPingFrameAsync();
        Assert.True(offeredSnapshot.Rsv1);
        Assert.False(offeredSnapshot.Payload.AsSpan().EndsWith((byte[])[0x00, 0x00, 0xFF, 0xFF]), "RFC 7692 7.2.1: the flush's tail is stripped");

        Assert.False((await silent.ReadNonPingFrameAsync()).Rsv1);
        var plainSnapshot = await silent.ReadNonPingFrameAsync();
        Assert.False(plainSnapshot.Rsv1);
        Assert.Equal("SNAPSHOT", JsonDocument.Parse(plainSnapshot.Payload).RootElement.Type());

        Assert.Equal(Encoding.UTF8.GetString(plainSnapshot.Payload), Encoding.UTF8.GetString(RawWebSocket.Inflate(offeredSnapshot.Payload)));
        Assert.True(offeredSnapshot.Payload.Length < plainSnapshot.Payload.Length,
            $"compressed {offeredSnapshot.Payload.Length} bytes, plain {plainSnapshot.Payload.Length}");

        // A PONG is under WS_COMPRESSION_MIN_BYTES (256): sent as is, RSV1 clear, even to a compressing client.
        await offering.SendAsync(RawWebSocketConnection.Masked(0x81, Encoding.UTF8.GetBytes("""{"action":"ping"}""")));
        var pong = await offering.ReadNonPingFrameAsync();
        Assert.False(pong.Rsv1);
        Assert.Equal("PONG", JsonDocument.Parse(pong.Payload).RootElement.Type());
    }

    [Fact]
    public async Task A_publish_to_many_compressing_subscribers_is_compressed_once()
    {
        await using var service = await RunningService.StartAsync(Settings());
        var clients = new List<DeflateClient>();
        try
        {
            for (var i = 0; i < 8; i++)
                clients.Add(await DeflateClient.ConnectAsync(service.WebSocketUri("/ws?topics=accidents"), deflate: true));
            foreach (var client in clients)
            {
                Assert.Equal("connection", (await client.NextAsync()).Type());
                Assert.Equal("SNAPSHOT", (await client.NextAsync()).Type());
            }
            var before = await CompressedTotalAsync(service);

            (await service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { padding = Padding } })).EnsureSuccessStatusCode();
            foreach (var client in clients) Assert.Equal("ALERT", (await client.NextAsync()).Type());

            // Every recipient has its ALERT, so every compression is done; /metrics may answer from its short cache until it moves.
            var after = before;
            await Poll.UntilAsync(async () => (after = await CompressedTotalAsync(service)) != before, "the compressed counter moves");
            Assert.Equal(before + 1, after);
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_delta_UPDATE_reaches_a_compressing_client_as_the_same_delta_a_plain_client_gets()
    {
        // The simulated city moves fast, so UPDATEs with deltas come within seconds; every frame is compressed (threshold 0).
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SIMULATOR_STEP_MS"] = "200",
            ["UPDATE_INTERVALS_MS"] = "cameras=200,congestion=200,weather=200",
            ["WS_COMPRESSION_MIN_BYTES"] = "0",
        });
        const string query = "/ws?topics=cameras,congestion,weather&delta=true";
        await using var plain = await DeflateClient.ConnectAsync(service.WebSocketUri(query), deflate: false);
        await using var compressed = await DeflateClient.ConnectAsync(service.WebSocketUri(query), deflate: true);

        var until = DateTime.UtcNow + Wait;
        string delta;
        do
        {
            Assert.True(DateTime.UtcNow < until, "a delta UPDATE reaches the compressing client in time");
            delta = await compressed.NextTextAsync();
        } while (!delta.Contains("\"delta\":"));
        var sent = JsonDocument.Parse(delta).RootElement;
        var (topic, offset) = (sent.GetProperty("topic").GetString(), sent.GetProperty("offset").GetInt64());

        JsonElement same;
        do same = JsonDocument.Parse(await plain.NextTextAsync()).RootElement;
        while (!(same.Type() == "UPDATE" && same.GetProperty("topic").GetString() == topic && same.GetProperty("offset").GetInt64() == offset));
        Assert.Equal(same.GetRawText(), sent.GetRawText());
    }

    [Fact]
    public async Task With_WS_COMPRESSION_false_an_offer_is_answered_without_the_extension()
    {
        await using var service = await RunningService.StartAsync(Settings(("WS_COMPRESSION", "false")));
        using var offering = await RawFrameClient.UpgradeAsync(service.BaseAddress, "permessage-deflate; client_max_window_bits");

        Assert.Contains("101", offering.Head.Split("\r\n")[0]);
        Assert.Null(ExtensionsOf(offering.Head));
        await offering.ReadNonPingFrameAsync();
        Assert.False((await offering.ReadNonPingFrameAsync()).Rsv1);
    }

    [Theory]
    // Declined (RFC 7692 7.1: unknown, repeated or invalid parameters; a server window we cannot honour): no extension.
    [InlineData("permessage-deflate; server_max_window_bits=10", null)]
    [InlineData("permessage-deflate; client_max_window_bits=16", null)]
    [InlineData("permessage-deflate; client_max_window_bits=09", null)]
    [InlineData("permessage-deflate; server_no_context_takeover; server_no_context_takeover", null)]
    [InlineData("permessage-deflate; server_no_context_takeover=1", null)]
    [InlineData("permessage-deflate; mystery", null)]
    [InlineData("x-webkit-deflate-frame", null)]
    [InlineData(";;, ,\"unterminated", null)]
    // The first acceptable offer wins, quoted values included; what we must echo is echoed.
    [InlineData("permessage-deflate; mystery, permessage-deflate; client_max_window_bits=\"10\"",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover")]
    [InlineData("foo, permessage-deflate; server_max_window_bits=15; client_no_context_takeover",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15")]
    public async Task An_offer_the_server_cannot_honour_is_declined_and_the_handshake_still_succeeds(string offer, string? answer)
    {
        await using var service = await RunningService.StartAsync(Settings());
        using var client = await RawFrameClient.UpgradeAsync(service.BaseAddress, offer);

        Assert.StartsWith("HTTP/1.1 101", client.Head);
        Assert.Equal(answer, ExtensionsOf(client.Head));
        Assert.Equal("connection", JsonDocument.Parse(Text(await client.ReadNonPingFrameAsync())).RootElement.Type());
        var snapshot = await client.ReadNonPingFrameAsync();
        Assert.Equal(answer is not null, snapshot.Rsv1);
    }

    private static string? ExtensionsOf(string head) =>
        Regex.Match(head, "^Sec-WebSocket-Extensions: *(.*?)\r?$", RegexOptions.Multiline | RegexOptions.IgnoreCase) is { Success: true } m
            ? m.Groups[1].Value : null;

    private static async Task<long> CompressedTotalAsync(RunningService service)
    {
        var text = await service.Http.GetStringAsync("/metrics");
        var match = Regex.Match(text, "(?m)^traffic_frames_compressed_total(?:\\{[^}]*\\})? (\\d+)$");
        Assert.True(match.Success, "traffic_frames_compressed_total is exported");
        return long.Parse(match.Groups[1].Value);
    }

    /// <summary>A frame's text: inflated when RSV1 says it is compressed (the connection ack is near the threshold, its size varies).</summary>
    private static string Text(CheckedFrame frame) => Encoding.UTF8.GetString(frame.Rsv1 ? RawWebSocket.Inflate(frame.Payload) : frame.Payload);

    /// <summary>
    /// A .NET ClientWebSocket, with or without DangerousDeflateOptions, that keeps each message's text
    /// and counts the bytes it reads off its TCP connection (<see cref="BytesReceived"/>: what crossed the wire).
    /// </summary>
    private sealed class DeflateClient : IAsyncDisposable
    {
        private readonly ClientWebSocket _socket;
        private readonly HttpMessageInvoker _invoker;
        private readonly CountingStream[] _connection;
        private DeflateClient(ClientWebSocket socket, HttpMessageInvoker invoker, CountingStream[] connection) =>
            (_socket, _invoker, _connection) = (socket, invoker, connection);

        public string? Extensions { get; private init; }

        /// <summary>Bytes read from the connection so far, handshake and frame headers included.</summary>
        public long BytesReceived => _connection[0].BytesRead;

        public static async Task<DeflateClient> ConnectAsync(Uri uri, bool deflate)
        {
            var connection = new CountingStream[1];
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (context, token) =>
                {
                    var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    await tcp.ConnectAsync(context.DnsEndPoint, token);
                    return connection[0] = new CountingStream(new NetworkStream(tcp, ownsSocket: true));
                },
            };
            var invoker = new HttpMessageInvoker(handler);
            var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            socket.Options.CollectHttpResponseDetails = true;
            if (deflate) socket.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
            await socket.ConnectAsync(uri, invoker, CancellationToken.None);
            var extensions = socket.HttpResponseHeaders?.TryGetValue("Sec-WebSocket-Extensions", out var values) == true ? string.Join(",", values) : null;
            return new DeflateClient(socket, invoker, connection) { Extensions = extensions };
        }

        public Task SendAsync(string text) =>
            _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

        public async Task<JsonElement> NextAsync() => JsonDocument.Parse(await NextTextAsync()).RootElement;

        public async Task<string> NextTextAsync()
        {
            using var timeout = new CancellationTokenSource(Wait);
            var buffer = new byte[64 * 1024];
            var message = new MemoryStream();
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, timeout.Token);
                Assert.Equal(WebSocketMessageType.Text, result.MessageType);
                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage) return Encoding.UTF8.GetString(message.ToArray());
            }
        }

        public ValueTask DisposeAsync()
        {
            _socket.Abort();
            _socket.Dispose();
            _invoker.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>A connection's stream that counts what is read from it.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        private long _read;

        public long BytesRead => Interlocked.Read(ref _read);

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Counted(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }

        private int Counted(int read)
        {
            Interlocked.Add(ref _read, read);
            return read;
        }
    }
}
