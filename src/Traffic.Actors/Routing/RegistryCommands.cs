using Akka.Actor;
using Traffic.Actors.Protocol;
using Traffic.Actors.Transport;

namespace Traffic.Actors.Routing;

/// <summary>Messages of <see cref="TopicRegistryActor"/>.</summary>
public static class RegistryCommands
{
    /// <summary>
    /// Sets a connection's whole topic set (registering it on first use). <paramref name="ThenSend"/>,
    /// if given, is queued to the socket right after the change takes effect, so a client that reads
    /// it (a SNAPSHOT, a SUBSCRIBED ack) is guaranteed every later publish of its topics.
    /// </summary>
    /// <para>
    /// <paramref name="Snapshot"/>, if given, is the current state: the client gets it as a SNAPSHOT
    /// with every stream's position, after <paramref name="ThenSend"/>. With <paramref name="Since"/>
    /// (a resume), the client first gets RESUMED and the messages it missed, and the SNAPSHOT only if
    /// a topic of <paramref name="NeedState"/> could not be recovered or had no position.
    /// </para>
    public sealed record SetSubscriptions(IActorRef Connection, IClientSocket Socket, TopicSet Topics, ServerFrame? ThenSend,
        ServerFrame? Snapshot = null, ResumeRequest? Since = null, TopicSet NeedState = default);

    /// <summary>
    /// The sequencer's word on where each stream stands (by stream index; null: no word), sent when it
    /// starts and every few seconds on the same path as the frames, so a node notices what it missed.
    /// </summary>
    public sealed record AnnounceHeads(IReadOnlyList<StreamPosition?> Heads);

    /// <summary>Asks the registry where each stream stands on this node; answered with <see cref="Heads"/>.</summary>
    public sealed record GetHeads
    {
        public static readonly GetHeads Instance = new();
    }

    public sealed record Heads(IReadOnlyList<StreamPosition?> Positions);

    /// <summary>
    /// What the journal kept of the streams (<see cref="StreamJournalActor"/>, after a restart), oldest
    /// first, and each stream's head: taken into the history of each stream this node has heard nothing of yet, so that clients
    /// resume across the restart. A registry started to wait for it holds resumes until it comes.
    /// </summary>
    public sealed record RestoreHistory(IReadOnlyList<StreamJournal.Entry> Entries, IReadOnlyList<StreamPosition?> Heads);

    /// <summary>
    /// What a <see cref="JournalRangeReaderActor"/> found in the journal, in numbering order; null: it could not be read.
    /// </summary>
    public sealed record JournalRead(IReadOnlyList<StreamJournal.Entry>? Entries);

    /// <summary>Delivers a frame to every subscriber of one topic.</summary>
    public sealed record PublishToTopic(Topic Topic, ServerFrame Frame);

    /// <summary>Delivers a frame to every connected client, whatever its topics (the original design's broadcast).</summary>
    public sealed record PublishToAll(ServerFrame Frame);

    public sealed record GetStats
    {
        public static readonly GetStats Instance = new();
    }

    /// <summary>The original design's getClientCount and getTopicSubscribers, for every topic.</summary>
    public sealed record Stats(int Clients, IReadOnlyDictionary<Topic, int> Subscribers);
}
