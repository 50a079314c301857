using Akka.Cluster.Hosting;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Hosting;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Hosting;
using Traffic.Actors.Sources;

namespace Traffic.Actors.Cluster;

/// <summary>The simulated city in a cluster: moved by one node, its clock kept by all.</summary>
public static class SimulationSingletonHosting
{
    /// <summary>
    /// The simulated feed is a singleton, so its alerts are raised once; every node keeps its clock
    /// (<see cref="SimulationClockReplicaActor"/>) so that the node that takes over continues the same city.
    /// </summary>
    public static AkkaConfigurationBuilder AddSimulationSingleton(this AkkaConfigurationBuilder builder, SimulationSettings simulation) =>
        builder.Needs<AggregatorActor>(nameof(AddSimulationSingleton)).Provides<SimulationClockReplicaActor>()
            .WithActors((system, registry) => registry.Register<SimulationClockReplicaActor>(
                system.ActorOf(SimulationClockReplicaActor.Props(registry.Get<DistributedPubSub>()), "simulation-clock")))
            .WithSingleton<SimulatedFeedActor>(ClusterHosting.FeedSingletonName,
                (_, registry, _) => SimulatedFeedActor.SingletonProps(simulation, registry.Get<AggregatorActor>(),
                    registry.Get<DistributedPubSub>(), registry.Get<SimulationClockReplicaActor>()),
                new ClusterSingletonOptions { LogSingletonIdentificationFailure = false },
                createProxyToo: false);
}
