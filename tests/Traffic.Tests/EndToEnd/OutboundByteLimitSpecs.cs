using System.Net;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

[Collection(MetricsCollection.Name)]
[Trait("Speed", "Slow")]
public sealed class OutboundByteLimitSpecs
{
    [Fact]
    public async Task A_client_that_never_reads_is_closed_once_its_queue_holds_too_many_bytes_long_before_too_many_frames()
    {
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SIMULATOR_ENABLED"] = "false",
            ["OUTBOUND_QUEUE_BYTES"] = $"{1024 * 1024}", // 1 MiB; the frame limit stays 1024
        });
        await using var frozen = await service.ConnectAsync("/ws?topics=accidents", answerPings: false);
        await using var reader = await service.ConnectAsync("/ws?topics=weather"); // reads, on another topic
        await reader.ExpectGreetingAsync();
        await Poll.UntilAsync(async () => (await service.StatsAsync()).GetProperty("clients").GetInt32() == 2, "both clients registered");

        // 256 KB ALERTs until the frozen client is gone: the socket buffers take some megabytes
        // first, then 1 MiB of queue (a handful of frames, far from 1024) closes it.
        var padding = new string('x', 256 * 1024);
        var published = 0;
        await Poll.UntilAsync(async () =>
        {
            var response = await service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { padding } });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            published++;
            return (await service.StatsAsync()).GetProperty("clients").GetInt32() == 1;
        }, "the frozen client is closed");

        Assert.True(published < 200, $"{published} ALERTs of 256 KB were needed");
        // The exporter caches a scrape for a moment: wait for one taken after the refusal.
        var dropped = new System.Text.RegularExpressions.Regex("(?m)^traffic_messages_dropped_total\\{[^}]*topic=\"accidents\"[^}]*\\} [1-9]");
        await Poll.UntilAsync(async () => dropped.IsMatch(await service.Http.GetStringAsync("/metrics")), "the refused frames counted as dropped");
        await service.PublishAsync(new { type = "UPDATE", topic = "weather", data = new { marker = "still-served" } });
        await reader.NextAsync(m => m.Type() == "UPDATE");
    }
}
