using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

[Collection(MetricsCollection.Name)]
public sealed class HeartbeatSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() => _service = await RunningService.StartAsync(new Dictionary<string, string?>
    {
        ["HEARTBEAT_INTERVAL_MS"] = "500",
        ["HEARTBEAT_TIMEOUT_MS"] = "3000",
        ["SIMULATOR_ENABLED"] = "false",
    });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private async Task<int> ClientCount() => (await _service.StatsAsync()).GetProperty("clients").GetInt32();

    [Fact]
    public async Task A_client_that_stops_answering_pings_is_disconnected_while_one_that_answers_stays()
    {
        await using var listener = await _service.ConnectAsync();        // reads, so it answers protocol pings
        await using var frozen = await _service.ConnectAsync(answerPings: false); // never reads, never answers
        await listener.ExpectGreetingAsync();
        await Poll.UntilAsync(async () => await ClientCount() == 2, "both clients registered");

        // The frozen client is ended once silent for more than the timeout (checked every interval),
        // by the connection actor: its termination is counted. (The runtime's own keep-alive timeout,
        // a backstop at twice the timeout, would end it too, but later and uncounted.)
        await Poll.UntilAsync(async () => await ClientCount() < 2, "the frozen client is disconnected");
        Assert.Matches("(?m)^traffic_heartbeat_terminations_total(\\{[^}]*\\})? 1$", await _service.Http.GetStringAsync("/metrics"));
        Assert.False(listener.Closed.IsCompleted, "the listener, which answers pings, was disconnected too");
        Assert.Equal(1, await ClientCount());

        // The listener, which has only answered pings, outlived that same silence and is still served.
        await listener.SendAsync("""{"action":"ping"}""");
        await listener.NextOfTypeAsync("PONG");
        Assert.False(listener.Closed.IsCompleted);
    }
}
