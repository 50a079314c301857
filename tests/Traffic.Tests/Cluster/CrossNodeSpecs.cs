using System.Net;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Cluster;

/// <summary>Three nodes in this process, started once for these specs (simulated city on, accidents every 400 ms).</summary>
public sealed class ThreeNodes : IAsyncLifetime
{
    public static readonly TimeSpan AccidentsInterval = TimeSpan.FromMilliseconds(400);

    public LocalCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Cluster = await LocalCluster.StartAsync(3, new Dictionary<string, string?>
        {
            ["UPDATE_INTERVALS_MS"] = $"accidents={(int)AccidentsInterval.TotalMilliseconds}",
        });

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[Collection(LocalCluster.Name)]
[Trait("Speed", "Slow")]
public sealed class CrossNodeSpecs(ThreeNodes fixture) : IClassFixture<ThreeNodes>
{
    private LocalCluster Cluster => fixture.Cluster;

    /// <summary>
    /// Publishes warm-up markers from <paramref name="origin"/> until every client has one: DistributedPubSub
    /// takes a second or two to learn of the subscribers on other nodes.
    /// </summary>
    private static async Task WarmUpAsync(RunningService origin, IReadOnlyList<TestClient> clients, string topic)
    {
        var n = 0;
        await Poll.UntilAsync(async () =>
        {
            var marker = $"warm-{origin.BaseAddress.Port}-{++n}";
            await origin.PublishAsync(new { type = "ALERT", topic, data = new { marker } });
            foreach (var client in clients)
            {
                try { await client.NextAsync(m => m.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.Object &&
                          d.TryGetProperty("marker", out var mk) && mk.GetString()!.StartsWith($"warm-{origin.BaseAddress.Port}-"), TimeSpan.FromMilliseconds(500)); }
                catch (Xunit.Sdk.XunitException) { return false; }
            }
            return true;
        }, $"a publish from {origin.BaseAddress} reaches every node's subscribers", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_publish_on_any_node_reaches_every_subscriber_on_every_node_exactly_once()
    {
        var accidents = new List<TestClient>();
        foreach (var node in Cluster.Nodes) accidents.Add(await node.ConnectAsync("/ws?topics=accidents"));
        var camerasOnly = await Cluster[1].ConnectAsync("/ws?topics=cameras");
        try
        {
            foreach (var client in accidents.Append(camerasOnly)) await client.ExpectGreetingAsync();
            await WarmUpAsync(Cluster[2], accidents, "accidents");
            await WarmUpAsync(Cluster[0], accidents, "accidents");

            // One to a topic from the third node, one to everyone from the first; each followed by a
            // marker from the same node, which cannot overtake it (per-node order is kept).
            Assert.Equal(HttpStatusCode.Accepted, (await Cluster[2].PublishAsync(new { type = "ALERT", topic = "accidents", data = new { marker = "crash-1" } })).StatusCode);
            await Cluster[2].PublishAsync(new { type = "ALERT", data = new { marker = "end-2" } });
            Assert.Equal(HttpStatusCode.Accepted, (await Cluster[0].PublishAsync(new { type = "UPDATE", topic = "all", data = new { marker = "all-1" } })).StatusCode);
            await Cluster[0].PublishAsync(new { type = "ALERT", data = new { marker = "end-0" } });

            foreach (var client in accidents.Append(camerasOnly))
            {
                await client.NextAsync(m => m.Carries("end-2"));
                if (!client.Seen.Any(m => m.Carries("end-0"))) await client.NextAsync(m => m.Carries("end-0"));
                Assert.Equal(1, client.Seen.Count(m => m.Carries("all-1")));
                Assert.Equal(1, client.Seen.Count(m => m.Carries("end-0")));
                Assert.Equal(1, client.Seen.Count(m => m.Carries("end-2")));
            }
            foreach (var client in accidents)
            {
                var crash = Assert.Single(client.Seen, m => m.Carries("crash-1"));
                Assert.Equal("ALERT", crash.Type());
                Assert.Equal("accidents", crash.GetProperty("topic").GetString());
            }
            Assert.DoesNotContain(camerasOnly.Seen, m => m.Carries("crash-1"));
        }
        finally
        {
            foreach (var client in accidents.Append(camerasOnly)) await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Scheduled_updates_come_from_one_aggregator_and_every_node_serves_the_whole_snapshot()
    {
        var clients = new List<TestClient>();
        foreach (var node in Cluster.Nodes) clients.Add(await node.ConnectAsync("/ws?topics=accidents"));
        try
        {
            foreach (var client in clients)
            {
                var (_, snapshot) = await client.ExpectGreetingAsync();
                // The local replica's SNAPSHOT holds the simulated city, on every node.
                Assert.True(snapshot.GetProperty("data").GetProperty("cameras").GetArrayLength() > 0);
                Assert.True(snapshot.GetProperty("data").GetProperty("weather").GetArrayLength() > 0);
            }

            // Six scheduled accidents UPDATEs in a row on each node. With an aggregator per node they
            // would come in bursts of three with the same timestamp, the six within about one interval;
            // from the one singleton, five intervals apart. The bound leaves room for a late tick on a
            // loaded machine: the schedule is at a fixed rate, so a tick 384 ms late is followed by one
            // 12 ms after it (seen in a full suite run), which a bound on each gap took for a second aggregator.
            foreach (var client in clients)
            {
                var times = new List<DateTimeOffset>();
                for (var i = 0; i < 6; i++) times.Add((await client.NextAsync(m => m.IsUpdateOf("accidents"))).Timestamp());
                var gaps = times.Zip(times.Skip(1), (a, b) => b - a).ToList();
                Assert.True(times[^1] - times[0] >= ThreeNodes.AccidentsInterval * 3,
                    $"six UPDATEs within {(times[^1] - times[0]).TotalMilliseconds} ms: {string.Join(", ", gaps.Select(g => g.TotalMilliseconds))} ms apart");
                Assert.True(gaps.Count(gap => gap < ThreeNodes.AccidentsInterval / 2) <= 1,
                    $"UPDATEs in bursts: {string.Join(", ", gaps.Select(g => g.TotalMilliseconds))} ms apart");
            }
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Stats_answer_for_the_node_and_for_the_whole_cluster()
    {
        var a = await Cluster[0].ConnectAsync("/ws?topics=cameras,weather");
        var b = await Cluster[1].ConnectAsync("/ws");
        var c = await Cluster[1].ConnectAsync("/ws?topics=weather");
        try
        {
            foreach (var client in new[] { a, b, c }) await client.ExpectGreetingAsync();

            var node1 = await Cluster[1].StatsAsync();
            Assert.Equal(2, node1.GetProperty("clients").GetInt32());
            Assert.Equal(2, node1.GetProperty("topics").GetProperty("weather").GetInt32());
            Assert.Equal(LocalCluster.AddressOf(Cluster[1]).ToString(), node1.GetProperty("node").GetString());

            // Any node answers for all: per node and in total.
            var all = await Cluster[2].StatsAsync("?scope=cluster");
            Assert.Equal(3, all.GetProperty("clients").GetInt32());
            Assert.Equal(3, all.GetProperty("topics").GetProperty("weather").GetInt32());
            Assert.Equal(2, all.GetProperty("topics").GetProperty("cameras").GetInt32());
            Assert.Equal(1, all.GetProperty("topics").GetProperty("accidents").GetInt32());
            var nodes = all.GetProperty("nodes").EnumerateArray().ToList();
            Assert.Equal(3, nodes.Count);
            Assert.All(nodes, n => Assert.Equal("up", n.GetProperty("status").GetString()));
            var byAddress = nodes.ToDictionary(n => n.GetProperty("node").GetString()!, n => n.GetProperty("clients").GetInt32());
            Assert.Equal(1, byAddress[LocalCluster.AddressOf(Cluster[0]).ToString()]);
            Assert.Equal(2, byAddress[LocalCluster.AddressOf(Cluster[1]).ToString()]);
            Assert.Equal(0, byAddress[LocalCluster.AddressOf(Cluster[2]).ToString()]);
            // The aggregator runs on the oldest node: the first one started.
            Assert.Equal(LocalCluster.AddressOf(Cluster[0]).ToString(), all.GetProperty("aggregator").GetString());

            var bad = await Cluster[0].Http.GetAsync("/api/stats?scope=galaxy");
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }
        finally
        {
            foreach (var client in new[] { a, b, c }) await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Metrics_are_exposed_in_prometheus_format_with_the_cluster_members()
    {
        await using var client = await Cluster[2].ConnectAsync("/ws?topics=accidents");
        await client.ExpectGreetingAsync();
        await client.NextAsync(m => m.IsUpdateOf("accidents"));

        string text = "";
        await Poll.UntilAsync(async () =>
        {
            text = await Cluster[2].Http.GetStringAsync("/metrics");
            return text.Contains("traffic_cluster_members") && text.Contains("traffic_messages_delivered");
        }, "/metrics lists the cluster and the deliveries");
        Assert.Contains("traffic_connections", text);
        Assert.Contains("traffic_subscribers", text);
        Assert.Matches("traffic_cluster_members[^\\n]*status=\"up\"[^\\n]* 3", text);
        Assert.Matches("traffic_messages_delivered[^\\n]*topic=\"accidents\"", text);
    }
}
