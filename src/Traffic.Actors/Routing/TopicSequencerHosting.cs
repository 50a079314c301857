using Akka.Hosting;
using Traffic.Actors.Hosting;

namespace Traffic.Actors.Routing;

public static class TopicSequencerHosting
{
    /// <summary>
    /// Single node: the <see cref="TopicSequencerActor"/> numbers publishes and hands them straight to
    /// the local registry (<see cref="TopicRegistryHosting.AddTopicRegistry"/>). With <paramref name="journal"/>
    /// (persistence on) every numbered message is written first (<see cref="StreamJournalActor"/>).
    /// </summary>
    public static AkkaConfigurationBuilder AddTopicSequencer(this AkkaConfigurationBuilder builder, HistorySettings? journal = null) =>
        builder.Needs<TopicRegistryActor>(nameof(AddTopicSequencer))
            .Provides<FanOutEntry>().Provides<TopicSequencerActor>().Provides<SequencerInbox>()
            .WithActors((system, registry) =>
        {
            var topicRegistry = registry.Get<TopicRegistryActor>();
            registry.Register<FanOutEntry>(topicRegistry);
            var journalProps = journal is null ? null : StreamJournalActor.Props(topicRegistry, topicRegistry, journal);
            var sequencer = system.ActorOf(TopicSequencerActor.Props(topicRegistry, topicRegistry, journalProps), "sequencer");
            registry.Register<TopicSequencerActor>(sequencer);
            registry.Register<SequencerInbox>(sequencer);
        });
}
