using Traffic.Actors.Protocol;

namespace Traffic.Actors.Sources.Simulation;

/// <summary>
/// A <see cref="CitySimulation"/> advanced on a fixed grid of times (origin + k·step) instead of
/// whenever a timer happens to fire. The same seed, origin and number of steps then give the same
/// city, so a new feed (after a fail-over) rebuilds it exactly by replaying the steps
/// (<see cref="Resume"/>): a day of 5 s steps is 17 280 steps, replayed in well under a second.
/// </summary>
public sealed class SteppedSimulation
{
    private readonly long _stepTicks;

    public SteppedSimulation(int seed, DateTimeOffset origin, TimeSpan step)
    {
        if (step <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(step), step, "The step must be above 0");
        City = new CitySimulation(seed, origin);
        Origin = origin;
        _stepTicks = step.Ticks;
    }

    public CitySimulation City { get; }
    public DateTimeOffset Origin { get; }

    /// <summary>Steps taken since <see cref="Origin"/>.</summary>
    public long Steps { get; private set; }

    public SimulationClock Clock => new(Origin.UtcTicks, Steps);

    /// <summary>
    /// The city of <paramref name="clock"/>: built from the seed and replayed to the clock's step. What
    /// those steps changed or raised was published by the feed that took them, so nothing is returned.
    /// </summary>
    public static SteppedSimulation Resume(int seed, SimulationClock clock, TimeSpan step)
    {
        var simulation = new SteppedSimulation(seed, clock.Origin, step);
        while (simulation.Steps < clock.Step) simulation.TakeStep();
        return simulation;
    }

    /// <summary>
    /// Takes every step due at or before <paramref name="now"/> (normally one; more after a pause, for
    /// example the steps a fail-over missed) and returns the topics they changed and the alerts they raised.
    /// </summary>
    public SimulationStep AdvanceTo(DateTimeOffset now)
    {
        var changed = new List<Topic>();
        var alerts = new List<SimulatedAlert>();
        while (Origin.UtcTicks + (Steps + 1) * _stepTicks <= now.UtcTicks)
        {
            var step = TakeStep();
            foreach (var topic in step.ChangedTopics)
                if (!changed.Contains(topic)) changed.Add(topic);
            alerts.AddRange(step.Alerts);
        }
        changed.Sort();
        return new SimulationStep(changed, alerts);
    }

    private SimulationStep TakeStep()
    {
        Steps++;
        return City.Advance(new DateTimeOffset(Origin.UtcTicks + Steps * _stepTicks, TimeSpan.Zero));
    }
}
