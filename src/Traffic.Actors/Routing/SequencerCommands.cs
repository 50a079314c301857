using Akka.Actor;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>Messages of <see cref="TopicSequencerActor"/>: what publishers (the aggregator, the publish API) hand it.</summary>
public static class SequencerCommands
{
    /// <summary>A scheduled UPDATE: the topic's whole current list (the sequencer also makes its delta against the previous one).</summary>
    public sealed record PublishEntities(Topic Topic, IReadOnlyList<EntityJson> Entities);

    /// <summary>An UPDATE or ALERT whose data is raw JSON (alerts, POST /api/publish), to a topic or to everyone (null).</summary>
    public sealed record PublishData(ServerMessageType Type, Topic? Topic, byte[] DataJson);

    /// <summary>
    /// A publish (<see cref="PublishEntities"/> or <see cref="PublishData"/>) from a node's forwarder,
    /// number <paramref name="Number"/> of <paramref name="Origin"/>: taken once, in order, and acknowledged
    /// to <paramref name="ReplyTo"/> with <see cref="ForwardedUpTo"/>. <paramref name="OldestUnacknowledged"/>
    /// is the first number the forwarder still waits to hear of: where a new sequencer starts counting
    /// (whatever arrives first), and past which nothing older will come (the forwarder dropped it).
    /// </summary>
    public sealed record Forwarded(string Origin, long Number, long OldestUnacknowledged, object Publish, IActorRef ReplyTo);

    /// <summary>Every publish of <paramref name="Origin"/> up to <paramref name="Number"/> is taken (with persistence: written).</summary>
    public sealed record ForwardedUpTo(string Origin, long Number);

    /// <summary>
    /// A publish (<see cref="PublishData"/> or <see cref="PublishEntities"/>) whose sender waits to hear
    /// that it will be delivered: <see cref="PublishConfirmed"/> once it is numbered (with persistence:
    /// written to the journal), <see cref="PublishRefused"/> when it cannot be kept now. Local to a node.
    /// Past <paramref name="GiveUpAtUtc"/> the sender has stopped waiting (and told its publisher 503):
    /// a sequencer that only gets to it then (it was starting, or busy) drops it instead of numbering it.
    /// </summary>
    public sealed record PublishAndConfirm(object Publish, DateTime? GiveUpAtUtc = null);

    public sealed record PublishConfirmed
    {
        public static readonly PublishConfirmed Instance = new();
    }

    /// <summary>
    /// A barrier: answered <see cref="Written"/> with <paramref name="Id"/> once every publish its sender handed over
    /// before it is written (with persistence; at once without), or <see cref="NotWritten"/> when that cannot be
    /// promised now (the journal is away, a forwarder dropped publishes). Local to a node, like <see cref="PublishAndConfirm"/>.
    /// </summary>
    public sealed record ConfirmWritten(long Id);

    public sealed record Written(long Id);

    public sealed record NotWritten(long Id, string Reason);

    /// <summary>Asks the sequencer (on this node) how numbering stands; answered with <see cref="Status"/>.</summary>
    public sealed record GetStatus
    {
        public static readonly GetStatus Instance = new();
    }

    /// <param name="Numbering">It has started and numbers publishes.</param>
    /// <param name="Persisting">Every numbered message is written to the journal first.</param>
    /// <param name="JournalDownSince">With persistence: since when the journal is away (the database unreachable); null while it is up.</param>
    public sealed record Status(bool Numbering, bool Persisting, DateTimeOffset? JournalDownSince);

    /// <param name="Reason">Why, for the publisher (e.g. the database is unreachable).</param>
    public sealed record PublishRefused(string Reason);
}
