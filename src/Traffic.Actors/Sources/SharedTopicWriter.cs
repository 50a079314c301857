using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Sources;

/// <summary>
/// How a whole-list source (the simulation) writes a topic that another source also feeds
/// (<c>SOURCES=both</c>): instead of replacing the whole list, which would drop the other source's
/// entities, it upserts its current entities and removes the ids it sent before and no longer has.
/// </summary>
public sealed class SharedTopicWriter
{
    private readonly Dictionary<Topic, HashSet<string>> _sent = new();

    public IEnumerable<object> Commands(Topic topic, IReadOnlyList<EntityJson> entities)
    {
        var now = entities.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        var gone = _sent.TryGetValue(topic, out var before) ? before.Where(id => !now.Contains(id)).ToArray() : [];
        _sent[topic] = now;
        yield return new AggregatorCommands.UpsertEntities(topic, entities);
        if (gone.Length > 0) yield return new AggregatorCommands.RemoveEntities(topic, gone);
    }
}
