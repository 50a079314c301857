using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Actors;

public sealed class AggregatorSpecs : TestKit
{
    private readonly TestProbe _registry;
    private readonly IActorRef _aggregator;

    public AggregatorSpecs() : base(VirtualTime.Config)
    {
        _registry = CreateTestProbe();
        _aggregator = Sys.ActorOf(AggregatorActor.Props(SequencerFor(_registry), TopicSchedule.Default));
    }

    /// <summary>
    /// A real sequencer in front of <paramref name="registry"/> (the aggregator publishes through one),
    /// starting new epochs; the probe sees the numbered frames, not the sequencer's announcements.
    /// </summary>
    private IActorRef SequencerFor(TestProbe registry)
    {
        registry.IgnoreMessages(m => m is RegistryCommands.AnnounceHeads);
        var heads = CreateTestProbe();
        heads.SetAutoPilot(new DelegateAutoPilot((sender, _) =>
        {
            sender.Tell(new RegistryCommands.Heads(new StreamPosition?[Streams.Count]));
            return AutoPilot.KeepRunning;
        }));
        return Sys.ActorOf(TopicSequencerActor.Props(registry.Ref, heads.Ref));
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private static EntityJson Entity(string id, int value) =>
        new(id, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","value":{{value}}}"""));

    private JsonElement ExpectPublish(Topic topic, TestProbe? registry = null)
    {
        var publish = (registry ?? _registry).ExpectMsg<RegistryCommands.PublishToTopic>();
        Assert.Equal(topic, publish.Topic);
        return JsonDocument.Parse(publish.Frame.Utf8Json).RootElement;
    }

    /// <summary>Waits until the aggregator has processed everything sent to it before.</summary>
    private void Sync()
    {
        _aggregator.Tell(AggregatorQueries.GetSnapshot.Instance);
        ExpectMsg<AggregatorQueries.SnapshotReady>();
    }

    [Fact]
    public void Each_topic_sends_its_whole_list_on_its_own_schedule()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Accidents, [Entity("a1", 1), Entity("a2", 2)]));
        Sync();

        Scheduler.Advance(TimeSpan.FromSeconds(10)); // accidents every 10 s
        var update = ExpectPublish(Topic.Accidents);
        Assert.Equal("UPDATE", update.Type());
        Assert.Equal("accidents", update.GetProperty("topic").GetString());
        Assert.Equal(["a1", "a2"], update.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
        _registry.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // Count what each topic sends over the first simulated minute, 10 s at a time (a periodic
        // timer fires at most once per advance of the test scheduler).
        var sent = new List<Topic> { Topic.Accidents };
        for (var second = 20; second <= 60; second += 10)
        {
            Scheduler.Advance(TimeSpan.FromSeconds(10));
            var due = second % 60 == 0 ? 6 : second % 30 == 0 ? 5 : 1;
            sent.AddRange(_registry.ReceiveN(due).Cast<RegistryCommands.PublishToTopic>().Select(p => p.Topic));
            _registry.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(6, sent.Count(t => t == Topic.Accidents));
        foreach (var every30 in new[] { Topic.Cameras, Topic.Weather, Topic.AirQuality, Topic.Congestion })
            Assert.Equal(2, sent.Count(t => t == every30));
        Assert.Equal(1, sent.Count(t => t == Topic.Patterns));
    }

    [Fact]
    public void Snapshot_holds_every_topic_in_its_current_state()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Cameras, [Entity("c1", 1)]));
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Cameras, [Entity("c1", 2), Entity("c2", 3)]));
        _aggregator.Tell(AggregatorQueries.GetSnapshot.Instance);

        var snapshot = JsonDocument.Parse(ExpectMsg<AggregatorQueries.SnapshotReady>().Frame.Utf8Json).RootElement;
        Assert.Equal("SNAPSHOT", snapshot.Type());
        var data = snapshot.GetProperty("data");
        Assert.Equal(["cameras", "weather", "airQuality", "accidents", "patterns", "congestion"],
            data.EnumerateObject().Select(p => p.Name));
        Assert.Equal([2, 3], data.GetProperty("cameras").EnumerateArray().Select(e => e.GetProperty("value").GetInt32()));
        Assert.Equal(0, data.GetProperty("weather").GetArrayLength());
    }

    [Fact]
    public void The_snapshot_is_encoded_once_until_the_state_changes()
    {
        _aggregator.Tell(AggregatorQueries.GetSnapshot.Instance);
        var first = ExpectMsg<AggregatorQueries.SnapshotReady>().Frame;
        _aggregator.Tell(AggregatorQueries.GetSnapshot.Instance);
        Assert.Same(first, ExpectMsg<AggregatorQueries.SnapshotReady>().Frame);

        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Weather, [Entity("w", 1)]));
        _aggregator.Tell(AggregatorQueries.GetSnapshot.Instance);
        Assert.NotSame(first, ExpectMsg<AggregatorQueries.SnapshotReady>().Frame);
    }

    [Fact]
    public void An_alert_is_published_at_once_to_its_topic()
    {
        _aggregator.Tell(new AggregatorCommands.RaiseAlert(Topic.Accidents, Encoding.UTF8.GetBytes("""{"id":"x","severity":"high"}""")));
        var alert = ExpectPublish(Topic.Accidents);
        Assert.Equal("ALERT", alert.Type());
        Assert.Equal("high", alert.GetProperty("data").GetProperty("severity").GetString());
    }

    [Fact]
    public void A_failure_restarts_the_aggregator_with_its_state_and_its_schedule()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Cameras, [Entity("c1", 1)]));
        // Two errors are expected and kept out of the log: Akka's report of the failure and the aggregator's own line.
        EventFilter.Exception<KeyNotFoundException>().Expect(2, () =>
        {
            _aggregator.Tell(new AggregatorCommands.TopicDue((Topic)42)); // no such topic: the handler throws, the guardian restarts it
            _aggregator.Tell(AggregatorQueries.GetSnapshot.Instance);    // queued behind the failure: answered by the new instance
        });

        var snapshot = JsonDocument.Parse(ExpectMsg<AggregatorQueries.SnapshotReady>().Frame.Utf8Json).RootElement;
        Assert.Equal(["c1"], snapshot.GetProperty("data").GetProperty("cameras").EnumerateArray().Select(e => e.GetProperty("id").GetString()));

        Scheduler.Advance(TimeSpan.FromSeconds(10)); // and the timers run again: accidents every 10 s
        ExpectPublish(Topic.Accidents);
    }

    [Fact]
    public void A_new_aggregator_starts_from_its_nodes_replica_and_sends_each_topics_first_update_at_once()
    {
        var replica = CreateTestProbe();
        var registry = CreateTestProbe(); // not the one of the aggregator every spec here starts
        var replicas = CreateTestProbe();
        var fresh = Sys.ActorOf(AggregatorActor.Props(SequencerFor(registry), TopicSchedule.Default, replicas.Ref, restoreFrom: () => replica.Ref));
        fresh.Tell(new AggregatorCommands.ReplaceTopic(Topic.Weather, [Entity("w2", 2)])); // a source's change, while it waits

        replica.ExpectMsg<StateReplication.GetFullState>();
        replica.Reply(new StateReplication.FullState(7, 41, new Dictionary<Topic, IReadOnlyList<EntityJson>>
        {
            [Topic.Accidents] = [Entity("a1", 1), Entity("a2", 2)],
            [Topic.Weather] = [Entity("w1", 1)],
        }));

        // No time passes: the topics with state go out at once, in topic order; the empty ones wait for their timer.
        var weather = ExpectPublish(Topic.Weather, registry);
        Assert.Equal(["w1"], weather.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
        var accidents = ExpectPublish(Topic.Accidents, registry);
        Assert.Equal("UPDATE", accidents.Type());
        Assert.Equal(["a1", "a2"], accidents.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
        registry.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // The change that waited is applied after the restored state, not overwritten by it.
        fresh.Tell(AggregatorQueries.GetSnapshot.Instance);
        var snapshot = JsonDocument.Parse(ExpectMsg<AggregatorQueries.SnapshotReady>().Frame.Utf8Json).RootElement.GetProperty("data");
        Assert.Equal(["w2"], snapshot.GetProperty("weather").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
        Assert.Equal(2, snapshot.GetProperty("accidents").GetArrayLength());

        // Then each topic's own schedule, from the start.
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(["a1", "a2"], ExpectPublish(Topic.Accidents, registry).GetProperty("data").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
    }

    [Fact]
    public void A_new_aggregator_whose_replica_does_not_answer_starts_empty_and_serves()
    {
        var silent = CreateTestProbe();
        var registry = CreateTestProbe();
        var fresh = Sys.ActorOf(AggregatorActor.Props(SequencerFor(registry), TopicSchedule.Default, restoreFrom: () => silent.Ref));
        silent.ExpectMsg<StateReplication.GetFullState>();
        fresh.Tell(AggregatorQueries.GetSnapshot.Instance); // waits behind the restore

        Scheduler.Advance(AggregatorActor.ReplicaWait);
        var snapshot = JsonDocument.Parse(ExpectMsg<AggregatorQueries.SnapshotReady>().Frame.Utf8Json).RootElement.GetProperty("data");
        Assert.Equal(0, snapshot.GetProperty("accidents").GetArrayLength());
        registry.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // nothing to send yet: no empty UPDATEs
    }
}
