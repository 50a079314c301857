using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

[Collection(MetricsCollection.Name)]
[Trait("Speed", "Slow")]
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

    [Fact]
    public async Task Clients_that_never_answer_a_PING_but_send_messages_or_unsolicited_PONGs_stay_connected()
    {
        // docs/protocol.md: any frame from the client is a sign of life. Until 2026-12 the WebSocket
        // runtime's own PONG timeout (2 x timeout + interval, 6.5 s here) cut both of these off.
        await using var talker = await RawWebSocket.ConnectAsync(_service.BaseAddress);
        await using var ponger = await RawWebSocket.ConnectAsync(_service.BaseAddress);
        foreach (var raw in new[] { talker, ponger })
        {
            await raw.SendAsync(RawWebSocket.UpgradeRequest(_service.BaseAddress, "/ws?topics=accidents"));
            Assert.Equal(101, RawWebSocket.StatusOf(await raw.ReadHeadAsync(TimeSpan.FromSeconds(20))));
        }
        await Poll.UntilAsync(async () => await ClientCount() == 2, "both clients registered");

        var ping = RawWebSocket.Frame(RawFrame.Text, """{"action":"ping"}"""u8);
        var pong = RawWebSocket.Frame(RawFrame.Pong, "alive"u8);
        var pings = 0;
        var started = DateTime.UtcNow;
        // The clients' own pace (an interval apart), for more than twice the heartbeat timeout.
        while (DateTime.UtcNow - started < TimeSpan.FromSeconds(8))
        {
            Assert.True(await talker.SendAsync(ping), "the client that sends messages was disconnected");
            Assert.True(await ponger.SendAsync(pong), "the client that sends unsolicited PONGs was disconnected");
            pings++;
            await Task.Delay(500);
        }

        // The talker had a PONG for each ping; nobody was closed, nothing terminated for silence.
        for (var pongs = 0; pongs < pings; pongs++)
        {
            var frame = await talker.ReadUntilAsync(f => f.Opcode == RawFrame.Text && f.PayloadText.Contains("\"PONG\""), TimeSpan.FromSeconds(20));
            Assert.NotNull(frame);
            Assert.NotEqual(RawFrame.Close, frame.Opcode);
        }
        Assert.Equal(2, await ClientCount());
        Assert.Matches("(?m)^traffic_heartbeat_terminations_total(\\{[^}]*\\})? 0$", await _service.Http.GetStringAsync("/metrics"));
    }
}
