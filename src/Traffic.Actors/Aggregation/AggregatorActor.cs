using Akka.Actor;
using Akka.Event;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;

namespace Traffic.Actors.Aggregation;

/// <summary>
/// Holds the current state of every topic, sends each topic's scheduled UPDATE (its whole list)
/// on the topic's own timer, relays alerts at once, and answers snapshot requests. The SNAPSHOT
/// frame is encoded once per change of state, not once per connecting client.
/// In a cluster it runs once (a cluster singleton): its publishes go to the
/// <see cref="TopicSequencerActor"/> (then DistributedPubSub), and every change of state also goes to the
/// snapshot replicas (<see cref="StateReplication"/>), which serve SNAPSHOTs on each node.
/// A failure while handling one message restarts it with its state kept (see <see cref="PreRestart"/>).
/// A new singleton (after a fail-over) starts from its node's replica instead of empty, and sends
/// each topic's first UPDATE as soon as it has that state (see <see cref="PreStart"/>).
/// With persistence its child <see cref="StateStoreActor"/> keeps the state in the database: an
/// aggregator with no replica to start from (a single node, a whole cluster started again) starts from it.
/// </summary>
public sealed class AggregatorActor : ReceiveActor, IWithTimers, IWithStash
{
    private readonly IActorRef _sequencer;
    private readonly IActorRef? _replicas;
    private readonly TrafficMetrics? _metrics;
    private readonly Func<IActorRef?>? _restoreFrom;
    private readonly CityState _state = new(incarnation: Random.Shared.NextInt64(1, long.MaxValue));
    private readonly TopicSchedule _schedule;
    private readonly IActorRef? _store;
    private readonly StateBudget _budget;
    private readonly RefusalLog _refusals = new();
    private readonly KeptConfirmations _confirmations = new();

    /// <param name="sequencer">Where publishes go: the <see cref="TopicSequencerActor"/> (in a cluster, its singleton's proxy), which numbers them.</param>
    /// <param name="schedule">Each topic's UPDATE interval.</param>
    /// <param name="replicas">In a cluster, where changes of state go (to every node's snapshot replica); null on a single node.</param>
    /// <param name="metrics">Counts what this node publishes; null in specs.</param>
    /// <param name="restoreFrom">In a cluster, finds this node's snapshot replica (created after the singleton is
    /// declared, hence found when the aggregator starts): asked for the state to start from. Null on a single node.</param>
    /// <param name="stateStore">With persistence: the <see cref="StateStoreActor"/>'s props (made a child of this actor).</param>
    /// <param name="limits">How much state it holds (<see cref="StateLimits.Default"/> when null).</param>
    public AggregatorActor(IActorRef sequencer, TopicSchedule schedule, IActorRef? replicas = null, TrafficMetrics? metrics = null,
        Func<IActorRef?>? restoreFrom = null, Props? stateStore = null, StateLimits? limits = null)
    {
        _budget = new StateBudget(limits ?? StateLimits.Default);
        _sequencer = sequencer;
        _schedule = schedule;
        _replicas = replicas;
        _metrics = metrics;
        _restoreFrom = restoreFrom;
        // Not named: a restarted aggregator makes a new one while the failed instance's is still stopping.
        _store = stateStore is null ? null : Context.ActorOf(stateStore);
        Serving();
    }

    /// <summary>How long a new aggregator waits for its node's replica (a local actor) before it starts empty.</summary>
    public static readonly TimeSpan ReplicaWait = TimeSpan.FromSeconds(3);

    /// <summary>How long a new aggregator waits for the state saved in the database (its first read may be slow).</summary>
    public static readonly TimeSpan StoreWait = TimeSpan.FromSeconds(30);

    private sealed record ReplicaTimedOut
    {
        public static readonly ReplicaTimedOut Instance = new();
    }

    private sealed record StoreTimedOut
    {
        public static readonly StoreTimedOut Instance = new();
    }

    private void Serving()
    {
        Receive<AggregatorCommands.ReplaceTopic>(r => ChangeTopic(r.Topic, r.Entities));
        Receive<AggregatorCommands.RaiseAlert>(a => PublishAlert(a.Topic, a.DataJson));
        Receive<AggregatorCommands.TopicDue>(d =>
        {
            PublishUpdate(d.Topic);
            _replicas?.Tell(new StateReplication.StateVersion(_state.Incarnation, _state.Version));
        });
        Receive<AggregatorCommands.UpsertEntities>(u =>
        {
            var before = _state[u.Topic];
            var merging = u.Mode == AggregatorCommands.UpsertMode.MergeFields;
            ChangeTopic(u.Topic, EntityMerge.Upsert(before, u.Entities, u.Mode));
            foreach (var alert in u.Alerts.Where(a => EntityMerge.AlertHolds(a, before)))
                PublishAlert(u.Topic, merging ? EntityMerge.MergedAlertData(alert, before) : alert.DataJson);
            Acknowledge();
        });
        Receive<AggregatorCommands.RemoveEntities>(r =>
        {
            var after = EntityMerge.Remove(_state[r.Topic], r.Ids);
            if (after is not null) ChangeTopic(r.Topic, after);
            Acknowledge();
        });
        Receive<AggregatorQueries.GetSnapshot>(_ => Sender.Tell(_state.Snapshot(Now)));
        Receive<StateReplication.GetFullState>(_ => Sender.Tell(_state.Full()));
        Receive<AggregatorCommands.ConfirmKept>(_ => ConfirmKept());
        Receive<StateStoreActor.Saved>(saved => _confirmations.StateSaved(saved.Id));
        Receive<StateStoreActor.NotSaved>(failed => _confirmations.Failed(failed.Id, failed.Reason));
        Receive<SequencerCommands.Written>(written => _confirmations.AlertsWritten(written.Id));
        Receive<SequencerCommands.NotWritten>(failed => _confirmations.Failed(failed.Id, failed.Reason));
    }

    /// <summary>
    /// Both barriers go out after everything this actor already sent (the changes to its store, the ALERTs to the
    /// sequencer): each is answered once what came before it is in the database.
    /// </summary>
    private void ConfirmKept()
    {
        if (_confirmations.Open(Sender, stateSaved: _store is null) is not { } id) return;
        _store?.Tell(new StateStoreActor.ConfirmSaved(id));
        _sequencer.Tell(new SequencerCommands.ConfirmWritten(id));
    }

    /// <summary>Waiting for the state the failed instance handed over; everything else waits behind it.</summary>
    private void Restoring()
    {
        Receive<AggregatorCommands.RestoreState>(restore =>
        {
            Restore(restore.State, firstUpdatesNow: false); // same node, timers kept: nothing moved
            Context.GetLogger().Info("Aggregator restarted with its state kept ({0} entities)", restore.State.Values.Sum(list => list.Count));
        });
        ReceiveAny(_ => Stash.Stash());
    }

    /// <summary>
    /// A new aggregator in a cluster, waiting for the state its node's replica holds (what the previous
    /// aggregator last replicated); everything else waits behind it. No answer in time: it starts empty.
    /// </summary>
    private void RestoringFromReplica()
    {
        Receive<StateReplication.FullState>(full =>
        {
            var entities = full.Topics.Values.Sum(list => list.Count);
            if (entities == 0 && _store is not null)
            {
                Timers.Cancel(nameof(ReplicaTimedOut));
                AskStore(); // an empty replica: the whole cluster started again, the database has the state
                return;
            }
            if (entities > 0)
                Context.GetLogger().Info("Aggregator started from this node's replica ({0} entities, incarnation {1} version {2})", entities, full.Incarnation, full.Version);
            Restore(full.Topics, firstUpdatesNow: true);
        });
        Receive<ReplicaTimedOut>(_ =>
        {
            if (_store is not null)
            {
                AskStore();
                return;
            }
            Context.GetLogger().Warning("No state from this node's replica within {0:0.0} s; the aggregator starts empty", ReplicaWait.TotalSeconds);
            Restore(new Dictionary<Topic, IReadOnlyList<EntityJson>>(), firstUpdatesNow: true);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    /// <summary>A new aggregator, waiting for the state saved in the database; everything else waits behind it.</summary>
    private void RestoringFromStore()
    {
        Receive<StateReplication.FullState>(saved =>
        {
            var entities = saved.Topics.Values.Sum(list => list.Count);
            if (entities > 0) Context.GetLogger().Info("Aggregator started from the saved state ({0} entities)", entities);
            Restore(saved.Topics, firstUpdatesNow: true);
        });
        Receive<StoreTimedOut>(_ =>
        {
            Context.GetLogger().Warning("No saved state from the database within {0:0} s; the aggregator starts empty", StoreWait.TotalSeconds);
            Restore(new Dictionary<Topic, IReadOnlyList<EntityJson>>(), firstUpdatesNow: true);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void AskStore()
    {
        Timers.StartSingleTimer(nameof(StoreTimedOut), StoreTimedOut.Instance, StoreWait);
        _store!.Tell(StateReplication.GetFullState.Instance);
        Become(RestoringFromStore);
    }

    /// <summary>
    /// Takes the state. With <paramref name="firstUpdatesNow"/> (a new aggregator), each topic that has
    /// any state is sent at once, so clients of a moved aggregator wait no whole interval, and the
    /// topics' timers start from now.
    /// </summary>
    private void Restore(IReadOnlyDictionary<Topic, IReadOnlyList<EntityJson>> state, bool firstUpdatesNow)
    {
        _state.Take(state, emptyTheRest: false);
        foreach (var topic in Topics.Every) _budget.Held(topic, _state[topic]);
        Timers.Cancel(nameof(ReplicaTimedOut));
        Timers.Cancel(nameof(StoreTimedOut));
        _store?.Tell(_state.Full());
        // A new incarnation: the replicas see it and ask for the whole state again.
        _replicas?.Tell(new StateReplication.StateVersion(_state.Incarnation, _state.Version));
        if (firstUpdatesNow)
        {
            foreach (var topic in Topics.Every.Where(t => _state[t].Count > 0)) PublishUpdate(topic);
            StartTimers();
        }
        Become(Serving);
        Stash.UnstashAll();
    }

    /// <summary>
    /// A topic's new list (a whole list, an upsert, a removal), fitted to the <see cref="StateLimits"/> first, then
    /// replicated and saved. What does not fit is refused: counted, and logged at most once a minute per topic.
    /// </summary>
    private void ChangeTopic(Topic topic, IReadOnlyList<EntityJson> proposed)
    {
        var (entities, refused) = _budget.Fit(topic, _state[topic], proposed);
        _state[topic] = entities;
        if (refused.Count > 0) Refuse(topic, refused);
        _state.Version++;
        var change = new StateReplication.TopicState(_state.Incarnation, _state.Version, topic, entities);
        _replicas?.Tell(change);
        _store?.Tell(change);
    }

    private void Refuse(Topic topic, IReadOnlyList<string> refused)
    {
        _metrics?.CountStateRefused(topic, refused.Count);
        if (_refusals.Count(topic, refused.Count, Now) is not { } since) return;
        var limits = _budget.Limits;
        Context.GetLogger().Warning( // rare (at most once a minute per topic): formatted here
            $"Topic {topic.WireName()} is full ({_state[topic].Count} entities of MAX_ENTITIES_PER_TOPIC {limits.MaxEntitiesPerTopic}; " +
            $"state {_budget.TotalBytes} bytes of MAX_STATE_BYTES {limits.MaxStateBytes}): {since} new entities or growing changes refused " +
            $"(first id {ClientText.Safe(refused[0])}); held entities keep changing, new ones come in once others are removed");
    }

    private void Acknowledge()
    {
        if (!Sender.IsNobody() && !Sender.Equals(Context.System.DeadLetters)) Sender.Tell(AggregatorCommands.EntitiesApplied.Instance);
    }

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    public static Props Props(IActorRef sequencer, TopicSchedule schedule, IActorRef? replicas = null, TrafficMetrics? metrics = null,
        Func<IActorRef?>? restoreFrom = null, Props? stateStore = null, StateLimits? limits = null) =>
        Akka.Actor.Props.Create(() => new AggregatorActor(sequencer, schedule, replicas, metrics, restoreFrom, stateStore, limits));

    /// <summary>
    /// On a single node: the topics' timers. In a cluster: first the state this node's replica holds
    /// (the timers start with it, see <see cref="Restore"/>).
    /// </summary>
    protected override void PreStart()
    {
        var replica = _restoreFrom?.Invoke();
        if (replica is null)
        {
            if (_store is not null) AskStore(); // the timers start with the saved state
            else StartTimers();
            return;
        }
        // The bound first: whoever sees the request (a spec's probe) may count on it running.
        Timers.StartSingleTimer(nameof(ReplicaTimedOut), ReplicaTimedOut.Instance, ReplicaWait);
        replica.Tell(StateReplication.GetFullState.Instance);
        Become(RestoringFromReplica);
    }

    private void StartTimers()
    {
        foreach (var topic in Topics.Every)
            Timers.StartPeriodicTimer(topic, new AggregatorCommands.TopicDue(topic), _schedule.IntervalOf(topic));
    }

    /// <summary>
    /// The guardian restarts a failed aggregator, which would start empty: every SNAPSHOT and
    /// scheduled UPDATE would be empty until each source happened to send its topic again (the
    /// simulated feed only sends the topics that change). Every handler replaces whole entries,
    /// so the state is consistent between messages: the failed instance hands it to the next one,
    /// which holds every other message until it has it. The failing message itself is dropped.
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        Context.GetLogger().Error(reason, "Aggregator failed on {0}; restarting with its state", message?.GetType().Name ?? "(none)");
        Self.Tell(new AggregatorCommands.RestoreState(_state.Copy()));
        base.PreRestart(reason, message);
    }

    /// <summary>Not <see cref="PreStart"/>: the state comes from the failed instance, not from the replica.</summary>
    protected override void PostRestart(Exception reason)
    {
        StartTimers();
        Become(Restoring);
    }

    private void PublishAlert(Topic topic, byte[] dataJson) =>
        Publish(new SequencerCommands.PublishData(ServerMessageType.Alert, topic, dataJson), ServerMessageType.Alert, topic);

    private void PublishUpdate(Topic topic) =>
        Publish(new SequencerCommands.PublishEntities(topic, _state[topic]), ServerMessageType.Update, topic);

    /// <summary>To the sequencer, which numbers and encodes it once.</summary>
    private void Publish(object publish, ServerMessageType type, Topic topic)
    {
        _sequencer.Tell(publish);
        _metrics?.CountPublish(type, topic);
    }

    private DateTimeOffset Now => Context.System.Scheduler.Now;
}
