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
        using var client = await RawFrameClient.UpgradeAsync(service.BaseAddress);
        await client.ExpectGreetingAsync();

        // <= 125 bytes: the answer to an application ping.
        await client.SendAsync(RawFrameClient.Masked(0x81, Encoding.UTF8.GetBytes("""{"action":"ping"}""")));
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
        using var client = await RawFrameClient.UpgradeAsync(service.BaseAddress);
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
        using var client = await RawFrameClient.UpgradeAsync(service.BaseAddress);
        await client.ExpectGreetingAsync();

        // Large frames published all at once, and PINGs sent meanwhile: the PONGs the runtime writes
        // and the frames the drain writes share the connection's one pipe.
        const int alerts = 30;
        const int pings = 300;
        var publishes = new List<Task>();
        for (var i = 0; i < alerts; i++)
        {
            publishes.Add(PublishAlertAsync(service, $"burst{i}", padding: 90_000));
            for (var p = 0; p < pings / alerts; p++) await client.SendAsync(RawFrameClient.Masked(0x89, Encoding.ASCII.GetBytes($"ping{i * (pings / alerts) + p}")));
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
        using var client = await RawFrameClient.UpgradeAsync(service.BaseAddress);
        await client.ExpectGreetingAsync();

        await client.SendAsync(RawFrameClient.Masked(0x88, [0x03, 0xE8, .. "bye"u8])); // 1000
        var close = await client.ReadUntilCloseAsync();
        Assert.Equal(1000, close.CloseCode);
        Assert.True(await client.EndedAsync(), "the server ends the connection after the handshake");
    }

    [Fact]
    public async Task A_server_initiated_CLOSE_carries_its_code_and_reason_and_every_frame_before_it_is_whole()
    {
        await using var service = await RunningService.StartAsync(Settings(("MAX_CLIENT_MESSAGE_BYTES", "1024")));
        using var client = await RawFrameClient.UpgradeAsync(service.BaseAddress);
        await client.ExpectGreetingAsync();

        await PublishAlertAsync(service, "before", padding: 20_000);
        // A message over MAX_CLIENT_MESSAGE_BYTES: the service closes with 1009 (RFC 6455 7.4.1).
        await client.SendAsync(RawFrameClient.Masked(0x81, Encoding.UTF8.GetBytes($$"""{"action":"ping","pad":"{{new string('p', 2_000)}}"}""")));
        var close = await client.ReadUntilCloseAsync(); // every frame before it well-formed
        Assert.Equal(1009, close.CloseCode);
        Assert.Contains("1024", Encoding.UTF8.GetString(close.Payload.AsSpan(2)));
    }

    [Fact]
    public async Task A_client_that_negotiates_deflate_gets_RSV1_frames_of_every_length_class_that_inflate_to_the_JSON()
    {
        await using var service = await RunningService.StartAsync(Settings());
        using var client = await RawFrameClient.UpgradeAsync(service.BaseAddress, "permessage-deflate");
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
}
