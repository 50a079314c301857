using System.Text;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using Akka.TestKit;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// The city's state in the database: the store saves at most every <see cref="StateStoreActor.SaveInterval"/>
/// and only when it changed, reads it back, and an aggregator with no replica (or an empty one) starts from it.
/// </summary>
public sealed class StateStoreSpecs : PersistenceSpecKit
{
    private readonly SaveCounter _saves = new();

    public StateStoreSpecs() => Snapshots.OnSave.SetInterceptorAsync(_saves).Wait(Patience);

    /// <summary>Counts the snapshots saved; fails while <see cref="Failing"/>.</summary>
    private sealed class SaveCounter : ISnapshotStoreInterceptor
    {
        public volatile bool Failing;
        private int _saved, _failed;
        public int Saved => Volatile.Read(ref _saved);
        public int Failed => Volatile.Read(ref _failed);

        public Task InterceptAsync(string persistenceId, SnapshotSelectionCriteria criteria)
        {
            if (Failing)
            {
                Interlocked.Increment(ref _failed);
                return Task.FromException(new InvalidOperationException("database away"));
            }
            Interlocked.Increment(ref _saved);
            return Task.CompletedTask;
        }
    }

    private static EntityJson Entity(string id, int value) => new(id, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","value":{{value}}}"""));

    private static string[] Ids(IEnumerable<EntityJson> entities) => entities.Select(e => e.Id).ToArray();

    private static StateReplication.TopicState Change(Topic topic, params EntityJson[] entities) => new(1, 1, topic, entities);

    private StateReplication.FullState FullStateOf(IActorRef store)
    {
        var probe = CreateTestProbe();
        store.Tell(StateReplication.GetFullState.Instance, probe.Ref);
        return probe.ExpectMsg<StateReplication.FullState>(Patience);
    }

    /// <summary>One save interval later, once the store has handled its timer.</summary>
    private void NextInterval(IActorRef store)
    {
        Scheduler.Advance(StateStoreActor.SaveInterval);
        Barrier(store);
    }

    private IActorRef StartStore()
    {
        var store = Sys.ActorOf(StateStoreActor.Props());
        FullStateOf(store); // recovered, its timer started
        return store;
    }

    /// <summary>A store that saved <paramref name="topics"/>, stopped: the database a new aggregator finds.</summary>
    private void Saved(params (Topic Topic, EntityJson[] Entities)[] topics)
    {
        var store = StartStore();
        foreach (var (topic, entities) in topics) store.Tell(Change(topic, entities));
        NextInterval(store);
        AwaitCondition(() => _saves.Saved == 1, Patience);
        StopAndWait(store);
    }

    [Fact]
    public void It_saves_at_most_every_interval_and_only_what_changed()
    {
        var store = StartStore();
        NextInterval(store);
        NextInterval(store); // nothing changed: nothing saved

        store.Tell(Change(Topic.Cameras, Entity("c1", 1)));
        store.Tell(Change(Topic.Weather, Entity("w1", 1)));
        store.Tell(Change(Topic.Cameras, Entity("c1", 2)));
        Barrier(store);
        Assert.Equal(0, _saves.Saved); // not before the interval
        NextInterval(store);
        AwaitCondition(() => _saves.Saved == 1, Patience); // three changes, one save
        NextInterval(store);
        NextInterval(store); // unchanged since

        store.Tell(new StateReplication.FullState(5, 9, new Dictionary<Topic, IReadOnlyList<EntityJson>> { [Topic.Accidents] = [Entity("a1", 1)] }));
        NextInterval(store);
        AwaitCondition(() => _saves.Saved == 2, Patience);
        NextInterval(store);
        Barrier(store);
        store.Tell(Change(Topic.Cameras, Entity("c9", 1)));
        NextInterval(store);
        AwaitCondition(() => _saves.Saved == 3, Patience); // had the unchanged intervals saved, there would be more
        Assert.Equal(3, _saves.Saved);
    }

    [Fact]
    public void A_new_store_reads_back_what_was_saved_last()
    {
        var store = StartStore();
        store.Tell(Change(Topic.Cameras, Entity("c1", 1), Entity("c2", 1)));
        NextInterval(store);
        AwaitCondition(() => _saves.Saved == 1, Patience);
        // A whole state replaces the rest: cameras are then empty.
        store.Tell(new StateReplication.FullState(5, 9, new Dictionary<Topic, IReadOnlyList<EntityJson>> { [Topic.Weather] = [Entity("w1", 1)] }));
        NextInterval(store);
        AwaitCondition(() => _saves.Saved == 2, Patience);
        StopAndWait(store);

        var full = FullStateOf(Sys.ActorOf(StateStoreActor.Props()));
        Assert.Equal(["w1"], Ids(full.Topics[Topic.Weather]));
        Assert.Empty(full.Topics[Topic.Cameras]);
        Assert.Equal(Topics.Count, full.Topics.Count);
    }

    [Fact]
    public void A_failed_save_is_tried_again_at_the_next_interval()
    {
        var store = StartStore();
        _saves.Failing = true;
        store.Tell(Change(Topic.Cameras, Entity("c1", 1)));
        NextInterval(store);
        AwaitCondition(() => _saves.Failed == 1, Patience);
        Barrier(store); // the failure is in its mailbox after the attempt; wait for it to be handled
        AwaitAssert(() =>
        {
            _saves.Failing = false;
            NextInterval(store);
            Assert.Equal(1, _saves.Saved);
        }, Patience, TimeSpan.FromMilliseconds(50));
        StopAndWait(store);
        Assert.Equal(["c1"], Ids(FullStateOf(Sys.ActorOf(StateStoreActor.Props())).Topics[Topic.Cameras]));
    }

    [Fact]
    public async Task A_store_that_cannot_read_tells_its_parent_an_empty_state()
    {
        Saved((Topic.Cameras, [Entity("c1", 1)]));
        await Snapshots.OnLoad.Fail();
        var parent = CreateTestProbe();
        parent.ChildActorOf(StateStoreActor.Props());
        var full = parent.ExpectMsg<StateReplication.FullState>(Patience);
        Assert.All(full.Topics.Values, list => Assert.Empty(list));
    }

    [Fact]
    public void An_aggregator_without_a_replica_starts_from_the_saved_state_and_publishes_its_first_UPDATEs_at_once()
    {
        Saved((Topic.Cameras, [Entity("c1", 1), Entity("c2", 2)]), (Topic.Accidents, [Entity("a1", 1)]));
        var sequencer = CreateTestProbe();
        Sys.ActorOf(AggregatorActor.Props(sequencer.Ref, TopicSchedule.Default, stateStore: StateStoreActor.Props()));

        var first = sequencer.ExpectMsg<SequencerCommands.PublishEntities>(Patience);
        var second = sequencer.ExpectMsg<SequencerCommands.PublishEntities>(Patience);
        Assert.Equal((Topic.Cameras, string.Join(",", new[] { "c1", "c2" })), (first.Topic, string.Join(",", Ids(first.Entities))));
        Assert.Equal((Topic.Accidents, string.Join(",", new[] { "a1" })), (second.Topic, string.Join(",", Ids(second.Entities))));
        sequencer.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // no UPDATE of an empty topic
    }

    [Fact]
    public void An_aggregator_whose_replica_is_empty_starts_from_the_saved_state()
    {
        Saved((Topic.Weather, [Entity("w1", 1)]));
        var sequencer = CreateTestProbe();
        var replica = CreateTestProbe();
        Sys.ActorOf(AggregatorActor.Props(sequencer.Ref, TopicSchedule.Default, restoreFrom: () => replica.Ref, stateStore: StateStoreActor.Props()));
        replica.ExpectMsg<StateReplication.GetFullState>(Patience);
        replica.Reply(new StateReplication.FullState(0, 0, new Dictionary<Topic, IReadOnlyList<EntityJson>>()));

        var update = sequencer.ExpectMsg<SequencerCommands.PublishEntities>(Patience);
        Assert.Equal((Topic.Weather, string.Join(",", new[] { "w1" })), (update.Topic, string.Join(",", Ids(update.Entities))));
    }

    [Fact]
    public void An_aggregator_whose_replica_has_state_starts_from_the_replica_not_the_database()
    {
        Saved((Topic.Weather, [Entity("w1", 1)]));
        var sequencer = CreateTestProbe();
        var replica = CreateTestProbe();
        Sys.ActorOf(AggregatorActor.Props(sequencer.Ref, TopicSchedule.Default, restoreFrom: () => replica.Ref, stateStore: StateStoreActor.Props()));
        replica.ExpectMsg<StateReplication.GetFullState>(Patience);
        replica.Reply(new StateReplication.FullState(3, 4, new Dictionary<Topic, IReadOnlyList<EntityJson>> { [Topic.Cameras] = [Entity("c7", 1)] }));

        var update = sequencer.ExpectMsg<SequencerCommands.PublishEntities>(Patience);
        Assert.Equal((Topic.Cameras, string.Join(",", new[] { "c7" })), (update.Topic, string.Join(",", Ids(update.Entities))));
        sequencer.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // not the saved weather
    }

    [Fact]
    public void An_aggregator_whose_replica_does_not_answer_starts_from_the_saved_state()
    {
        Saved((Topic.Weather, [Entity("w1", 1)]));
        var sequencer = CreateTestProbe();
        var replica = CreateTestProbe();
        Sys.ActorOf(AggregatorActor.Props(sequencer.Ref, TopicSchedule.Default, restoreFrom: () => replica.Ref, stateStore: StateStoreActor.Props()));
        replica.ExpectMsg<StateReplication.GetFullState>(Patience);
        Scheduler.Advance(AggregatorActor.ReplicaWait);

        var update = sequencer.ExpectMsg<SequencerCommands.PublishEntities>(Patience);
        Assert.Equal((Topic.Weather, string.Join(",", new[] { "w1" })), (update.Topic, string.Join(",", Ids(update.Entities))));
    }

    [Fact]
    public void The_aggregator_tells_its_store_every_change_which_it_saves()
    {
        var sequencer = CreateTestProbe();
        var aggregator = Sys.ActorOf(AggregatorActor.Props(sequencer.Ref, TopicSchedule.Default, stateStore: StateStoreActor.Props()));
        aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Patterns, [Entity("p1", 1)]));
        aggregator.Tell(AggregatorQueries.GetSnapshot.Instance);
        ExpectMsg<AggregatorQueries.SnapshotReady>(Patience); // started (from the empty database) and took the change
        AwaitAssert(() =>
        {
            Scheduler.Advance(StateStoreActor.SaveInterval);
            Assert.True(_saves.Saved >= 1);
        }, Patience, TimeSpan.FromMilliseconds(50));
        StopAndWait(aggregator);
        Assert.Equal(["p1"], Ids(FullStateOf(Sys.ActorOf(StateStoreActor.Props())).Topics[Topic.Patterns]));
    }
}
