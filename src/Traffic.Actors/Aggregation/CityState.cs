using Traffic.Actors.Protocol;

namespace Traffic.Actors.Aggregation;

/// <summary>
/// The city's current state as a holder keeps it (the <see cref="AggregatorActor"/>, and in a
/// cluster every node's snapshot replica): each topic's list of pre-encoded entities, the numbering
/// of its changes (<see cref="Incarnation"/>, <see cref="Version"/>, see <see cref="StateReplication"/>),
/// and the SNAPSHOT frame encoded at most once per change. Both holders answer the same two queries
/// from it: <see cref="Snapshot"/> and <see cref="Full"/>.
/// </summary>
public sealed class CityState(long incarnation = 0)
{
    private readonly Dictionary<Topic, IReadOnlyList<EntityJson>> _topics = Topics.Every.ToDictionary(t => t, _ => (IReadOnlyList<EntityJson>)[]);
    private ServerFrame? _snapshot;

    public long Incarnation { get; set; } = incarnation;

    /// <summary>Changes counted within the <see cref="Incarnation"/>.</summary>
    public long Version { get; set; }

    public IReadOnlyList<EntityJson> this[Topic topic]
    {
        get => _topics[topic];
        set
        {
            _topics[topic] = value;
            _snapshot = null;
        }
    }

    /// <summary>Every topic's list; a topic missing from <paramref name="topics"/> is left as it is, or emptied with <paramref name="emptyTheRest"/>.</summary>
    public void Take(IReadOnlyDictionary<Topic, IReadOnlyList<EntityJson>> topics, bool emptyTheRest)
    {
        foreach (var topic in Topics.Every)
            if (topics.TryGetValue(topic, out var list)) _topics[topic] = list;
            else if (emptyTheRest) _topics[topic] = [];
        _snapshot = null;
    }

    /// <summary>A copy of every topic's list (the lists themselves are immutable).</summary>
    public Dictionary<Topic, IReadOnlyList<EntityJson>> Copy() => new(_topics);

    /// <summary>The answer to <see cref="AggregatorQueries.GetSnapshot"/>: the SNAPSHOT, encoded once until the state changes.</summary>
    public AggregatorQueries.SnapshotReady Snapshot(DateTimeOffset now) => new(_snapshot ??= ServerMessages.Snapshot(_topics, now));

    /// <summary>The answer to <see cref="StateReplication.GetFullState"/>.</summary>
    public StateReplication.FullState Full() => new(Incarnation, Version, Copy());
}
