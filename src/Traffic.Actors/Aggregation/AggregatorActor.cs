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
/// <see cref="TopicPublisher"/> (DistributedPubSub), and every change of state also goes to the
/// snapshot replicas (<see cref="StateReplication"/>), which serve SNAPSHOTs on each node.
/// A failure while handling one message restarts it with its state kept (see <see cref="PreRestart"/>).
/// </summary>
public sealed class AggregatorActor : ReceiveActor, IWithTimers, IWithStash
{
    private readonly IActorRef _publisher;
    private readonly IActorRef? _replicas;
    private readonly TrafficMetrics? _metrics;
    private readonly Dictionary<Topic, IReadOnlyList<EntityJson>> _state = Topics.Every.ToDictionary(t => t, _ => (IReadOnlyList<EntityJson>)[]);
    private readonly TopicSchedule _schedule;
    private readonly long _epoch = Random.Shared.NextInt64(1, long.MaxValue);
    private long _version;
    private ServerFrame? _snapshot;

    /// <param name="publisher">Where publishes go: the registry on a single node (<see cref="TopicPublisher"/>).</param>
    /// <param name="schedule">Each topic's UPDATE interval.</param>
    /// <param name="replicas">In a cluster, where changes of state go (to every node's snapshot replica); null on a single node.</param>
    /// <param name="metrics">Counts what this node publishes; null in specs.</param>
    public AggregatorActor(IActorRef publisher, TopicSchedule schedule, IActorRef? replicas = null, TrafficMetrics? metrics = null)
    {
        _publisher = publisher;
        _schedule = schedule;
        _replicas = replicas;
        _metrics = metrics;
        Serving();
    }

    private void Serving()
    {
        Receive<AggregatorCommands.ReplaceTopic>(r =>
        {
            _state[r.Topic] = r.Entities;
            _snapshot = null;
            _version++;
            _replicas?.Tell(new StateReplication.TopicState(_epoch, _version, r.Topic, r.Entities));
        });
        Receive<AggregatorCommands.RaiseAlert>(a =>
            Publish(a.Topic, ServerMessages.Published(ServerMessageType.Alert, a.Topic, a.DataJson, Now)));
        Receive<AggregatorCommands.TopicDue>(d =>
        {
            Publish(d.Topic, ServerMessages.Update(d.Topic, _state[d.Topic], Now));
            _replicas?.Tell(new StateReplication.StateVersion(_epoch, _version));
        });
        Receive<AggregatorCommands.GetSnapshot>(_ =>
            Sender.Tell(new AggregatorCommands.SnapshotReady(_snapshot ??= ServerMessages.Snapshot(_state, Now))));
        Receive<StateReplication.GetFullState>(_ =>
            Sender.Tell(new StateReplication.FullState(_epoch, _version, new Dictionary<Topic, IReadOnlyList<EntityJson>>(_state))));
    }

    /// <summary>Waiting for the state the failed instance handed over; everything else waits behind it.</summary>
    private void Restoring()
    {
        Receive<AggregatorCommands.RestoreState>(restore =>
        {
            foreach (var (topic, entities) in restore.State) _state[topic] = entities;
            _snapshot = null;
            Context.GetLogger().Info("Aggregator restarted with its state kept ({0} entities)", restore.State.Values.Sum(list => list.Count));
            // A new epoch: the replicas see it and ask for the whole state again.
            _replicas?.Tell(new StateReplication.StateVersion(_epoch, _version));
            Become(Serving);
            Stash.UnstashAll();
        });
        ReceiveAny(_ => Stash.Stash());
    }

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    public static Props Props(IActorRef publisher, TopicSchedule schedule, IActorRef? replicas = null, TrafficMetrics? metrics = null) =>
        Akka.Actor.Props.Create(() => new AggregatorActor(publisher, schedule, replicas, metrics));

    protected override void PreStart()
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
        Self.Tell(new AggregatorCommands.RestoreState(new Dictionary<Topic, IReadOnlyList<EntityJson>>(_state)));
        base.PreRestart(reason, message);
    }

    protected override void PostRestart(Exception reason)
    {
        base.PostRestart(reason); // PreStart: the topics' timers again
        Become(Restoring);
    }

    private void Publish(Topic topic, ServerFrame frame)
    {
        _publisher.Tell(new RegistryCommands.PublishToTopic(topic, frame));
        _metrics?.CountPublish(frame.Type, topic);
    }

    private DateTimeOffset Now => Context.System.Scheduler.Now;
}
