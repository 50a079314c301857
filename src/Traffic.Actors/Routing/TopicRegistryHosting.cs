using Akka.Hosting;
using Traffic.Actors.Hosting;
using Traffic.Actors.Metrics;

namespace Traffic.Actors.Routing;

public static class TopicRegistryHosting
{
    /// <summary>Starts the <see cref="TopicRegistryActor"/> and registers it as <c>IRequiredActor&lt;TopicRegistryActor&gt;</c>.</summary>
    public static AkkaConfigurationBuilder AddTopicRegistry(this AkkaConfigurationBuilder builder, TrafficMetrics? metrics = null,
        HistorySettings? history = null) =>
        builder.Provides<TopicRegistryActor>().WithActors((system, registry) =>
            registry.Register<TopicRegistryActor>(system.ActorOf(TopicRegistryActor.Props(metrics, history), TopicRegistryActor.Name)));
}
