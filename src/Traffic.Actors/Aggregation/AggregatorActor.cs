using Akka.Actor;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;

namespace Traffic.Actors.Aggregation;

/// <summary>
/// Holds the current state of every topic, sends each topic's scheduled UPDATE (its whole list)
/// on the topic's own timer, relays alerts at once, and answers snapshot requests. The SNAPSHOT
/// frame is encoded once per change of state, not once per connecting client.
/// </summary>
public sealed class AggregatorActor : ReceiveActor, IWithTimers
{
    private readonly IActorRef _registry;
    private readonly Dictionary<Topic, IReadOnlyList<EntityJson>> _state = Topics.Every.ToDictionary(t => t, _ => (IReadOnlyList<EntityJson>)[]);
    private readonly TopicSchedule _schedule;
    private ServerFrame? _snapshot;

    public AggregatorActor(IActorRef registry, TopicSchedule schedule)
    {
        _registry = registry;
        _schedule = schedule;

        Receive<AggregatorCommands.ReplaceTopic>(r =>
        {
            _state[r.Topic] = r.Entities;
            _snapshot = null;
        });
        Receive<AggregatorCommands.RaiseAlert>(a =>
            _registry.Tell(new RegistryCommands.PublishToTopic(a.Topic,
                ServerMessages.Published(ServerMessageType.Alert, a.Topic, a.DataJson, Now))));
        Receive<AggregatorCommands.TopicDue>(d =>
            _registry.Tell(new RegistryCommands.PublishToTopic(d.Topic, ServerMessages.Update(d.Topic, _state[d.Topic], Now))));
        Receive<AggregatorCommands.GetSnapshot>(_ =>
            Sender.Tell(new AggregatorCommands.SnapshotReady(_snapshot ??= ServerMessages.Snapshot(_state, Now))));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef registry, TopicSchedule schedule) =>
        Akka.Actor.Props.Create(() => new AggregatorActor(registry, schedule));

    protected override void PreStart()
    {
        foreach (var topic in Topics.Every)
            Timers.StartPeriodicTimer(topic, new AggregatorCommands.TopicDue(topic), _schedule.IntervalOf(topic));
    }

    private DateTimeOffset Now => Context.System.Scheduler.Now;
}
