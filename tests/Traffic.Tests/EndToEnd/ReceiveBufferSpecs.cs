using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Traffic.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// What an idle connection holds after it has sent one large message (issue 23: the receive buffer
/// given back). 400 connections with raw sockets; the memory is this process's (the service runs in
/// it), measured after full blocking GCs: before the message, and once every connection has its
/// answer. A warm-up round of as many connections sending the same message first grows the shared
/// pools (ArrayPool, Kestrel's blocks, zlib streams), so that what is left is what each connection
/// references. Measured figures printed (run with --logger "console;verbosity=detailed"); asserted:
/// less than 4 KB per connection, i.e. no receive buffer kept. Process-level figures (RSS, without
/// a full GC): bench/receive-buffer.py.
/// </summary>
[Trait("Speed", "Slow")]
[Collection(MetricsCollection.Name)] // measures the process: alone
public sealed class ReceiveBufferSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Connections = 400;
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SIMULATOR_ENABLED"] = "false",
            ["HEARTBEAT_INTERVAL_MS"] = "60000",
            ["HEARTBEAT_TIMEOUT_MS"] = "600000",
            ["WS_COMPRESSION"] = "true",
        });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    /// <summary>Less than one receive chunk (4 KB): a buffer kept per connection would show as at least that.</summary>
    private const long HeldLimitBytes = 4096;

    [Theory]
    [InlineData(false, false, 4000)]
    [InlineData(false, false, 12000)]  // several receive chunks: assembled, then released
    [InlineData(false, true, 4000)]    // permessage-deflate: the runtime's inflater
    [InlineData(false, true, 12000)]
    [InlineData(true, false, 12000)]   // the standard path: ASP.NET Core's upgrade stream
    public async Task An_idle_connection_holds_no_more_after_a_large_message_than_before(bool standardPath, bool deflated, int size)
    {
        var text = "{\"action\":\"ping\",\"pad\":\"" + new string('x', size) + "\"}";
        var payload = deflated ? Deflate(Encoding.UTF8.GetBytes(text)) : Encoding.UTF8.GetBytes(text);
        var frame = RawWebSocket.Frame(RawFrame.Text, payload, rsv: deflated ? 4 : 0);

        // Warm-up: as many connections send the same message and close, so that the pools (ArrayPool,
        // Kestrel's blocks, zlib streams) have grown to what this load needs before anything is measured.
        var warmUp = await OpenAsync(standardPath, deflated);
        await SendAndAwaitAnswersAsync(warmUp, frame);
        foreach (var socket in warmUp) await socket.DisposeAsync();

        var sockets = await OpenAsync(standardPath, deflated);
        try
        {
            var before = Measure();
            await SendAndAwaitAnswersAsync(sockets, frame);
            // The answer may reach the client before its connection's receive loop has come round and
            // returned what it rented: wait (bounded) for the figure to settle under the limit. A buffer
            // kept for good never does.
            var after = Measure();
            var clock = Stopwatch.StartNew();
            while (Held(before, after) >= HeldLimitBytes && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
                after = Measure();
            }
            var held = Held(before, after);
            output.WriteLine($"{Connections} idle connections, {(standardPath ? "standard" : "direct")} path{(deflated ? ", permessage-deflate" : "")}: " +
                             $"before the {text.Length} B message {before}, after {after} (settled in {clock.Elapsed.TotalSeconds:0.0} s); " +
                             $"held per connection: managed {held} B, process (RSS) {(after.Rss - before.Rss) / Connections} B");
            Assert.True(held < HeldLimitBytes, $"an idle connection holds {held} B more after one {text.Length} B message");
        }
        finally
        {
            foreach (var socket in sockets) await socket.DisposeAsync();
        }
    }

    private async Task<List<RawWebSocket>> OpenAsync(bool standardPath, bool deflated)
    {
        var sockets = new List<RawWebSocket>();
        var extensions = deflated ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "";
        for (var i = 0; i < Connections; i++)
        {
            var socket = await RawWebSocket.ConnectAsync(_service.BaseAddress);
            sockets.Add(socket);
            if (standardPath)
            {
                // An upgrade on a reused keep-alive connection: the standard ASP.NET Core path.
                await socket.SendAsync($"HEAD /health HTTP/1.1\r\nHost: {_service.BaseAddress.Authority}\r\n\r\n"); // no body to read past
                Assert.Equal(200, RawWebSocket.StatusOf(await socket.ReadHeadAsync(TimeSpan.FromSeconds(30))));
            }
            var upgrade = RawWebSocket.UpgradeRequest(_service.BaseAddress, "/ws?topics=accidents").Replace("\r\n\r\n", "\r\n" + extensions + "\r\n");
            await socket.SendAsync(upgrade);
            Assert.Equal(101, RawWebSocket.StatusOf(await socket.ReadHeadAsync(TimeSpan.FromSeconds(30))));
            for (var greeting = 0; greeting < 2; greeting++) // the ACK, then the SNAPSHOT (deflated or not)
                Assert.Equal(RawFrame.Text, (await socket.ReadFrameAsync(TimeSpan.FromSeconds(30)))?.Opcode);
        }
        return sockets;
    }

    /// <summary>Each socket sends the frame; returns once every one has its answer (PONG or ERROR: either proves the message was read).</summary>
    private static async Task SendAndAwaitAnswersAsync(List<RawWebSocket> sockets, byte[] frame)
    {
        foreach (var socket in sockets) Assert.True(await socket.SendAsync(frame));
        foreach (var socket in sockets)
            Assert.Equal(RawFrame.Text, (await socket.ReadUntilAsync(f => f.Opcode == RawFrame.Text, TimeSpan.FromSeconds(30)))?.Opcode);
    }

    private static byte[] Deflate(byte[] data)
    {
        using var wire = new MemoryStream();
        var deflate = new DeflateStream(wire, CompressionLevel.Fastest, leaveOpen: true);
        deflate.Write(data);
        deflate.Flush(); // a sync flush, ending in 00 00 FF FF; not disposed, which would add a final block
        var bytes = wire.ToArray();
        // RFC 7692: a message's deflated bytes end with the empty stored block 00 00 FF FF, which is left off.
        return bytes.AsSpan().EndsWith(new byte[] { 0, 0, 0xFF, 0xFF }) ? bytes[..^4] : bytes;
    }

    private static long Held(Memory before, Memory after) => (after.Managed - before.Managed) / Connections;

    private sealed record Memory(long Managed, long Rss)
    {
        public override string ToString() => $"managed {Managed / 1024} KB, RSS {Rss / 1024} KB";
    }

    private static Memory Measure()
    {
        for (var i = 0; i < 3; i++) GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        using var self = Process.GetCurrentProcess();
        return new Memory(GC.GetGCMemoryInfo().HeapSizeBytes, self.WorkingSet64);
    }
}
