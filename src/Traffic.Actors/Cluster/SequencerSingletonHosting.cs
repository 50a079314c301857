using Akka.Cluster.Hosting;
using Akka.Hosting;
using Traffic.Actors.Hosting;
using Traffic.Actors.Routing;

namespace Traffic.Actors.Cluster;

/// <summary>Numbering in a cluster: one sequencer for every node, reached through each node's forwarder.</summary>
public static class SequencerSingletonHosting
{
    /// <summary>
    /// The <see cref="TopicSequencerActor"/> runs once in the cluster (a singleton, on the oldest node,
    /// beside the aggregator) and <c>IRequiredActor&lt;TopicSequencerActor&gt;</c> is its proxy; the
    /// <see cref="SequencerInbox"/> is this node's <see cref="PublishForwarderActor"/>, which resends each
    /// publish until the sequencer has it, even while the singleton moves. With <paramref name="journal"/>
    /// (persistence on, a database every node shares) the singleton writes every numbered message first
    /// and a new one continues from the journal's heads, densely (<see cref="StreamJournalActor"/>).
    /// </summary>
    public static AkkaConfigurationBuilder AddSequencerSingleton(this AkkaConfigurationBuilder builder, HistorySettings? journal = null) =>
        builder.Needs<FanOutEntry>(nameof(AddSequencerSingleton)).Needs<TopicRegistryActor>(nameof(AddSequencerSingleton))
            .Provides<TopicSequencerActor>().Provides<SequencerInbox>()
            .WithSingleton<TopicSequencerActor>(ClusterHosting.SequencerSingletonName,
                (_, registry, _) => TopicSequencerActor.Props(registry.Get<FanOutEntry>(), registry.Get<TopicRegistryActor>(),
                    journal is null ? null : StreamJournalActor.Props(registry.Get<FanOutEntry>(), registry.Get<TopicRegistryActor>(), journal)),
                new ClusterSingletonOptions { LogSingletonIdentificationFailure = false })
            .WithActors((system, registry) => registry.Register<SequencerInbox>(
                system.ActorOf(PublishForwarderActor.Props(registry.Get<TopicSequencerActor>(), confirmOnAck: journal is not null), "publish-forwarder")));
}
