namespace Traffic.Actors.Routing;

/// <summary>
/// Registry key (<c>IRequiredActor&lt;FanOutEntry&gt;</c>) for "where numbered publishes go":
/// the <see cref="TopicSequencerActor"/> (which every publisher tells) tells it
/// <see cref="RegistryCommands.PublishToTopic"/> or <see cref="RegistryCommands.PublishToAll"/>
/// with a frame encoded once, and <see cref="RegistryCommands.AnnounceHeads"/>. On a single node it is the <see cref="TopicRegistryActor"/> itself
/// (the hot path stays publish -> registry -> sockets); in a cluster it is the
/// <c>ClusterPublisherActor</c>, which hands the publish to DistributedPubSub once, and every
/// node's registry fans it out to its own clients.
/// </summary>
public sealed class FanOutEntry
{
    private FanOutEntry() { }
}
