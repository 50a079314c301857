using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Hosting;
using Traffic.Actors.Hosting;
using Traffic.Actors.Routing;

namespace Traffic.Actors.Cluster;

/// <summary>How publishes cross the cluster: DistributedPubSub, once per publish.</summary>
public static class ClusterPublisherHosting
{
    /// <summary>
    /// The <see cref="FanOutEntry"/> is a <see cref="ClusterPublisherActor"/> (hands each numbered frame to
    /// DistributedPubSub once), and a <see cref="ClusterFanOutActor"/> passes every publish of the cluster
    /// to this node's registry.
    /// </summary>
    public static AkkaConfigurationBuilder AddClusterPublishing(this AkkaConfigurationBuilder builder) =>
        builder.Needs<TopicRegistryActor>(nameof(AddClusterPublishing)).Provides<FanOutEntry>().Provides<ClusterFanOutActor>()
            .WithActors((system, registry) =>
            {
                var mediator = registry.Get<DistributedPubSub>();
                registry.Register<FanOutEntry>(system.ActorOf(ClusterPublisherActor.Props(mediator), "cluster-publisher"));
                var self = Akka.Cluster.Cluster.Get(system).SelfAddress.ToString();
                registry.Register<ClusterFanOutActor>(
                    system.ActorOf(ClusterFanOutActor.Props(mediator, registry.Get<TopicRegistryActor>(), self), "cluster-fan-out"));
            });
}
