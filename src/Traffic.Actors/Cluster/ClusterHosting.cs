using Akka.Cluster.Hosting;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Hosting;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Metrics;
using Traffic.Actors.Routing;
using Traffic.Actors.Sources;

namespace Traffic.Actors.Cluster;

public static class ClusterHosting
{
    public const string AggregatorSingletonName = "aggregator";
    public const string FeedSingletonName = "simulated-feed";
    public const string SequencerSingletonName = "sequencer";
    public const string SerializerName = "traffic";

    /// <summary>
    /// Every message that travels between nodes: publishes cross as the frame's bytes, encoded
    /// once at the origin, never re-encoded; state as pre-encoded entities (<see cref="TrafficSerializer"/>).
    /// </summary>
    public static readonly IReadOnlyList<Type> CrossNodeMessages =
    [
        typeof(RegistryCommands.PublishToTopic),
        typeof(RegistryCommands.PublishToAll),
        typeof(RegistryCommands.AnnounceHeads),
        typeof(SequencerCommands.PublishEntities),
        typeof(SequencerCommands.PublishData),
        typeof(SequencerCommands.Forwarded),
        typeof(SequencerCommands.ForwardedUpTo),
        typeof(RegistryCommands.GetStats),
        typeof(RegistryCommands.Stats),
        typeof(AggregatorCommands.ReplaceTopic),
        typeof(AggregatorCommands.RaiseAlert),
        typeof(StateReplication.TopicState),
        typeof(StateReplication.StateVersion),
        typeof(StateReplication.GetFullState),
        typeof(StateReplication.FullState),
        typeof(ClusterFanOutActor.Hello),
        typeof(SimulationClock),
        // NGSI-LD ingest: notifications arrive at any node, the aggregator singleton owns the state.
        typeof(AggregatorCommands.UpsertEntities),
        typeof(AggregatorCommands.RemoveEntities),
        typeof(AggregatorCommands.EntitiesApplied),
    ];

    /// <summary>Binds <see cref="CrossNodeMessages"/> to <see cref="TrafficSerializer"/>.</summary>
    public static AkkaConfigurationBuilder WithTrafficSerializer(this AkkaConfigurationBuilder builder) =>
        builder.WithCustomSerializer(SerializerName, CrossNodeMessages, system => new TrafficSerializer(system));

    /// <summary>
    /// The cluster form of the service's actors (needs clustering configured, and
    /// <see cref="TopicRegistryHosting.AddTopicRegistry"/> first):
    /// <list type="bullet">
    /// <item>the <see cref="FanOutEntry"/> is a <see cref="ClusterPublisherActor"/> (DistributedPubSub), and a
    /// <see cref="ClusterFanOutActor"/> hands every publish of the cluster to this node's registry;</item>
    /// <item>the <see cref="TopicSequencerActor"/> runs once in the cluster (a singleton) and
    /// <c>IRequiredActor&lt;TopicSequencerActor&gt;</c> is its proxy: every publish of every node is numbered there, sent by the
    /// node's <see cref="PublishForwarderActor"/> (<c>IRequiredActor&lt;SequencerInbox&gt;</c>), which resends until the sequencer has it;</item>
    /// <item>the <see cref="AggregatorActor"/> runs once in the cluster (a singleton, on the oldest node) and
    /// <c>IRequiredActor&lt;AggregatorActor&gt;</c> is its proxy;</item>
    /// <item>the <see cref="SnapshotSource"/> is this node's <see cref="SnapshotReplicaActor"/>;</item>
    /// <item>the simulated feed, when <paramref name="simulation"/> is given, is a singleton too, so its
    /// alerts are raised once; every node keeps its clock (<see cref="SimulationClockReplicaActor"/>) so that
    /// the next one continues the same city.</item>
    /// </list>
    /// </summary>
    public static AkkaConfigurationBuilder AddClusterServices(this AkkaConfigurationBuilder builder, TopicSchedule schedule,
        SimulationSettings? simulation, TimeSpan snapshotWaitLimit, TrafficMetrics? metrics = null)
    {
        builder.WithTrafficSerializer()
            .WithDistributedPubSub("")
            .WithActors((system, registry) =>
            {
                var mediator = registry.Get<DistributedPubSub>();
                registry.Register<FanOutEntry>(system.ActorOf(ClusterPublisherActor.Props(mediator), "cluster-publisher"));
                var self = Akka.Cluster.Cluster.Get(system).SelfAddress.ToString();
                registry.Register<ClusterFanOutActor>(
                    system.ActorOf(ClusterFanOutActor.Props(mediator, registry.Get<TopicRegistryActor>(), self), "cluster-fan-out"));
            })
            // Beside the aggregator (both on the oldest node): numbers every publish of the cluster.
            .WithSingleton<TopicSequencerActor>(SequencerSingletonName,
                (_, registry, _) => TopicSequencerActor.Props(registry.Get<FanOutEntry>(), registry.Get<TopicRegistryActor>()),
                new ClusterSingletonOptions { LogSingletonIdentificationFailure = false })
            .WithActors((system, registry) => registry.Register<SequencerInbox>(
                system.ActorOf(PublishForwarderActor.Props(registry.Get<TopicSequencerActor>()), "publish-forwarder")))
            .WithSingleton<AggregatorActor>(AggregatorSingletonName,
                (_, registry, _) =>
                {
                    // Created on whichever node holds the singleton, with that node's publisher.
                    var publisher = registry.Get<FanOutEntry>();
                    return AggregatorActor.Props(registry.Get<SequencerInbox>(), schedule, replicas: publisher, metrics,
                        restoreFrom: () => registry.TryGet<SnapshotReplicaActor>(out var replica) ? replica : null);
                },
                new ClusterSingletonOptions { LogSingletonIdentificationFailure = false })
            .WithActors((system, registry) =>
            {
                var replica = system.ActorOf(
                    SnapshotReplicaActor.Props(registry.Get<DistributedPubSub>(), registry.Get<AggregatorActor>(), snapshotWaitLimit),
                    "snapshot-replica");
                registry.Register<SnapshotReplicaActor>(replica);
                registry.Register<SnapshotSource>(replica);
                if (simulation is not null)
                    registry.Register<SimulationClockReplicaActor>(
                        system.ActorOf(SimulationClockReplicaActor.Props(registry.Get<DistributedPubSub>()), "simulation-clock"));
            });

        if (simulation is not null)
            builder.WithSingleton<SimulatedFeedActor>(FeedSingletonName,
                (_, registry, _) => SimulatedFeedActor.SingletonProps(simulation, registry.Get<AggregatorActor>(),
                    registry.Get<DistributedPubSub>(), registry.Get<SimulationClockReplicaActor>()),
                new ClusterSingletonOptions { LogSingletonIdentificationFailure = false },
                createProxyToo: false);
        return builder;
    }
}
