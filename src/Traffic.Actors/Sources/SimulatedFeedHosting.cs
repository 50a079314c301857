using Akka.Hosting;
using Traffic.Actors.Hosting;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Sources.Simulation;

namespace Traffic.Actors.Sources;

/// <param name="Seed">Same seed, same city: tests rely on it.</param>
/// <param name="StepInterval">How often the simulated city moves on.</param>
public sealed record SimulationSettings(int Seed, TimeSpan StepInterval)
{
    /// <summary>Another source feeds the same topics (SOURCES=both): the feed upserts and removes instead of replacing whole lists.</summary>
    public bool SharesTopics { get; init; }

    public static SimulationSettings Default { get; } = new(20251129, TimeSpan.FromSeconds(5));
}

public static class SimulatedFeedHosting
{
    /// <summary>Starts the simulated city feed, which feeds the <see cref="AggregatorActor"/> (<see cref="AggregatorHosting.AddAggregator"/>).</summary>
    public static AkkaConfigurationBuilder AddSimulatedFeed(this AkkaConfigurationBuilder builder, SimulationSettings settings) =>
        builder.Needs<AggregatorActor>(nameof(AddSimulatedFeed)).WithActors((system, registry) =>
        {
            var aggregator = registry.Get<AggregatorActor>();
            var simulation = new SteppedSimulation(settings.Seed, system.Scheduler.Now, settings.StepInterval);
            // Fill the aggregator now, from the outside, so even the very first client's SNAPSHOT is full.
            var shared = settings.SharesTopics ? new SharedTopicWriter() : null;
            SimulatedFeedActor.PublishAll(simulation.City, aggregator, shared);
            system.ActorOf(SimulatedFeedActor.Props(simulation, aggregator, settings.StepInterval, shared), "simulated-feed");
        });
}
