using System.Text;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Aggregation;

/// <summary>
/// Keeps the aggregator's state within its <see cref="StateLimits"/>: every change of a topic's list is
/// fitted before it is taken. What the topic held stays; a held entity's change is taken while the state
/// has room for it; new ids come in, in their order, while the topic has fewer entities than its bound
/// and the state has room. The rest is refused (the aggregator counts and logs it). A state restored
/// over the bounds (settings lowered since it was saved) is kept as it is: nothing held is dropped.
/// </summary>
public sealed class StateBudget(StateLimits limits)
{
    /// <summary>What an entity costs beyond its bytes: its length prefixes on the wire, the commas of a JSON list.</summary>
    public const int FramingBytes = 16;

    private readonly long[] _bytes = new long[Topics.Count];

    public StateLimits Limits => limits;

    /// <summary>Bytes over every topic, as <see cref="SizeOf(EntityJson)"/> counts them.</summary>
    public long TotalBytes
    {
        get
        {
            long total = 0;
            foreach (var bytes in _bytes) total += bytes;
            return total;
        }
    }

    public long BytesOf(Topic topic) => _bytes[(int)topic];

    public static long SizeOf(EntityJson entity) => entity.Utf8Json.Length + Encoding.UTF8.GetByteCount(entity.Id) + FramingBytes;

    public static long SizeOf(IReadOnlyList<EntityJson> entities)
    {
        long size = 0;
        foreach (var entity in entities) size += SizeOf(entity);
        return size;
    }

    /// <summary>What a topic holds now, taken without a check (a restored state, as it was saved).</summary>
    public void Held(Topic topic, IReadOnlyList<EntityJson> entities) => _bytes[(int)topic] = SizeOf(entities);

    /// <summary>A topic's list going from <paramref name="before"/> to <paramref name="proposed"/>, fitted: the list to take, and the ids refused.</summary>
    public Fitted Fit(Topic topic, IReadOnlyList<EntityJson> before, IReadOnlyList<EntityJson> proposed)
    {
        var room = limits.MaxStateBytes - (TotalBytes - _bytes[(int)topic]);
        var size = SizeOf(proposed);
        if (proposed.Count <= limits.MaxEntitiesPerTopic && size <= room)
        {
            _bytes[(int)topic] = size;
            return new Fitted(proposed, []);
        }

        var held = new Dictionary<string, EntityJson>(before.Count, StringComparer.Ordinal);
        foreach (var entity in before) held.TryAdd(entity.Id, entity);
        var kept = new EntityJson?[proposed.Count];
        long used = 0;
        var count = 0;
        for (var i = 0; i < proposed.Count; i++) // what was held stays, as it was
        {
            if (!held.TryGetValue(proposed[i].Id, out var was)) continue;
            kept[i] = was;
            used += SizeOf(was);
            count++;
        }
        var refused = new List<string>();
        for (var i = 0; i < proposed.Count; i++) // its changes, while they fit
        {
            if (kept[i] is not { } was || ReferenceEquals(was, proposed[i])) continue;
            var growth = SizeOf(proposed[i]) - SizeOf(was);
            if (growth > 0 && used + growth > room) refused.Add(proposed[i].Id);
            else
            {
                kept[i] = proposed[i];
                used += growth;
            }
        }
        for (var i = 0; i < proposed.Count; i++) // new ids, in their order, while the topic and the state have room
        {
            if (kept[i] is not null) continue;
            var cost = SizeOf(proposed[i]);
            if (count < limits.MaxEntitiesPerTopic && used + cost <= room)
            {
                kept[i] = proposed[i];
                used += cost;
                count++;
            }
            else refused.Add(proposed[i].Id);
        }
        var list = new List<EntityJson>(count);
        foreach (var entity in kept)
            if (entity is not null) list.Add(entity);
        _bytes[(int)topic] = used;
        return new Fitted(list, refused);
    }

    /// <summary>The list to take, and the ids of the entities (or of their changes) refused for want of room.</summary>
    public sealed record Fitted(IReadOnlyList<EntityJson> Entities, IReadOnlyList<string> Refused);
}
