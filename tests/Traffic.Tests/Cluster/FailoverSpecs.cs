using System.Diagnostics;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Traffic.Actors.Sources;
using Traffic.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Traffic.Tests.Cluster;

/// <summary>
/// The aggregator singleton moves when the node that holds it (the oldest, the first started)
/// leaves or crashes, and scheduled UPDATEs resume on the others. Each spec has its own three nodes.
/// </summary>
[Collection(LocalCluster.Name)]
[Trait("Speed", "Slow")]
public sealed class FailoverSpecs(ITestOutputHelper output)
{
    private static readonly TimeSpan AccidentsInterval = TimeSpan.FromMilliseconds(300);

    private static Task<LocalCluster> StartAsync() =>
        LocalCluster.StartAsync(3, new Dictionary<string, string?> { ["UPDATE_INTERVALS_MS"] = $"accidents={(int)AccidentsInterval.TotalMilliseconds}" });

    /// <summary>The member that becomes the oldest once <paramref name="leaving"/> is gone: where the singleton goes next.</summary>
    private static string NextOldest(RunningService observer, RunningService leaving)
    {
        var gone = LocalCluster.AddressOf(leaving);
        return Akka.Cluster.Cluster.Get(observer.System).State.Members
            .Where(m => m.Address != gone && m.Status == Akka.Cluster.MemberStatus.Up)
            .OrderBy(m => m, Akka.Cluster.Member.AgeOrdering).First().Address.ToString();
    }

    private static Task<TimeSpan> LongestSilenceAsync(TestClient client, RunningService observer, string newHome, TimeSpan within) =>
        client.LongestUpdateGapAsync("accidents", async () => await LocalCluster.AggregatorSeenByAsync(observer) == newHome, within);

    [Fact]
    public async Task When_the_singletons_node_leaves_its_clients_are_told_to_reconnect_and_updates_go_on_from_the_next_oldest()
    {
        await using var cluster = await StartAsync();
        var (leaving, next, last) = (cluster[0], cluster[1], cluster[2]);
        Assert.Equal(LocalCluster.AddressOf(leaving).ToString(), await LocalCluster.AggregatorSeenByAsync(last));

        var onLeaving = await leaving.ConnectAsync("/ws?topics=accidents");
        await using var onNext = await next.ConnectAsync("/ws?topics=accidents");
        await using var onLast = await last.ConnectAsync("/ws?topics=accidents");
        foreach (var client in new[] { onLeaving, onNext, onLast })
        {
            await client.ExpectGreetingAsync();
            await client.NextAsync(m => m.IsUpdateOf("accidents"));
        }

        var newHome = NextOldest(last, leaving);
        var silence = LongestSilenceAsync(onNext, last, newHome, TimeSpan.FromSeconds(45));
        var stopping = leaving.DisposeAsync().AsTask(); // SIGTERM's path: ApplicationStopping, then a graceful cluster leave

        var status = await onLeaving.Closed.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1012, (int?)status); // service restart: reconnect elsewhere
        await onLeaving.DisposeAsync();

        var longest = await silence;
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        cluster.Nodes.Remove(leaving);
        output.WriteLine($"graceful leave: scheduled UPDATEs paused at most {longest.TotalSeconds:0.0} s while the singleton moved " +
                         $"(accidents every {AccidentsInterval.TotalMilliseconds} ms)");
        await onLast.NextAsync(m => m.IsUpdateOf("accidents")); // the other survivor too
        Assert.Equal(newHome, await LocalCluster.AggregatorSeenByAsync(next));

        // A client that reconnects to a survivor gets the whole city at once.
        await using var reconnected = await next.ConnectAsync("/ws?topics=accidents");
        var (_, snapshot) = await reconnected.ExpectGreetingAsync();
        Assert.True(snapshot.GetProperty("data").GetProperty("cameras").GetArrayLength() > 0);
    }

    [Fact]
    public async Task When_the_singletons_node_crashes_it_is_downed_and_updates_resume_on_the_survivors()
    {
        await using var cluster = await StartAsync();
        var (crashing, survivor1, survivor2) = (cluster[0], cluster[1], cluster[2]);
        Assert.Equal(LocalCluster.AddressOf(crashing).ToString(), await LocalCluster.AggregatorSeenByAsync(survivor1));

        await using var on1 = await survivor1.ConnectAsync("/ws?topics=accidents");
        await using var on2 = await survivor2.ConnectAsync("/ws?topics=accidents");
        foreach (var client in new[] { on1, on2 })
        {
            await client.ExpectGreetingAsync();
            await client.NextAsync(m => m.IsUpdateOf("accidents"));
        }

        var newHome = NextOldest(survivor1, crashing);
        var crashedAddress = LocalCluster.AddressOf(crashing);
        var silence = LongestSilenceAsync(on1, survivor2, newHome, TimeSpan.FromSeconds(60));
        await cluster.Crash(crashing);

        // While the crashed node waits to be downed, the survivors stay ready for the load balancer.
        await Poll.UntilAsync(() =>
        {
            var state = Akka.Cluster.Cluster.Get(survivor1.System).State;
            return Task.FromResult(state.Unreachable.Any(m => m.Address == crashedAddress) || state.Members.All(m => m.Address != crashedAddress));
        }, "the survivors find the crashed node unreachable", TimeSpan.FromSeconds(30));
        Assert.Equal(System.Net.HttpStatusCode.OK, (await survivor1.Http.GetAsync("/health/ready")).StatusCode);

        // Unreachable (failure detector), downed after stable-after (split brain resolver, keep-majority),
        // then the singleton starts on the oldest survivor and its timers run again.
        var longest = await silence;
        output.WriteLine($"crash: scheduled UPDATEs stopped for {longest.TotalSeconds:0.0} s " +
                         $"(stable-after {LocalCluster.StableAfter.TotalSeconds} s, accidents every {AccidentsInterval.TotalMilliseconds} ms)");
        await on2.NextAsync(m => m.IsUpdateOf("accidents"));

        var survivors = Akka.Cluster.Cluster.Get(survivor1.System).State;
        Assert.DoesNotContain(survivors.Members, m => m.Address == crashedAddress);
        Assert.Equal(newHome, await LocalCluster.AggregatorSeenByAsync(survivor1));

        // Publishing still reaches both survivors.
        await survivor2.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { marker = "after-crash" } });
        await on1.NextAsync(m => m.Carries("after-crash"));
        await on2.NextAsync(m => m.Carries("after-crash"));
    }

    /// <summary>
    /// The city after a fail-over is the city before: the new aggregator starts from its node's
    /// replica and sends the accidents UPDATE at once (the interval here is ten minutes, so any
    /// accidents UPDATE after the move is that first one), and the simulated feed continues the same
    /// city (same clock origin, steps going on; the same accidents, by id and date) instead of
    /// starting again from its seed (which gives the same ids with other dates).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task After_a_fail_over_the_city_goes_on_where_it_was_and_the_first_update_goes_out_at_once(bool crash)
    {
        await using var cluster = await LocalCluster.StartAsync(3, new Dictionary<string, string?>
        {
            ["UPDATE_INTERVALS_MS"] = "accidents=600000",
            ["SIMULATOR_STEP_MS"] = "500",
        });
        var (home, survivor1, survivor2) = (cluster[0], cluster[1], cluster[2]);
        Assert.Equal(LocalCluster.AddressOf(home).ToString(), await LocalCluster.AggregatorSeenByAsync(survivor1));

        // A replica may sync before the feed's first fill reaches the aggregator: wait until it has the city.
        TestClient? client = null;
        var before = new Dictionary<string, string>();
        await Poll.UntilAsync(async () =>
        {
            if (client is not null) await client.DisposeAsync();
            client = await survivor1.ConnectAsync("/ws?topics=accidents");
            var (_, snapshot) = await client.ExpectGreetingAsync();
            before = Accidents(snapshot.GetProperty("data").GetProperty("accidents"));
            return before.Count > 0;
        }, "a survivor's replica has the city", TimeSpan.FromSeconds(30));
        await using var _ = client!;
        var clockBefore = await ClockSeenByAsync(survivor1);
        Assert.NotNull(clockBefore);

        var newHome = NextOldest(survivor1, home);
        var watch = Stopwatch.StartNew();
        if (crash) await cluster.Crash(home);
        else
        {
            await home.DisposeAsync(); // SIGTERM's path: a graceful leave and hand-over
            cluster.Nodes.Remove(home);
        }

        var first = await client!.NextAsync(m => m.IsUpdateOf("accidents"), TimeSpan.FromSeconds(60));
        output.WriteLine($"{(crash ? "crash" : "graceful leave")}: first accidents UPDATE on a survivor {watch.Elapsed.TotalSeconds:0.0} s after the node went");
        AssertSameCity(before, Accidents(first.GetProperty("data")));
        Assert.Equal(newHome, await LocalCluster.AggregatorSeenByAsync(survivor2));

        // The feed continues the same clock on the new node.
        await Poll.UntilAsync(async () => await ClockSeenByAsync(survivor2) is { } now && now.Step > clockBefore.Step + 2,
            "the feed steps again after the fail-over", TimeSpan.FromSeconds(60));
        Assert.Equal(clockBefore.OriginUtcTicks, (await ClockSeenByAsync(survivor2))!.OriginUtcTicks);

        // And what it filled the new aggregator with is the same city.
        await using var late = await survivor2.ConnectAsync("/ws?topics=accidents");
        var (_, lateSnapshot) = await late.ExpectGreetingAsync();
        AssertSameCity(before, Accidents(lateSnapshot.GetProperty("data").GetProperty("accidents")));
    }

    private static Dictionary<string, string> Accidents(JsonElement list) =>
        list.EnumerateArray().ToDictionary(a => a.GetProperty("id").GetString()!, a => a.GetProperty("accidentDate").GetString()!);

    /// <summary>Accidents come and go, but one that is in both lists is the same accident, and some are in both.</summary>
    private static void AssertSameCity(Dictionary<string, string> before, Dictionary<string, string> after)
    {
        var common = before.Keys.Intersect(after.Keys).ToList();
        Assert.NotEmpty(common);
        Assert.All(common, id => Assert.Equal(before[id], after[id]));
    }

    private static async Task<SimulationClock?> ClockSeenByAsync(RunningService node) =>
        (await ActorRegistry.For(node.System).Get<SimulationClockReplicaActor>()
            .Ask<SimulationClockCommands.Latest>(SimulationClockCommands.GetLatest.Instance, TimeSpan.FromSeconds(10))).Clock;
}
