using Akka.Hosting;
using Traffic.Actors.Hosting;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Metrics;
using Traffic.Actors.Routing;

namespace Traffic.Actors.Connections;

public static class ConnectionHubHosting
{
    /// <summary>Starts the <see cref="ConnectionHubActor"/>, whose connections register with the registry and ask the <see cref="SnapshotSource"/>.</summary>
    public static AkkaConfigurationBuilder AddConnectionHub(this AkkaConfigurationBuilder builder, ConnectionSettings settings, TrafficMetrics? metrics = null) =>
        builder.Needs<TopicRegistryActor>(nameof(AddConnectionHub)).Needs<SnapshotSource>(nameof(AddConnectionHub))
            .Provides<ConnectionHubActor>().AddHocon(ConnectionMailbox.Hocon, HoconAddMode.Append).WithActors((system, registry) =>
        {
            var hub = ConnectionHubActor.Props(registry.Get<TopicRegistryActor>(), registry.Get<SnapshotSource>(), settings, metrics);
            registry.Register<ConnectionHubActor>(system.ActorOf(hub, "connections"));
        });
}
