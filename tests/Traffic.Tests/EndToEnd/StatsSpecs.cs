using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

public sealed class StatsSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private static int Subscribers(JsonElement stats, string topic) => stats.GetProperty("topics").GetProperty(topic).GetInt32();

    [Fact]
    public async Task Stats_count_clients_and_subscribers_per_topic_through_connects_and_disconnects()
    {
        var empty = await _service.StatsAsync();
        Assert.Equal(0, empty.GetProperty("clients").GetInt32());

        await using var all = await _service.ConnectAsync();
        var cameras = await _service.ConnectAsync("/ws?topics=cameras,weather");
        await all.ExpectGreetingAsync();
        await cameras.ExpectGreetingAsync();

        var stats = await _service.StatsAsync();
        Assert.Equal(2, stats.GetProperty("clients").GetInt32());
        Assert.Equal(2, Subscribers(stats, "cameras"));
        Assert.Equal(2, Subscribers(stats, "weather"));
        Assert.Equal(1, Subscribers(stats, "airQuality"));
        Assert.Equal(1, Subscribers(stats, "congestion"));

        await cameras.SendAsync("""{"action":"unsubscribe","topics":["weather"]}""");
        await cameras.NextOfTypeAsync("UNSUBSCRIBED");
        Assert.Equal(1, Subscribers(await _service.StatsAsync(), "weather"));

        await cameras.DisposeAsync();
        await Poll.UntilAsync(async () => (await _service.StatsAsync()).GetProperty("clients").GetInt32() == 1, "the closed client is forgotten");
        stats = await _service.StatsAsync();
        Assert.Equal(1, Subscribers(stats, "cameras"));
    }

    [Fact]
    public async Task Health_answers_live_and_ready_with_their_json_bodies()
    {
        foreach (var path in new[] { "/health", "/health/live" })
        {
            var live = await _service.Http.GetAsync(path);
            Assert.Equal(200, (int)live.StatusCode);
            Assert.Equal("""{"status":"ok"}""", await live.Content.ReadAsStringAsync());
        }

        var ready = await _service.Http.GetAsync("/health/ready");
        Assert.Equal(200, (int)ready.StatusCode);
        Assert.Equal("application/json", ready.Content.Headers.ContentType?.MediaType);
        Assert.Equal("""{"status":"ready","persistence":"none"}""", await ready.Content.ReadAsStringAsync()); // one node, its sequencer started
    }
}
