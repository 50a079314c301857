using Akka.Hosting;
using Traffic.Actors.Routing;

namespace Traffic.Actors.Aggregation;

public static class AggregatorHosting
{
    /// <summary>Starts the <see cref="AggregatorActor"/>; needs <see cref="TopicRegistryHosting.AddTopicRegistry"/> first.</summary>
    public static AkkaConfigurationBuilder AddAggregator(this AkkaConfigurationBuilder builder, TopicSchedule schedule) =>
        builder.WithActors((system, registry) =>
        {
            var topicRegistry = registry.Get<TopicRegistryActor>();
            registry.Register<AggregatorActor>(system.ActorOf(AggregatorActor.Props(topicRegistry, schedule), "aggregator"));
        });
}
