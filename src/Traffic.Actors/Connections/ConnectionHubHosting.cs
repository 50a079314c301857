using Akka.Hosting;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Routing;

namespace Traffic.Actors.Connections;

public static class ConnectionHubHosting
{
    /// <summary>Starts the <see cref="ConnectionHubActor"/>; needs the registry and the aggregator first.</summary>
    public static AkkaConfigurationBuilder AddConnectionHub(this AkkaConfigurationBuilder builder, ConnectionSettings settings) =>
        builder.WithActors((system, registry) =>
        {
            var hub = ConnectionHubActor.Props(registry.Get<TopicRegistryActor>(), registry.Get<AggregatorActor>(), settings);
            registry.Register<ConnectionHubActor>(system.ActorOf(hub, "connections"));
        });
}
