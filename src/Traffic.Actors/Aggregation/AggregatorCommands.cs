using Traffic.Actors.Protocol;

namespace Traffic.Actors.Aggregation;

/// <summary>Messages of <see cref="AggregatorActor"/>.</summary>
public static class AggregatorCommands
{
    /// <summary>A source's whole current list for a topic; it replaces what the cache held.</summary>
    public sealed record ReplaceTopic(Topic Topic, IReadOnlyList<EntityJson> Entities);

    /// <summary>Something a subscriber must hear now (a severe accident, AQI over threshold): sent at once as an ALERT.</summary>
    public sealed record RaiseAlert(Topic Topic, byte[] DataJson);

    /// <summary>Asks for the current SNAPSHOT; answered with <see cref="SnapshotReady"/>.</summary>
    public sealed record GetSnapshot
    {
        public static readonly GetSnapshot Instance = new();
    }

    public sealed record SnapshotReady(ServerFrame Frame);

    /// <summary>Timer message: time to send this topic's scheduled UPDATE.</summary>
    public sealed record TopicDue(Topic Topic);

    /// <summary>A failed aggregator's state, handed to the instance that replaces it.</summary>
    public sealed record RestoreState(IReadOnlyDictionary<Topic, IReadOnlyList<EntityJson>> State);
}
