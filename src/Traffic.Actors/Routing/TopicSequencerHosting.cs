using Akka.Hosting;

namespace Traffic.Actors.Routing;

public static class TopicSequencerHosting
{
    /// <summary>
    /// Single node: the <see cref="TopicSequencerActor"/> numbers publishes and hands them straight to
    /// the local registry. Needs <see cref="TopicRegistryHosting.AddTopicRegistry"/> first.
    /// </summary>
    public static AkkaConfigurationBuilder AddTopicSequencer(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, registry) =>
        {
            var topicRegistry = registry.Get<TopicRegistryActor>();
            registry.Register<FanOutEntry>(topicRegistry);
            var sequencer = system.ActorOf(TopicSequencerActor.Props(topicRegistry, topicRegistry), "sequencer");
            registry.Register<TopicSequencerActor>(sequencer);
            registry.Register<SequencerInbox>(sequencer);
        });
}
