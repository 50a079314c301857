using Akka.Hosting;

namespace Traffic.Actors.Routing;

/// <summary>
/// Registry key (<c>IRequiredActor&lt;TopicPublisher&gt;</c>) for "where publishes go": whoever
/// publishes (the aggregator's schedule and alerts, <c>POST /api/publish</c>, future sources) tells
/// it <see cref="RegistryCommands.PublishToTopic"/> or <see cref="RegistryCommands.PublishToAll"/>
/// with a frame encoded once. On a single node it is the <see cref="TopicRegistryActor"/> itself
/// (the hot path stays publish -> registry -> sockets); in a cluster it is the
/// <c>ClusterPublisherActor</c>, which hands the publish to DistributedPubSub once, and every
/// node's registry fans it out to its own clients.
/// </summary>
public sealed class TopicPublisher
{
    private TopicPublisher() { }
}

public static class TopicPublisherHosting
{
    /// <summary>Single node: publishes go straight to the local registry. Needs <see cref="TopicRegistryHosting.AddTopicRegistry"/> first.</summary>
    public static AkkaConfigurationBuilder AddLocalPublishing(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((_, registry) => registry.Register<TopicPublisher>(registry.Get<TopicRegistryActor>()));
}
