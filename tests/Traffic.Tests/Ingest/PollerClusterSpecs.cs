using Traffic.Tests.Support;
using Xunit;
using static Traffic.Tests.Ingest.IngestPayloads;

namespace Traffic.Tests.Ingest;

/// <summary>
/// One poller per cluster: in a cluster of three nodes fed by a polled broker, exactly one node lists the broker (the fake
/// broker's request log shows it: each request names its node in the User-Agent); when that node crashes, polling moves to
/// another node, which resumes from the aggregator's state: no accident is alerted twice, a new one is alerted once.
/// </summary>
[Collection(LocalCluster.Name)]
[Trait("Speed", "Slow")]
public sealed class PollerClusterSpecs
{
    private const string Type = "RoadAccident";

    private static string Id(int i) => $"urn:ngsi-ld:RoadAccident:C{i}";

    private static string Accident(int i, string severity) =>
        $$$"""{"id":"{{{Id(i)}}}","type":"RoadAccident","severity":"{{{severity}}}","status":"onGoing","description":"Accident {{{i}}}"}""";

    private static string UserAgentOf(RunningService node)
    {
        var address = LocalCluster.AddressOf(node);
        return $"hcmc-traffic-realtime (node {address.Host}:{address.Port})";
    }

    private static bool IsAlertFor(System.Text.Json.JsonElement m, string id) =>
        m.Type() == "ALERT" && m.GetProperty("data").GetProperty("id").GetString() == id;

    [Fact]
    public async Task Exactly_one_node_polls_and_polling_moves_when_it_crashes_with_no_alert_twice()
    {
        await using var broker = await FakeNgsiLdBroker.StartAsync();
        broker.Put(Type, Id(1), Accident(1, "medium"));
        broker.Put(Type, Id(2), Accident(2, "high"));
        await using var cluster = await LocalCluster.StartAsync(3, NgsiLdOnly(new Dictionary<string, string?>
        {
            ["NGSI_LD_BROKER_URL"] = broker.BaseAddress.ToString(),
            ["NGSI_LD_PAGE_SIZE"] = "2",
            ["NGSI_LD_TIMEOUT_MS"] = "5000",
            ["NGSI_LD_BACKOFF_MIN_MS"] = "100",
            ["NGSI_LD_BACKOFF_MAX_MS"] = "400",
        }));
        var (home, next, watcher) = (cluster[0], cluster[1], cluster[2]);
        await using var client = await watcher.ConnectAsync("/ws?topics=accidents");
        await client.ExpectGreetingAsync();
        await client.NextAsync(m => m.IsUpdateOf("accidents") && EntityIn(m, Id(2)) is not null, TimeSpan.FromSeconds(30));

        broker.Put(Type, Id(3), Accident(3, "critical"));
        await client.NextAsync(m => IsAlertFor(m, Id(3)), TimeSpan.FromSeconds(30));
        await CompletePollsAsync(broker, 3);
        // Exactly one node polled, the oldest (where the singletons start).
        Assert.Equal([UserAgentOf(home)], broker.Requests.Select(r => r.UserAgent).Distinct());

        var homeAgent = UserAgentOf(home);
        await cluster.Crash(home);
        // A new accident while no node polls: the next poller's first listing holds it, and it is news (the poller
        // resumes from the aggregator's state: its first listing is not taken for a cold start's load).
        broker.Put(Type, Id(4), Accident(4, "severe"));
        await Poll.UntilAsync(() => Task.FromResult(broker.Requests.Any(r => r.UserAgent != homeAgent)), "polling moved to another node",
            TimeSpan.FromSeconds(90));
        var movedAt = broker.Requests.TakeWhile(r => r.UserAgent == homeAgent).Count();

        await client.NextAsync(m => IsAlertFor(m, Id(4)), TimeSpan.FromSeconds(30));
        await CompletePollsAsync(broker, 3);
        var update = await client.NextAsync(m => m.IsUpdateOf("accidents") && EntityIn(m, Id(4)) is not null);
        Assert.Equal([Id(1), Id(2), Id(3), Id(4)], update.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("id").GetString()));

        // After the move too, one node polls (one of the survivors), and every accident was alerted at most once:
        // C2 (there at the cold start: a load, not news) never, C3 and C4 once each.
        var after = broker.Requests.Skip(movedAt).Select(r => r.UserAgent).Distinct().ToArray();
        Assert.Single(after);
        Assert.Contains(after[0], new[] { UserAgentOf(next), UserAgentOf(watcher) });
        Assert.Single(client.Seen, m => IsAlertFor(m, Id(3)));
        Assert.Single(client.Seen, m => IsAlertFor(m, Id(4)));
        Assert.Equal(2, client.Seen.Count(m => m.Type() == "ALERT"));
    }

    private static Task CompletePollsAsync(FakeNgsiLdBroker broker, int polls)
    {
        var before = broker.Requests.Count(r => r.Type == Type && r.Offset == 0);
        return Poll.UntilAsync(() => Task.FromResult(broker.Requests.Count(r => r.Type == Type && r.Offset == 0) >= before + polls + 1),
            $"{polls} more complete polls", TimeSpan.FromSeconds(30));
    }
}
