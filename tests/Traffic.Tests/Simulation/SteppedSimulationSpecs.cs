using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;
using Traffic.Actors.Sources;
using Traffic.Actors.Sources.Simulation;
using Traffic.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Traffic.Tests.Simulation;

/// <summary>
/// The simulated city moves on a fixed grid of steps, so a new feed (after a fail-over) that knows
/// only the seed and the clock (origin, steps taken) continues the same city.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class SteppedSimulationSpecs(ITestOutputHelper output) : TestKit(VirtualTime.Config)
{
    private const int Seed = 20251129;
    private static readonly DateTimeOffset Origin = new(2025, 5, 31, 17, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);

    private static string City(CitySimulation city) =>
        string.Concat(Topics.Every.Select(t => t.WireName() + "=" + string.Join(",", city.Current(t).Select(e => e.ToJsonString())) + "\n"));

    [Fact]
    public void A_city_resumed_from_its_clock_is_the_city_that_took_those_steps()
    {
        var running = new SteppedSimulation(Seed, Origin, Step);
        // Timers fire late and unevenly: the steps stay on the grid.
        foreach (var late in new[] { 5.2, 9.9, 17.0, 20.4, 400.0, 2_000.3 }) running.AdvanceTo(Origin + TimeSpan.FromSeconds(late));
        Assert.Equal(2_000 / 5, running.Steps);

        var resumed = SteppedSimulation.Resume(Seed, running.Clock, Step);
        Assert.Equal(City(running.City), City(resumed.City));
        Assert.NotEqual(City(new CitySimulation(Seed, Origin + TimeSpan.FromSeconds(2_000))), City(resumed.City)); // not the seed's city again

        // And both go on alike, alerts included.
        var next = Origin + TimeSpan.FromMinutes(45);
        var a = running.AdvanceTo(next);
        var b = resumed.AdvanceTo(next);
        Assert.Equal(a.ChangedTopics, b.ChangedTopics);
        Assert.Equal(a.Alerts.Select(x => x.Data.ToJsonString()), b.Alerts.Select(x => x.Data.ToJsonString()));
        Assert.Equal(City(running.City), City(resumed.City));
    }

    [Fact]
    public void The_steps_a_fail_over_missed_are_taken_and_their_alerts_raised()
    {
        var stepwise = new SteppedSimulation(Seed, Origin, Step);
        var alerts = new List<string>();
        for (var i = 1; i <= 2_000; i++) alerts.AddRange(stepwise.AdvanceTo(Origin + Step * i).Alerts.Select(x => x.Data.ToJsonString()));
        Assert.NotEmpty(alerts); // about 3 hours of city: several severe accidents

        var resumed = SteppedSimulation.Resume(Seed, new SimulationClock(Origin.UtcTicks, 1_000), Step);
        var missed = resumed.AdvanceTo(Origin + Step * 2_000);

        var reference = new SteppedSimulation(Seed, Origin, Step);
        reference.AdvanceTo(Origin + Step * 1_000);
        var expected = reference.AdvanceTo(Origin + Step * 2_000).Alerts.Select(x => x.Data.ToJsonString()).ToList();
        Assert.Equal(expected, missed.Alerts.Select(x => x.Data.ToJsonString()));
        Assert.Equal(City(stepwise.City), City(resumed.City));
    }

    [Fact]
    public void Replaying_a_day_of_steps_is_measured()
    {
        var watch = Stopwatch.StartNew();
        var resumed = SteppedSimulation.Resume(Seed, new SimulationClock(Origin.UtcTicks, 24 * 60 * 60 / 5), Step);
        watch.Stop();
        Assert.Equal(17_280, resumed.Steps);
        output.WriteLine($"replayed {resumed.Steps} steps (a day at 5 s) in {watch.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public void The_feed_singleton_continues_from_its_nodes_clock_and_publishes_its_own()
    {
        var scheduler = (TestScheduler)Sys.Scheduler;
        var aggregator = CreateTestProbe();
        var mediator = CreateTestProbe();
        var clockReplica = CreateTestProbe();
        var settings = new SimulationSettings(Seed, Step);
        var clock = new SimulationClock((scheduler.Now - TimeSpan.FromMinutes(20)).UtcTicks, 20 * 12);

        Sys.ActorOf(SimulatedFeedActor.SingletonProps(settings, aggregator.Ref, mediator.Ref, clockReplica.Ref));
        clockReplica.ExpectMsg<SimulationClockCommands.GetLatest>();
        clockReplica.Reply(new SimulationClockCommands.Latest(clock));

        var expected = SteppedSimulation.Resume(Seed, clock, Step);
        expected.AdvanceTo(scheduler.Now);
        var replaced = Enumerable.Range(0, Topics.Count).Select(_ => aggregator.ExpectMsg<AggregatorCommands.ReplaceTopic>()).ToList();
        Assert.Equal(Topics.Every, replaced.Select(r => r.Topic));
        Assert.Equal(
            expected.City.Current(Topic.Accidents).Select(e => e.ToJsonString()),
            replaced.Single(r => r.Topic == Topic.Accidents).Entities.Select(e => System.Text.Encoding.UTF8.GetString(e.Utf8Json)));

        var published = mediator.ExpectMsg<Publish>();
        Assert.Equal(SimulationClockCommands.Topic, published.Topic);
        Assert.Equal(new SimulationClock(clock.OriginUtcTicks, expected.Steps), published.Message);

        scheduler.Advance(Step);
        Assert.Equal(new SimulationClock(clock.OriginUtcTicks, expected.Steps + 1), mediator.ExpectMsg<Publish>().Message);
    }
}
