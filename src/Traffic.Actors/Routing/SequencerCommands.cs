using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>Messages of <see cref="TopicSequencerActor"/>: what publishers (the aggregator, the publish API) hand it.</summary>
public static class SequencerCommands
{
    /// <summary>A scheduled UPDATE: the topic's whole current list (the sequencer also makes its delta against the previous one).</summary>
    public sealed record PublishEntities(Topic Topic, IReadOnlyList<EntityJson> Entities);

    /// <summary>An UPDATE or ALERT whose data is raw JSON (alerts, POST /api/publish), to a topic or to everyone (null).</summary>
    public sealed record PublishData(ServerMessageType Type, Topic? Topic, byte[] DataJson);
}
