using Akka.Hosting;
using Traffic.Actors.Hosting;
using Traffic.Actors.Metrics;

namespace Traffic.Actors.Routing;

public static class TopicRegistryHosting
{
    /// <summary>Starts the <see cref="TopicRegistryActor"/> and registers it as <c>IRequiredActor&lt;TopicRegistryActor&gt;</c>.</summary>
    /// <param name="awaitRestore">With persistence on a single node: resumes wait for the journal's history (<see cref="StreamJournalActor"/>).</param>
    /// <param name="fillGaps">With persistence: messages this node missed are read from the journal (<see cref="JournalRangeReaderActor"/>).</param>
    public static AkkaConfigurationBuilder AddTopicRegistry(this AkkaConfigurationBuilder builder, TrafficMetrics? metrics = null,
        HistorySettings? history = null, bool awaitRestore = false, bool fillGaps = false) =>
        builder.Provides<TopicRegistryActor>().WithActors((system, registry) =>
            registry.Register<TopicRegistryActor>(system.ActorOf(TopicRegistryActor.Props(metrics, history, awaitRestore, fillGaps), TopicRegistryActor.Name)));
}
