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
    /// to <paramref name="ReplyTo"/> with <see cref="ForwardedUpTo"/>.
    /// </summary>
    public sealed record Forwarded(string Origin, long Number, object Publish, IActorRef ReplyTo);

    /// <summary>Every publish of <paramref name="Origin"/> up to <paramref name="Number"/> is taken.</summary>
    public sealed record ForwardedUpTo(string Origin, long Number);
}
