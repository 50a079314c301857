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
        private int _saved, _failed, _started;
        private volatile TaskCompletionSource? _held;
        public int Saved => Volatile.Read(ref _saved);
        public int Failed => Volatile.Read(ref _failed);
        public int Started => Volatile.Read(ref _started);

        /// <summary>Saves from now on wait until <see cref="Release"/>.</summary>
        public void Hold() => _held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => Interlocked.Exchange(ref _held, null)?.TrySetResult();

        public async Task InterceptAsync(string persistenceId, SnapshotSelectionCriteria criteria)
        {
            Interlocked.Increment(ref _started);
            if (_held is { } held) await held.Task;
            if (Failing)
            {
                Interlocked.Increment(ref _failed);
                throw new InvalidOperationException("database away");
            }
            Interlocked.Increment(ref _saved);
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

    [Fact]
    public void A_confirmation_is_answered_once_a_save_holding_every_change_before_it_succeeded()
    {
        var store = StartStore();
        var asker = CreateTestProbe();
        store.Tell(new StateStoreActor.ConfirmSaved(1), asker.Ref);
        asker.ExpectMsg(new StateStoreActor.Saved(1), Patience); // nothing unsaved: at once

        _saves.Hold();
        store.Tell(Change(Topic.Cameras, Entity("c1", 1)));
        store.Tell(new StateStoreActor.ConfirmSaved(2), asker.Ref);
        AwaitCondition(() => _saves.Started == 1, Patience); // saved at once for it, not at the next interval
        store.Tell(Change(Topic.Cameras, Entity("c1", 2))); // during the save: needs the next one
        store.Tell(new StateStoreActor.ConfirmSaved(3), asker.Ref);
        asker.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // the save is held: nobody is told yet

        _saves.Release();
        asker.ExpectMsg(new StateStoreActor.Saved(2), Patience);
        AwaitCondition(() => _saves.Started == 2, Patience); // the next save starts for the one still waiting
        asker.ExpectMsg(new StateStoreActor.Saved(3), Patience);
        store.Tell(Change(Topic.Weather, Entity("w1", 1)));
        NextInterval(store);
        AwaitCondition(() => _saves.Saved == 3, Patience);
        asker.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // a later save answers nobody again
        StopAndWait(store);
        var saved = FullStateOf(Sys.ActorOf(StateStoreActor.Props())).Topics[Topic.Cameras];
        Assert.Equal("""{"id":"c1","value":2}""", Encoding.UTF8.GetString(saved.Single().Utf8Json));
    }

    [Fact]
    public void A_failed_save_answers_not_saved_to_everyone_waiting_and_only_once()
    {
        var store = StartStore();
        _saves.Failing = true;
        _saves.Hold();
        store.Tell(Change(Topic.Cameras, Entity("c1", 1)));
        store.Tell(new StateStoreActor.ConfirmSaved(7)); // held by the save in flight
        AwaitCondition(() => _saves.Started == 1, Patience);
        store.Tell(Change(Topic.Cameras, Entity("c1", 2)));
        store.Tell(new StateStoreActor.ConfirmSaved(8)); // needs the next one
        _saves.Release();
        var refused = new[] { ExpectMsg<StateStoreActor.NotSaved>(Patience), ExpectMsg<StateStoreActor.NotSaved>(Patience) };
        Assert.Equal([7L, 8L], refused.Select(r => r.Id).Order());
        Assert.All(refused, r => Assert.Contains("database away", r.Reason));

        _saves.Failing = false; // the next interval saves: the refused are not answered again
        NextInterval(store);
        AwaitCondition(() => _saves.Saved == 1, Patience);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void The_aggregator_confirms_a_change_kept_only_once_its_state_is_saved_and_its_ALERTs_written()
    {
        var sequencer = CreateTestProbe();
        var aggregator = Sys.ActorOf(AggregatorActor.Props(sequencer.Ref, TopicSchedule.Default, stateStore: StateStoreActor.Props()));
        aggregator.Tell(AggregatorQueries.GetSnapshot.Instance);
        ExpectMsg<AggregatorQueries.SnapshotReady>(Patience); // started from the empty database

        _saves.Hold();
        var alert = new AggregatorCommands.ConditionalAlert("a1", AggregatorCommands.AlertCondition.NewEntity, "", 0, Encoding.UTF8.GetBytes("""{"id":"a1"}"""));
        aggregator.Tell(new AggregatorCommands.UpsertEntities(Topic.Accidents, [Entity("a1", 1)], [alert]));
        ExpectMsg<AggregatorCommands.EntitiesApplied>(Patience);
        sequencer.ExpectMsg<SequencerCommands.PublishData>(Patience);
        aggregator.Tell(AggregatorCommands.ConfirmKept.Instance);
        var barrier = sequencer.ExpectMsg<SequencerCommands.ConfirmWritten>(Patience); // after the ALERT it covers
        sequencer.Reply(new SequencerCommands.Written(barrier.Id));
        ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // the ALERT is written, the state not yet saved

        _saves.Release();
        ExpectMsg<AggregatorCommands.Kept>(Patience);

        // Saved, but the journal cannot write: not kept.
        aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Cameras, [Entity("c1", 1)]));
        aggregator.Tell(AggregatorCommands.ConfirmKept.Instance);
        barrier = sequencer.ExpectMsg<SequencerCommands.ConfirmWritten>(Patience);
        sequencer.Reply(new SequencerCommands.NotWritten(barrier.Id, "the database is unreachable"));
        Assert.Equal("the database is unreachable", ExpectMsg<AggregatorCommands.NotKept>(Patience).Reason);
    }

    [Fact]
    public void Without_persistence_the_aggregator_confirms_once_the_sequencer_has_taken_what_came_before()
    {
        var sequencer = CreateTestProbe();
        var aggregator = Sys.ActorOf(AggregatorActor.Props(sequencer.Ref, TopicSchedule.Default));
        aggregator.Tell(AggregatorCommands.ConfirmKept.Instance);
        var barrier = sequencer.ExpectMsg<SequencerCommands.ConfirmWritten>(Patience);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        sequencer.Reply(new SequencerCommands.Written(barrier.Id));
        ExpectMsg<AggregatorCommands.Kept>(Patience);
    }
}
