using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Cluster;

/// <summary>
/// A node's copy of the aggregator's state, kept current over DistributedPubSub
/// (<see cref="ClusterTopics.State"/>), so that a connecting client's SNAPSHOT is served on its
/// own node at once instead of asking the singleton across the network for every connect. It
/// answers <see cref="AggregatorQueries.GetSnapshot"/> exactly as the aggregator does, with a
/// frame encoded once per change of state.
/// At start, and whenever it notices that it missed a change (a gap in the versions, a new incarnation
/// after a fail-over, a <see cref="StateReplication.StateVersion"/> it does not match), it asks the
/// aggregator (through the singleton proxy) for the whole state, and asks again every
/// <see cref="RetryInterval"/> until it has it. A new aggregator that starts on this node asks it
/// for the state in turn (<see cref="StateReplication.GetFullState"/>), so a fail-over keeps the city. Snapshot requests that arrive before its first
/// state wait for it, at most <c>waitLimit</c>; then they get what it has.
/// </summary>
public sealed class SnapshotReplicaActor : ReceiveActor, IWithTimers, IWithStash
{
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);

    /// <summary>Asks whether the replica holds the aggregator's state yet; answered with <see cref="Status"/>.</summary>
    public sealed record GetStatus
    {
        public static readonly GetStatus Instance = new();
    }

    public sealed record Status(bool Synced, long Incarnation, long Version);

    private sealed record Retry
    {
        public static readonly Retry Instance = new();
    }

    private sealed record StopWaiting
    {
        public static readonly StopWaiting Instance = new();
    }

    private readonly IActorRef _mediator;
    private readonly IActorRef _aggregator;
    private readonly TimeSpan _waitLimit;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CityState _state = new();
    private bool _synced;
    private bool _waitedOut;
    private bool _resyncPending;

    /// <param name="mediator">DistributedPubSub's mediator.</param>
    /// <param name="aggregator">The aggregator singleton's proxy.</param>
    /// <param name="waitLimit">How long a snapshot request may wait for the first state.</param>
    public SnapshotReplicaActor(IActorRef mediator, IActorRef aggregator, TimeSpan waitLimit)
    {
        _mediator = mediator;
        _aggregator = aggregator;
        _waitLimit = waitLimit;

        Receive<AggregatorQueries.GetSnapshot>(_ =>
        {
            if (_synced || _waitedOut) Sender.Tell(_state.Snapshot(Now));
            else Stash.Stash();
        });
        Receive<StateReplication.FullState>(Apply);
        Receive<StateReplication.TopicState>(Apply);
        Receive<StateReplication.StateVersion>(v =>
        {
            if (v.Incarnation != _state.Incarnation || v.Version > _state.Version) Resync($"its version {v.Incarnation}/{v.Version} is not mine {_state.Incarnation}/{_state.Version}");
        });
        Receive<Retry>(_ =>
        {
            if (_resyncPending) _aggregator.Tell(StateReplication.GetFullState.Instance);
        });
        Receive<StopWaiting>(_ =>
        {
            if (_synced) return;
            _log.Warning("No state from the aggregator within {0:0.0} s; serving SNAPSHOTs with what this node has until it comes", _waitLimit.TotalSeconds);
            _waitedOut = true;
            Stash.UnstashAll();
        });
        Receive<GetStatus>(_ => Sender.Tell(new Status(_synced, _state.Incarnation, _state.Version)));
        // A new aggregator on this node (after a fail-over) starts from what this replica holds.
        Receive<StateReplication.GetFullState>(_ => Sender.Tell(_state.Full()));
        Receive<SubscribeAck>(_ => { });
    }

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    public static Props Props(IActorRef mediator, IActorRef aggregator, TimeSpan waitLimit) =>
        Akka.Actor.Props.Create(() => new SnapshotReplicaActor(mediator, aggregator, waitLimit));

    protected override void PreStart()
    {
        _mediator.Tell(new Subscribe(ClusterTopics.State, Self));
        Timers.StartPeriodicTimer(nameof(Retry), Retry.Instance, RetryInterval);
        Timers.StartSingleTimer(nameof(StopWaiting), StopWaiting.Instance, _waitLimit);
        Resync("starting");
    }

    private void Apply(StateReplication.FullState full)
    {
        if (full.Incarnation == _state.Incarnation && full.Version < _state.Version) return; // an older answer; a newer one is coming or came
        _state.Take(full.Topics, emptyTheRest: true);
        _state.Incarnation = full.Incarnation;
        _state.Version = full.Version;
        _resyncPending = false;
        if (_synced) return;
        _synced = true;
        _log.Info("Snapshot replica has the aggregator's state (incarnation {0}, version {1})", _state.Incarnation, _state.Version);
        Stash.UnstashAll();
    }

    private void Apply(StateReplication.TopicState change)
    {
        if (change.Incarnation == _state.Incarnation && change.Version <= _state.Version) return; // already in what this replica holds
        // A topic's whole list is right whatever else was missed: take it now, then catch up on the rest.
        _state[change.Topic] = change.Entities;
        if (change.Incarnation == _state.Incarnation && change.Version == _state.Version + 1) _state.Version = change.Version;
        else Resync(change.Incarnation == _state.Incarnation ? $"missed changes {_state.Version + 1}..{change.Version - 1}" : "the aggregator has a new incarnation");
    }

    private void Resync(string why)
    {
        if (_resyncPending) return;
        _log.Debug("Asking the aggregator for its whole state: {0}", why);
        _resyncPending = true;
        _aggregator.Tell(StateReplication.GetFullState.Instance);
    }

    private DateTimeOffset Now => Context.System.Scheduler.Now;
}
