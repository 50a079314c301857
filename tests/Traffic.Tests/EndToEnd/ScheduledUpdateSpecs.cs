using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

public sealed class ScheduledUpdateSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() => _service = await RunningService.StartAsync(new Dictionary<string, string?>
    {
        // Short schedules for cameras and weather; the others stay at their default intervals (the original topic table).
        ["UPDATE_INTERVALS_MS"] = "cameras=200,weather=200",
    });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task Scheduled_updates_arrive_for_subscribed_topics_and_not_for_others()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=cameras");
        await client.ExpectGreetingAsync();

        for (var i = 0; i < 3; i++)
        {
            var update = await client.NextAsync();
            Assert.Equal("UPDATE", update.Type());
            Assert.Equal("cameras", update.GetProperty("topic").GetString());
            Assert.True(update.GetProperty("data").GetArrayLength() >= 50, "an UPDATE carries the topic's whole list");
        }
        // weather runs on the same 200 ms schedule, so three cameras UPDATEs without one weather
        // message show that it is filtered, not late.

        await client.SendAsync("""{"action":"subscribe","topics":["weather"]}""");
        var ack = await client.NextOfTypeAsync("SUBSCRIBED");
        Assert.Equal(["cameras", "weather"], ack.GetProperty("subscriptions").Strings());
        await client.NextAsync(m => m.Type() == "UPDATE" && m.GetProperty("topic").GetString() == "weather");

        await client.SendAsync("""{"action":"unsubscribe","topics":["cameras"]}""");
        await client.NextOfTypeAsync("UNSUBSCRIBED");
        for (var i = 0; i < 3; i++)
            Assert.Equal("weather", (await client.NextAsync()).GetProperty("topic").GetString());
    }
}
