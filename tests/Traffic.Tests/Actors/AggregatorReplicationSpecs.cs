using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// What the aggregator tells the snapshot replicas (each change, numbered, and its incarnation), the
/// per-entity changes of the ingest (merged, acknowledged, alerts judged against the state before),
/// and what it counts. The sequencer is a probe here: the aggregator's publishes are what it receives.
/// </summary>
public sealed class AggregatorReplicationSpecs : TestKit, IDisposable
{
    private readonly TestProbe _sequencer;
    private readonly TestProbe _replicas;
    private readonly Meter _meter = new("aggregator-replication-spec");
    private readonly CountedInstrument _published;
    private readonly IActorRef _aggregator;

    public AggregatorReplicationSpecs() : base(VirtualTime.Config)
    {
        _sequencer = CreateTestProbe();
        _replicas = CreateTestProbe();
        _published = new CountedInstrument(_meter, "traffic.messages.published");
        _aggregator = Sys.ActorOf(AggregatorActor.Props(_sequencer.Ref, TopicSchedule.Default, _replicas.Ref, new TrafficMetrics(_meter)));
    }

    void IDisposable.Dispose()
    {
        _published.Dispose();
        _meter.Dispose();
        Dispose();
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private static EntityJson Entity(string id, int value) => new(id, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","value":{{value}}}"""));

    private static string[] Ids(IEnumerable<EntityJson> entities) => entities.Select(e => e.Id).ToArray();

    private JsonElement Snapshot(IActorRef? aggregator = null)
    {
        (aggregator ?? _aggregator).Tell(AggregatorQueries.GetSnapshot.Instance);
        return JsonDocument.Parse(ExpectMsg<AggregatorQueries.SnapshotReady>().Frame.Utf8Json).RootElement.GetProperty("data");
    }

    private static AggregatorCommands.ConditionalAlert NewAccident(string id) =>
        new(id, AggregatorCommands.AlertCondition.NewEntity, "", 0, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}"}"""));

    [Fact]
    public void Every_change_of_state_goes_to_the_replicas_numbered_in_one_incarnation()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Cameras, [Entity("c1", 1)]));
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Weather, [Entity("w1", 1), Entity("w2", 2)]));
        var first = _replicas.ExpectMsg<StateReplication.TopicState>();
        var second = _replicas.ExpectMsg<StateReplication.TopicState>();
        Assert.Equal((Topic.Cameras, 1L), (first.Topic, first.Version));
        Assert.Equal(["c1"], Ids(first.Entities));
        Assert.Equal((Topic.Weather, 2L), (second.Topic, second.Version));
        Assert.Equal(["w1", "w2"], Ids(second.Entities));
        Assert.Equal(first.Incarnation, second.Incarnation);
        Assert.True(first.Incarnation > 0);

        // Each scheduled UPDATE tells the replicas where the state stands, so one that missed a change notices.
        Scheduler.Advance(TimeSpan.FromSeconds(10)); // accidents' timer
        var version = _replicas.ExpectMsg<StateReplication.StateVersion>();
        Assert.Equal(new StateReplication.StateVersion(first.Incarnation, 2), version);

        _aggregator.Tell(StateReplication.GetFullState.Instance);
        var full = ExpectMsg<StateReplication.FullState>();
        Assert.Equal((first.Incarnation, 2L), (full.Incarnation, full.Version));
        Assert.Equal(["c1"], Ids(full.Topics[Topic.Cameras]));
        Assert.Equal(["w1", "w2"], Ids(full.Topics[Topic.Weather]));
        Assert.Empty(full.Topics[Topic.Accidents]);
        Assert.Equal(Topics.Count, full.Topics.Count);
    }

    [Fact]
    public void The_full_state_is_a_copy_that_later_changes_do_not_touch()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Cameras, [Entity("c1", 1)]));
        _aggregator.Tell(StateReplication.GetFullState.Instance);
        var before = ExpectMsg<StateReplication.FullState>();
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Cameras, [Entity("c2", 1)]));
        _aggregator.Tell(StateReplication.GetFullState.Instance);
        ExpectMsg<StateReplication.FullState>();
        Assert.Equal(["c1"], Ids(before.Topics[Topic.Cameras]));
    }

    [Fact]
    public void An_upsert_merges_by_id_is_acknowledged_and_replicated()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Cameras, [Entity("c1", 1), Entity("c2", 2)]));
        _aggregator.Tell(new AggregatorCommands.UpsertEntities(Topic.Cameras, [Entity("c2", 20), Entity("c3", 3)]));
        ExpectMsg<AggregatorCommands.EntitiesApplied>();
        _replicas.ExpectMsg<StateReplication.TopicState>();
        var merged = _replicas.ExpectMsg<StateReplication.TopicState>();
        Assert.Equal(2, merged.Version);
        Assert.Equal(["c1", "c2", "c3"], Ids(merged.Entities));
        Assert.Equal([1, 20, 3], Snapshot().GetProperty("cameras").EnumerateArray().Select(e => e.GetProperty("value").GetInt32()));
    }

    [Fact]
    public void An_alert_of_an_upsert_is_raised_only_when_its_condition_held_before_the_change()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Accidents, [Entity("a1", 1)]));
        _aggregator.Tell(new AggregatorCommands.UpsertEntities(Topic.Accidents, [Entity("a1", 2), Entity("a2", 1)],
            [NewAccident("a1"), NewAccident("a2")]));
        ExpectMsg<AggregatorCommands.EntitiesApplied>();
        var alert = _sequencer.ExpectMsg<SequencerCommands.PublishData>();
        Assert.Equal((ServerMessageType.Alert, (Topic?)Topic.Accidents), (alert.Type, alert.Topic));
        Assert.Equal("""{"id":"a2"}""", Encoding.UTF8.GetString(alert.DataJson)); // a1 was known: no alert for it
        _sequencer.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_removal_takes_the_ids_out_and_one_of_unknown_ids_changes_nothing_but_is_acknowledged()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Accidents, [Entity("a1", 1), Entity("a2", 2)]));
        _replicas.ExpectMsg<StateReplication.TopicState>();

        _aggregator.Tell(new AggregatorCommands.RemoveEntities(Topic.Accidents, ["nope"]));
        ExpectMsg<AggregatorCommands.EntitiesApplied>();
        _replicas.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // no change, no new version

        _aggregator.Tell(new AggregatorCommands.RemoveEntities(Topic.Accidents, ["a1"]));
        ExpectMsg<AggregatorCommands.EntitiesApplied>();
        var removed = _replicas.ExpectMsg<StateReplication.TopicState>();
        Assert.Equal(2, removed.Version);
        Assert.Equal(["a2"], Ids(removed.Entities));
        Assert.Equal(["a2"], Snapshot().GetProperty("accidents").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
    }

    [Fact]
    public void A_change_makes_a_new_snapshot_whichever_command_made_it()
    {
        var empty = Snapshot();
        _aggregator.Tell(new AggregatorCommands.UpsertEntities(Topic.Weather, [Entity("w1", 1)]));
        ExpectMsg<AggregatorCommands.EntitiesApplied>();
        Assert.Equal(1, Snapshot().GetProperty("weather").GetArrayLength());
        _aggregator.Tell(new AggregatorCommands.RemoveEntities(Topic.Weather, ["w1"]));
        ExpectMsg<AggregatorCommands.EntitiesApplied>();
        Assert.Equal(0, Snapshot().GetProperty("weather").GetArrayLength());
        Assert.Equal(0, empty.GetProperty("weather").GetArrayLength());
    }

    [Fact]
    public void Publishes_are_counted_once_each()
    {
        _aggregator.Tell(new AggregatorCommands.RaiseAlert(Topic.Accidents, "{}"u8.ToArray()));
        _sequencer.ExpectMsg<SequencerCommands.PublishData>();
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(Topic.Accidents, _sequencer.ExpectMsg<SequencerCommands.PublishEntities>().Topic);
        Snapshot(); // the aggregator has counted what it sent
        Assert.Equal(2, _published.Total);
    }

    [Fact]
    public void A_restart_after_a_failure_is_a_new_incarnation_that_the_replicas_are_told_of()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Cameras, [Entity("c1", 1)]));
        var changed = _replicas.ExpectMsg<StateReplication.TopicState>();
        _aggregator.Tell(new AggregatorCommands.TopicDue((Topic)42)); // throws: restarted with its state
        var told = _replicas.ExpectMsg<StateReplication.StateVersion>();
        Assert.NotEqual(changed.Incarnation, told.Incarnation); // the replicas ask it for the whole state again
        Assert.Equal(0, told.Version);
        Assert.Equal(["c1"], Snapshot().GetProperty("cameras").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
        _sequencer.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // same node, same timers: no UPDATE at once
    }

    [Fact]
    public void A_new_aggregator_tells_the_replicas_its_incarnation_once_it_has_the_replicas_state()
    {
        var replica = CreateTestProbe();
        var replicas = CreateTestProbe();
        var sequencer = CreateTestProbe();
        var fresh = Sys.ActorOf(AggregatorActor.Props(sequencer.Ref, TopicSchedule.Default, replicas.Ref, restoreFrom: () => replica.Ref));
        replica.ExpectMsg<StateReplication.GetFullState>();
        replicas.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        replica.Reply(new StateReplication.FullState(7, 41, new Dictionary<Topic, IReadOnlyList<EntityJson>> { [Topic.Cameras] = [Entity("c1", 1)] }));

        var version = replicas.ExpectMsg<StateReplication.StateVersion>();
        Assert.NotEqual(7, version.Incarnation); // its own, so that the replicas ask it for everything again
        Assert.Equal(0, version.Version);
        Assert.Equal(Topic.Cameras, sequencer.ExpectMsg<SequencerCommands.PublishEntities>().Topic);

        // The replica's wait bound passes: nothing happens again.
        Scheduler.Advance(AggregatorActor.ReplicaWait);
        fresh.Tell(AggregatorQueries.GetSnapshot.Instance);
        ExpectMsg<AggregatorQueries.SnapshotReady>();
        sequencer.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        replicas.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void A_new_aggregator_with_no_answer_from_its_replica_starts_empty_after_three_seconds_not_before()
    {
        Assert.Equal(TimeSpan.FromSeconds(3), AggregatorActor.ReplicaWait);
        var silent = CreateTestProbe();
        var replicas = CreateTestProbe();
        var sequencer = CreateTestProbe();
        var fresh = Sys.ActorOf(AggregatorActor.Props(sequencer.Ref, TopicSchedule.Default, replicas.Ref, restoreFrom: () => silent.Ref));
        silent.ExpectMsg<StateReplication.GetFullState>();
        fresh.Tell(AggregatorQueries.GetSnapshot.Instance);
        Scheduler.Advance(TimeSpan.FromSeconds(2.9));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // still waiting for the replica
        Scheduler.Advance(TimeSpan.FromSeconds(0.1));
        ExpectMsg<AggregatorQueries.SnapshotReady>();
        Assert.Equal(0, replicas.ExpectMsg<StateReplication.StateVersion>().Version);

        // and its schedule starts: accidents every 10 s from now
        fresh.Tell(new AggregatorCommands.ReplaceTopic(Topic.Accidents, [Entity("a1", 1)]));
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        var update = sequencer.ExpectMsg<SequencerCommands.PublishEntities>();
        Assert.Equal(Topic.Accidents, update.Topic);
        Assert.Equal(["a1"], Ids(update.Entities));
    }

    [Fact]
    public void Without_a_replica_to_restore_from_the_aggregator_serves_at_once()
    {
        var fresh = Sys.ActorOf(AggregatorActor.Props(_sequencer.Ref, TopicSchedule.Default, restoreFrom: () => null));
        Assert.Equal(0, Snapshot(fresh).GetProperty("cameras").GetArrayLength()); // answered with no time passing
    }

    [Fact]
    public void Where_each_aggregator_got_its_state_is_logged()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Cameras, [Entity("c1", 1), Entity("c2", 2)]));
        EventFilter.Error(start: "Aggregator failed on TopicDue; restarting with its state").ExpectOne(() =>
            EventFilter.Info("Aggregator restarted with its state kept (2 entities)").ExpectOne(() =>
                _aggregator.Tell(new AggregatorCommands.TopicDue((Topic)42))));

        var replica = CreateTestProbe();
        EventFilter.Info(start: "Aggregator started from this node's replica (1 entities, incarnation 7 version 41)").ExpectOne(() =>
        {
            Sys.ActorOf(AggregatorActor.Props(_sequencer.Ref, TopicSchedule.Default, restoreFrom: () => replica.Ref));
            replica.ExpectMsg<StateReplication.GetFullState>();
            replica.Reply(new StateReplication.FullState(7, 41, new Dictionary<Topic, IReadOnlyList<EntityJson>> { [Topic.Cameras] = [Entity("c1", 1)] }));
        });

        var empty = CreateTestProbe();
        EventFilter.Info(start: "Aggregator started from this node's replica").Expect(0, () =>
        {
            var fresh = Sys.ActorOf(AggregatorActor.Props(_sequencer.Ref, TopicSchedule.Default, restoreFrom: () => empty.Ref));
            empty.ExpectMsg<StateReplication.GetFullState>();
            empty.Reply(new StateReplication.FullState(7, 0, new Dictionary<Topic, IReadOnlyList<EntityJson>>()));
            Snapshot(fresh);
        });

        var silent = CreateTestProbe();
        EventFilter.Warning("No state from this node's replica within 3.0 s; the aggregator starts empty").ExpectOne(() =>
        {
            var fresh = Sys.ActorOf(AggregatorActor.Props(_sequencer.Ref, TopicSchedule.Default, restoreFrom: () => silent.Ref));
            silent.ExpectMsg<StateReplication.GetFullState>();
            Scheduler.Advance(AggregatorActor.ReplicaWait);
            Snapshot(fresh);
        });
    }
}
