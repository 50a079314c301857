using Akka.Cluster.Hosting;
using Akka.Hosting;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Metrics;
using Traffic.Actors.Hosting;
using Traffic.Actors.Ingest;
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
        typeof(AggregatorCommands.ConfirmKept),
        typeof(AggregatorCommands.Kept),
        typeof(AggregatorCommands.NotKept),
    ];

    /// <summary>What is written to the database (docs/architecture.md, "Persistence"): the journal's entries; its heads marks are <see cref="RegistryCommands.AnnounceHeads"/>.</summary>
    public static readonly IReadOnlyList<Type> PersistedMessages =
    [
        typeof(StreamJournal.Entry),
        typeof(RegistryCommands.AnnounceHeads),
        typeof(StateReplication.FullState), // the city's state, as a snapshot
    ];

    /// <summary>Binds <see cref="CrossNodeMessages"/> and <see cref="PersistedMessages"/> to <see cref="TrafficSerializer"/>.</summary>
    public static AkkaConfigurationBuilder WithTrafficSerializer(this AkkaConfigurationBuilder builder) =>
        builder.WithCustomSerializer(SerializerName, CrossNodeMessages.Concat(PersistedMessages).Distinct().ToArray(), system => new TrafficSerializer(system));

    /// <summary>
    /// The cluster form of the service's actors, in start-up order (each extension beside its actors
    /// says what it needs; <see cref="StartOrder"/>): publishing through DistributedPubSub, the
    /// sequencer and the aggregator as singletons, a snapshot replica on every node, and the simulated
    /// feed as a singleton when <paramref name="simulation"/> is given, the NGSI-LD poller as a singleton when
    /// <paramref name="ingest"/> polls a broker.
    /// </summary>
    /// <param name="journal">With persistence: the history's settings, which the sequencer's journal keeps to.</param>
    /// <param name="limits">How much state the aggregator holds (<see cref="StateLimits.Default"/> when null).</param>
    public static AkkaConfigurationBuilder AddClusterServices(this AkkaConfigurationBuilder builder, TopicSchedule schedule,
        SimulationSettings? simulation, TimeSpan snapshotWaitLimit, TrafficMetrics? metrics = null, IngestSettings? ingest = null,
        HistorySettings? journal = null, StateLimits? limits = null)
    {
        builder.WithTrafficSerializer()
            .WithDistributedPubSub("")
            .AddClusterPublishing()
            .AddSequencerSingleton(journal)
            .AddAggregatorSingleton(schedule, metrics, persisted: journal is not null, limits)
            .AddSnapshotReplica(snapshotWaitLimit);
        if (simulation is not null) builder.AddSimulationSingleton(simulation);
        if (ingest?.Poll is not null) builder.AddPollerSingleton(ingest, schedule);
        // Every node reads the journal once, so that clients resume on any node after a restart.
        if (journal is not null)
            builder.WithActors((system, registry) => system.ActorOf(JournalReaderActor.Props(registry.Get<TopicRegistryActor>(), journal), "journal-reader"));
        return builder;
    }
}
