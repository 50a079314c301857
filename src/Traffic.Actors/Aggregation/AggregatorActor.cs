using Akka.Actor;
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
/// </summary>
public sealed class AggregatorActor : ReceiveActor, IWithTimers
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

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef publisher, TopicSchedule schedule, IActorRef? replicas = null, TrafficMetrics? metrics = null) =>
        Akka.Actor.Props.Create(() => new AggregatorActor(publisher, schedule, replicas, metrics));

    protected override void PreStart()
    {
        foreach (var topic in Topics.Every)
            Timers.StartPeriodicTimer(topic, new AggregatorCommands.TopicDue(topic), _schedule.IntervalOf(topic));
    }

    private void Publish(Topic topic, ServerFrame frame)
    {
        _publisher.Tell(new RegistryCommands.PublishToTopic(topic, frame));
        _metrics?.CountPublish(frame.Type, topic);
    }

    private DateTimeOffset Now => Context.System.Scheduler.Now;
}
