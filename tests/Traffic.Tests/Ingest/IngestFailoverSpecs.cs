using System.Net;
using Traffic.Tests.Support;
using Xunit;
using static Traffic.Tests.Ingest.IngestPayloads;

namespace Traffic.Tests.Ingest;

/// <summary>
/// In a cluster a notification may arrive at any node; the aggregator singleton owns the state, and a
/// crash of its node loses no entity that arrived only by notification (the new aggregator starts
/// from the replicas, which every upsert reached).
/// </summary>
[Collection(LocalCluster.Name)]
[Trait("Speed", "Slow")]
public sealed class IngestFailoverSpecs
{
    [Fact]
    public async Task Entities_notified_at_any_node_survive_the_crash_of_the_aggregators_node()
    {
        await using var cluster = await LocalCluster.StartAsync(3, NgsiLdOnly());
        await cluster.WaitUntilReadyAsync();
        var (home, watcher, entry) = (cluster[0], cluster[1], cluster[2]);
        Assert.Equal(LocalCluster.AddressOf(home).ToString(), await LocalCluster.AggregatorSeenByAsync(watcher));

        await using var client = await watcher.ConnectAsync("/ws?topics=accidents,cameras");
        await client.ExpectGreetingAsync();
        var response = await entry.NotifyAsync(Read("notification-normalized.json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        const string accident = "urn:ngsi-ld:RoadAccident:HCMC-20261129-0042";
        await client.NextAsync(m => m.Type() == "ALERT" && m.GetProperty("data").GetProperty("id").GetString() == accident);
        await client.NextAsync(m => m.IsUpdateOf("accidents") && EntityIn(m, accident) is not null);

        var homeAddress = LocalCluster.AddressOf(home).ToString();
        await cluster.Crash(home);
        await Poll.UntilAsync(async () => await LocalCluster.AggregatorSeenByAsync(watcher) is { } now && now != homeAddress,
            "the aggregator singleton moved", TimeSpan.FromSeconds(60));

        // The moved aggregator's UPDATEs still hold what only a notification brought.
        var after = await client.NextAsync(m => m.IsUpdateOf("accidents") && EntityIn(m, accident) is not null, TimeSpan.FromSeconds(30));
        Assert.Equal("high", EntityIn(after, accident)!.Value.GetProperty("severity").GetString());
        await client.NextAsync(m => m.IsUpdateOf("cameras") && EntityIn(m, "urn:ngsi-ld:Camera:CAM-D1-017") is not null);
        Assert.Single(client.Seen, m => m.Type() == "ALERT"); // the new aggregator raises nothing again

        // And new notifications reach the new aggregator.
        Assert.Equal(HttpStatusCode.OK, (await entry.NotifyAsync(Notification(
            """{"id":"urn:ngsi-ld:Camera:AFTER","type":"Camera","name":"Camera after the move"}"""))).StatusCode);
        await client.NextAsync(m => m.IsUpdateOf("cameras") && EntityIn(m, "urn:ngsi-ld:Camera:AFTER") is not null, TimeSpan.FromSeconds(30));
    }
}
