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
    private readonly bool _fillOnStart;

    public SimulatedFeedActor(CitySimulation simulation, IActorRef aggregator, TimeSpan stepInterval)
    {
        _simulation = simulation;
        _aggregator = aggregator;
        _stepInterval = stepInterval;
        Receive<Step>(_ => Advance());
    }

    /// <summary>
    /// The feed as a cluster singleton: it builds its own simulation when it starts (on whichever
    /// node holds it, again after a fail-over) and fills the aggregator, through its proxy, at once.
    /// </summary>
    public SimulatedFeedActor(SimulationSettings settings, IActorRef aggregator)
        : this(new CitySimulation(settings.Seed, Context.System.Scheduler.Now), aggregator, settings.StepInterval) =>
        _fillOnStart = true;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(CitySimulation simulation, IActorRef aggregator, TimeSpan stepInterval) =>
        Akka.Actor.Props.Create(() => new SimulatedFeedActor(simulation, aggregator, stepInterval));

    /// <summary>Props of the singleton form: see <see cref="SimulatedFeedActor(SimulationSettings, IActorRef)"/>.</summary>
    public static Props SingletonProps(SimulationSettings settings, IActorRef aggregator) =>
        Akka.Actor.Props.Create(() => new SimulatedFeedActor(settings, aggregator));

    protected override void PreStart()
    {
        if (_fillOnStart) PublishAll(_simulation, _aggregator);
        Timers.StartPeriodicTimer(nameof(Step), Step.Instance, _stepInterval);
    }

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
