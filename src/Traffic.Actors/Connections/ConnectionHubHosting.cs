using Akka.Hosting;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Metrics;
using Traffic.Actors.Routing;

namespace Traffic.Actors.Connections;

public static class ConnectionHubHosting
{
    /// <summary>Starts the <see cref="ConnectionHubActor"/>; needs the registry and the <see cref="SnapshotSource"/> first.</summary>
    public static AkkaConfigurationBuilder AddConnectionHub(this AkkaConfigurationBuilder builder, ConnectionSettings settings, TrafficMetrics? metrics = null) =>
        builder.WithActors((system, registry) =>
        {
            var hub = ConnectionHubActor.Props(registry.Get<TopicRegistryActor>(), registry.Get<SnapshotSource>(), settings, metrics);
            registry.Register<ConnectionHubActor>(system.ActorOf(hub, "connections"));
        });
}
