using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;
using Traffic.Actors.Sources.Simulation;

namespace Traffic.Actors.Sources;

/// <summary>
/// The built-in source: advances the simulated city (<see cref="SteppedSimulation"/>) on a timer and
/// hands what changed to the aggregator (whole topic lists) and its alerts (as ALERTs, at once).
/// </summary>
public sealed class SimulatedFeedActor : ReceiveActor, IWithTimers, IWithStash
{
    /// <summary>How long the singleton waits for its node's copy of the clock (a local actor) before it starts the city afresh.</summary>
    public static readonly TimeSpan ClockWait = TimeSpan.FromSeconds(3);

    private sealed record Step
    {
        public static readonly Step Instance = new();
    }

    private sealed record ClockTimedOut
    {
        public static readonly ClockTimedOut Instance = new();
    }

    private readonly IActorRef _aggregator;
    private readonly TimeSpan _stepInterval;
    private readonly SimulationSettings? _settings;
    private readonly IActorRef? _mediator;
    private readonly IActorRef? _clockReplica;
    private SteppedSimulation? _simulation;
    private readonly SharedTopicWriter? _shared;

    /// <param name="shared">With SOURCES=both: writes topics by upsert/remove so another source's entities stay (null: whole lists).</param>
    public SimulatedFeedActor(SteppedSimulation simulation, IActorRef aggregator, TimeSpan stepInterval, SharedTopicWriter? shared = null)
    {
        _simulation = simulation;
        _shared = shared;
        _aggregator = aggregator;
        _stepInterval = stepInterval;
        Running();
    }

    /// <summary>
    /// The feed as a cluster singleton: when it starts (on whichever node holds it, again after a
    /// fail-over) it asks its node's <see cref="SimulationClockReplicaActor"/> where the city stands,
    /// continues it from there (or starts it when no feed ran before), fills the aggregator through
    /// its proxy at once, and publishes its clock after every step.
    /// </summary>
    public SimulatedFeedActor(SimulationSettings settings, IActorRef aggregator, IActorRef mediator, IActorRef clockReplica)
    {
        _settings = settings;
        _aggregator = aggregator;
        _stepInterval = settings.StepInterval;
        _mediator = mediator;
        _clockReplica = clockReplica;
        _shared = settings.SharesTopics ? new SharedTopicWriter() : null;
        Starting();
    }

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    public static Props Props(SteppedSimulation simulation, IActorRef aggregator, TimeSpan stepInterval, SharedTopicWriter? shared = null) =>
        Akka.Actor.Props.Create(() => new SimulatedFeedActor(simulation, aggregator, stepInterval, shared));

    /// <summary>Props of the singleton form: see <see cref="SimulatedFeedActor(SimulationSettings, IActorRef, IActorRef, IActorRef)"/>.</summary>
    public static Props SingletonProps(SimulationSettings settings, IActorRef aggregator, IActorRef mediator, IActorRef clockReplica) =>
        Akka.Actor.Props.Create(() => new SimulatedFeedActor(settings, aggregator, mediator, clockReplica));

    protected override void PreStart()
    {
        if (_clockReplica is not null)
        {
            _clockReplica.Tell(SimulationClockCommands.GetLatest.Instance);
            Timers.StartSingleTimer(nameof(ClockTimedOut), ClockTimedOut.Instance, ClockWait);
        }
        else Timers.StartPeriodicTimer(nameof(Step), Step.Instance, _stepInterval);
    }

    /// <summary>Sends every topic's current list; called once before the first client can connect.</summary>
    public static void PublishAll(CitySimulation simulation, IActorRef aggregator, SharedTopicWriter? shared = null)
    {
        foreach (var topic in Topics.Every) Send(simulation, topic, aggregator, shared);
    }

    private void Starting()
    {
        Receive<SimulationClockCommands.Latest>(latest => Start(latest.Clock));
        Receive<ClockTimedOut>(_ =>
        {
            Context.GetLogger().Warning("No simulation clock from this node within {0:0.0} s; starting the simulated city afresh", ClockWait.TotalSeconds);
            Start(null);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void Start(SimulationClock? clock)
    {
        var settings = _settings!;
        var now = Context.System.Scheduler.Now;
        if (clock is null)
        {
            _simulation = new SteppedSimulation(settings.Seed, now, _stepInterval);
            Context.GetLogger().Info("Simulated city started (seed {0})", settings.Seed);
        }
        else
        {
            _simulation = SteppedSimulation.Resume(settings.Seed, clock, _stepInterval);
            Context.GetLogger().Info("Simulated city continued from step {0} of {1:O} (seed {2})", clock.Step, clock.Origin, settings.Seed);
        }
        // The steps the fail-over missed, alerts included (late, not lost), then the whole city at once.
        RaiseAlerts(_simulation.AdvanceTo(now));
        PublishAll(_simulation.City, _aggregator, _shared);
        PublishClock();
        Timers.Cancel(nameof(ClockTimedOut));
        Timers.StartPeriodicTimer(nameof(Step), Step.Instance, _stepInterval);
        Become(Running);
        Stash.UnstashAll();
    }

    private void Running()
    {
        Receive<Step>(_ => Advance());
        Receive<SimulationClockCommands.Latest>(_ => { }); // late answer after the wait ran out
        Receive<ClockTimedOut>(_ => { });
        Receive<AggregatorCommands.EntitiesApplied>(_ => { }); // the aggregator's answer to a shared topic's upsert
    }

    private void Advance()
    {
        var step = _simulation!.AdvanceTo(Context.System.Scheduler.Now);
        foreach (var topic in step.ChangedTopics) Send(_simulation.City, topic, _aggregator, _shared);
        RaiseAlerts(step);
        PublishClock();
    }

    private void RaiseAlerts(SimulationStep step)
    {
        foreach (var alert in step.Alerts)
            _aggregator.Tell(new AggregatorCommands.RaiseAlert(alert.Topic, JsonSerializer.SerializeToUtf8Bytes(alert.Data)));
    }

    private void PublishClock() => _mediator?.Tell(new Publish(SimulationClockCommands.Topic, _simulation!.Clock));

    private static void Send(CitySimulation simulation, Topic topic, IActorRef aggregator, SharedTopicWriter? shared)
    {
        var replace = Replace(simulation, topic);
        if (shared is null) aggregator.Tell(replace);
        else foreach (var command in shared.Commands(topic, replace.Entities)) aggregator.Tell(command);
    }

    private static AggregatorCommands.ReplaceTopic Replace(CitySimulation simulation, Topic topic) =>
        new(topic, simulation.Current(topic).Select(ToEntity).ToArray());

    private static EntityJson ToEntity(JsonObject entity) =>
        new(entity["id"]?.GetValue<string>() ?? "", JsonSerializer.SerializeToUtf8Bytes(entity));
}
