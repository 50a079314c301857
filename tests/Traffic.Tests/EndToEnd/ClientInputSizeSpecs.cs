using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using Traffic.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// What a client with no key can make a node read and inflate: a message is closed with 1009 the
/// moment it passes MAX_CLIENT_MESSAGE_BYTES (counted inflated), and the bytes a client sends are
/// paced to CLIENT_BYTES_PER_SECOND. Reads /metrics, hence the collection.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class ClientInputSizeSpecs(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_endless_deflated_message_is_closed_with_1009_while_the_node_has_inflated_little_more_than_the_limit()
    {
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });
        await using var bystander = await service.ConnectAsync("/ws?topics=accidents");
        await bystander.ExpectGreetingAsync();

        await using var attacker = await RawWebSocket.ConnectAsync(service.BaseAddress);
        await attacker.SendAsync(RawWebSocket.UpgradeRequest(service.BaseAddress, "/ws?topics=accidents").Replace("\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n\r\n"));
        var head = await attacker.ReadHeadAsync(Wait);
        Assert.Equal(101, RawWebSocket.StatusOf(head));
        Assert.Contains("permessage-deflate", head);

        var rssBefore = Rss();
        // One text message that never ends: a compressed first frame (RSV1), then continuation frames,
        // each 1 MiB of zeros deflated to about a kilobyte. Bounded: 1 GiB inflated at most.
        var sent = 0L;
        var inflated = 0L;
        var sender = Task.Run(async () =>
        {
            var zeros = new byte[1 << 20];
            using var wire = new MemoryStream();
            using var deflate = new DeflateStream(wire, CompressionLevel.Optimal, leaveOpen: true);
            for (var i = 0; i < 1024; i++)
            {
                deflate.Write(zeros);
                deflate.Flush(); // a sync flush: the bytes so far are a valid prefix of the message
                var chunk = wire.ToArray();
                wire.SetLength(0);
                var frame = RawWebSocket.Frame(i == 0 ? RawFrame.Text : RawFrame.Continuation, chunk, fin: false, rsv: i == 0 ? 4 : 0);
                if (!await attacker.SendAsync(frame)) return;
                sent += chunk.Length;
                inflated += zeros.Length;
            }
        });

        var close = await attacker.ReadUntilAsync(_ => false, Wait);
        Assert.NotNull(close);
        Assert.Equal(1009, close.CloseCode);
        Assert.Contains("16384", Encoding.UTF8.GetString(close.Payload.AsSpan(2)));
        var rssAfter = Rss();
        attacker.Abort();
        await sender; // its counts are read once it has stopped
        output.WriteLine($"closed with 1009 after {sent:N0} bytes sent ({inflated:N0} inflatable); process RSS {rssBefore / 1e6:0.0} MB -> {rssAfter / 1e6:0.0} MB");
        // The node counted it, and a client that behaves is still served.
        Assert.Matches("(?m)^traffic_client_input_too_large_total(\\{[^}]*\\})? 1$", await service.Http.GetStringAsync("/metrics"));
        await service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { marker = "after" } });
        await bystander.NextAsync(m => m.Type() == "ALERT");
    }

    [Fact]
    public async Task A_plain_message_over_the_limit_closes_the_connection_with_1009_and_one_just_under_it_is_answered()
    {
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SIMULATOR_ENABLED"] = "false",
            ["MAX_CLIENT_MESSAGE_BYTES"] = "1024",
        });
        await using var client = await service.ConnectAsync();
        await client.ExpectGreetingAsync();

        await client.SendAsync(Ping(1024)); // exactly the limit: a command like any other
        await client.NextOfTypeAsync("PONG");

        await client.SendAsync(Ping(1025));
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.MessageTooBig, await client.Closed.WaitAsync(Wait));
    }

    [Fact]
    public async Task A_client_sending_more_bytes_a_second_than_its_budget_is_read_more_slowly_and_loses_nothing()
    {
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SIMULATOR_ENABLED"] = "false",
            ["MAX_CLIENT_MESSAGE_BYTES"] = "1024",
            ["CLIENT_BYTES_PER_SECOND"] = "1024",
        });
        await using var client = await service.ConnectAsync();
        await client.ExpectGreetingAsync();

        // Four messages of 1000 bytes at once: the first fits the budget (one largest message), the
        // others wait for it to refill, about a second each.
        for (var i = 0; i < 4; i++) await client.SendAsync(Ping(1000));
        for (var i = 0; i < 4; i++) await client.NextOfTypeAsync("PONG");

        var paused = Regex.Match(await service.Http.GetStringAsync("/metrics"), "(?m)^traffic_client_input_paused_total(?:\\{[^}]*\\})? (\\d+)$");
        Assert.True(paused.Success);
        Assert.True(long.Parse(paused.Groups[1].Value) >= 3, $"paused {paused.Groups[1].Value} times");
    }

    /// <summary>A ping command padded to exactly <paramref name="bytes"/> bytes.</summary>
    private static string Ping(int bytes)
    {
        const string Start = """{"action":"ping","pad":""";
        const string End = "\"}";
        return Start + "\"" + new string('x', bytes - Start.Length - 1 - End.Length) + End;
    }

    private static long Rss()
    {
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }
}
