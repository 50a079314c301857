using Akka.Hosting;

namespace Traffic.Actors.Routing;

/// <summary>
/// Registry key (<c>IRequiredActor&lt;SequencerInbox&gt;</c>) for "where a publisher sends": the
/// aggregator's UPDATEs and alerts, <c>POST /api/publish</c>, future sources tell it
/// <see cref="SequencerCommands.PublishEntities"/> or <see cref="SequencerCommands.PublishData"/>.
/// On a single node it is the <see cref="TopicSequencerActor"/>; in a cluster it is this node's
/// <see cref="Cluster.PublishForwarderActor"/>, which gets each publish to the sequencer singleton
/// even while the singleton moves.
/// </summary>
public sealed class SequencerInbox
{
    private SequencerInbox() { }
}
