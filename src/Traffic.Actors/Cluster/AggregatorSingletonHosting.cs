using Akka.Cluster.Hosting;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Hosting;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Hosting;
using Traffic.Actors.Metrics;
using Traffic.Actors.Routing;

namespace Traffic.Actors.Cluster;

/// <summary>The city's state in a cluster: one aggregator, copied to every node.</summary>
public static class AggregatorSingletonHosting
{
    /// <summary>
    /// The <see cref="AggregatorActor"/> runs once in the cluster (a singleton, on the oldest node) and
    /// <c>IRequiredActor&lt;AggregatorActor&gt;</c> is its proxy. It replicates its state through the
    /// <see cref="FanOutEntry"/> (DistributedPubSub) and, when it starts on a node, starts from that node's
    /// replica (<see cref="SnapshotReplicaHosting.AddSnapshotReplica"/>, found when it starts).
    /// </summary>
    /// <param name="limits">How much state it holds (<see cref="StateLimits.Default"/> when null).</param>
    /// <param name="persisted">With persistence (a database every node shares): the state is kept there too, and a
    /// new aggregator whose replica is empty (the whole cluster started again) starts from it.</param>
    public static AkkaConfigurationBuilder AddAggregatorSingleton(this AkkaConfigurationBuilder builder, TopicSchedule schedule,
        TrafficMetrics? metrics = null, bool persisted = false, StateLimits? limits = null) =>
        builder.Needs<SequencerInbox>(nameof(AddAggregatorSingleton)).Needs<FanOutEntry>(nameof(AddAggregatorSingleton))
            .Provides<AggregatorActor>()
            .WithSingleton<AggregatorActor>(ClusterHosting.AggregatorSingletonName,
                (_, registry, _) => AggregatorActor.Props(registry.Get<SequencerInbox>(), schedule, replicas: registry.Get<FanOutEntry>(), metrics,
                    restoreFrom: () => registry.TryGet<SnapshotReplicaActor>(out var replica) ? replica : null,
                    stateStore: persisted ? StateStoreActor.Props() : null, limits: limits),
                new ClusterSingletonOptions { LogSingletonIdentificationFailure = false });
}
