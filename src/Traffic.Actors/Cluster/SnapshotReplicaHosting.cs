using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Hosting;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Hosting;

namespace Traffic.Actors.Cluster;

/// <summary>Every node's copy of the aggregator's state, which serves its clients' SNAPSHOTs.</summary>
public static class SnapshotReplicaHosting
{
    /// <summary>The <see cref="SnapshotSource"/> is this node's <see cref="SnapshotReplicaActor"/>.</summary>
    public static AkkaConfigurationBuilder AddSnapshotReplica(this AkkaConfigurationBuilder builder, TimeSpan snapshotWaitLimit) =>
        builder.Needs<AggregatorActor>(nameof(AddSnapshotReplica)).Provides<SnapshotReplicaActor>().Provides<SnapshotSource>()
            .WithActors((system, registry) =>
            {
                var replica = system.ActorOf(
                    SnapshotReplicaActor.Props(registry.Get<DistributedPubSub>(), registry.Get<AggregatorActor>(), snapshotWaitLimit),
                    "snapshot-replica");
                registry.Register<SnapshotReplicaActor>(replica);
                registry.Register<SnapshotSource>(replica);
            });
}
