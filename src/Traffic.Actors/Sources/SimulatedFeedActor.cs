using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;
using Traffic.Actors.Sources.Simulation;

namespace Traffic.Actors.Sources;

/// <summary>
/// The built-in source: advances the <see cref="CitySimulation"/> on a timer and hands what
/// changed to the aggregator (whole topic lists) and its alerts (as ALERTs, at once).
/// </summary>
public sealed class SimulatedFeedActor : ReceiveActor, IWithTimers
{
    private sealed record Step
    {
        public static readonly Step Instance = new();
    }

    private readonly CitySimulation _simulation;
    private readonly IActorRef _aggregator;
    private readonly TimeSpan _stepInterval;

    public SimulatedFeedActor(CitySimulation simulation, IActorRef aggregator, TimeSpan stepInterval)
    {
        _simulation = simulation;
        _aggregator = aggregator;
        _stepInterval = stepInterval;
        Receive<Step>(_ => Advance());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(CitySimulation simulation, IActorRef aggregator, TimeSpan stepInterval) =>
        Akka.Actor.Props.Create(() => new SimulatedFeedActor(simulation, aggregator, stepInterval));

    protected override void PreStart() => Timers.StartPeriodicTimer(nameof(Step), Step.Instance, _stepInterval);

    /// <summary>Sends every topic's current list; called once before the first client can connect.</summary>
    public static void PublishAll(CitySimulation simulation, IActorRef aggregator)
    {
        foreach (var topic in Topics.Every) aggregator.Tell(Replace(simulation, topic));
    }

    private void Advance()
    {
        var step = _simulation.Advance(Context.System.Scheduler.Now);
        foreach (var topic in step.ChangedTopics) _aggregator.Tell(Replace(_simulation, topic));
        foreach (var alert in step.Alerts)
            _aggregator.Tell(new AggregatorCommands.RaiseAlert(alert.Topic, JsonSerializer.SerializeToUtf8Bytes(alert.Data)));
    }

    private static AggregatorCommands.ReplaceTopic Replace(CitySimulation simulation, Topic topic) =>
        new(topic, simulation.Current(topic).Select(ToEntity).ToArray());

    private static EntityJson ToEntity(JsonObject entity) =>
        new(entity["id"]?.GetValue<string>() ?? "", JsonSerializer.SerializeToUtf8Bytes(entity));
}
