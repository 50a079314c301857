using Akka.Hosting;
using Traffic.Actors.Hosting;
using Traffic.Actors.Metrics;
using Traffic.Actors.Routing;

namespace Traffic.Actors.Aggregation;

public static class AggregatorHosting
{
    /// <summary>
    /// Starts the <see cref="AggregatorActor"/> on this node (the single-node mode), publishing to the
    /// <see cref="SequencerInbox"/> (<see cref="TopicSequencerHosting.AddTopicSequencer"/>).
    /// In a cluster the aggregator is a singleton instead (<c>ClusterHosting.AddClusterServices</c>).
    /// </summary>
    /// <param name="persisted">With persistence: the state is kept in the database (<see cref="StateStoreActor"/>) and read back at start.</param>
    /// <param name="limits">How much state it holds (<see cref="StateLimits.Default"/> when null).</param>
    public static AkkaConfigurationBuilder AddAggregator(this AkkaConfigurationBuilder builder, TopicSchedule schedule, TrafficMetrics? metrics = null,
        bool persisted = false, StateLimits? limits = null) =>
        builder.Needs<SequencerInbox>(nameof(AddAggregator)).Provides<AggregatorActor>().Provides<SnapshotSource>().WithActors((system, registry) =>
        {
            var aggregator = system.ActorOf(AggregatorActor.Props(registry.Get<SequencerInbox>(), schedule, null, metrics,
                stateStore: persisted ? StateStoreActor.Props() : null, limits: limits), "aggregator");
            registry.Register<AggregatorActor>(aggregator);
            registry.Register<SnapshotSource>(aggregator);
        });
}
