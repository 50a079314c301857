using System.Globalization;
using System.Text.Json;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Aggregation;

/// <summary>The aggregator's per-entity changes: pure functions over a topic's list (it is never changed in place).</summary>
public static class EntityMerge
{
    /// <summary>The list with each entity replaced by id where it was, new ids appended in their order.</summary>
    public static IReadOnlyList<EntityJson> Upsert(IReadOnlyList<EntityJson> before, IReadOnlyList<EntityJson> changes)
    {
        var merged = new List<EntityJson>(before.Count + changes.Count);
        merged.AddRange(before);
        var index = new Dictionary<string, int>(merged.Count, StringComparer.Ordinal);
        for (var i = 0; i < merged.Count; i++) index.TryAdd(merged[i].Id, i);
        foreach (var entity in changes)
        {
            if (index.TryGetValue(entity.Id, out var at)) merged[at] = entity;
            else
            {
                index[entity.Id] = merged.Count;
                merged.Add(entity);
            }
        }
        return merged;
    }

    /// <summary>The list without these ids; null when none of them was in it (nothing changed).</summary>
    public static IReadOnlyList<EntityJson>? Remove(IReadOnlyList<EntityJson> before, IReadOnlyList<string> ids)
    {
        var gone = ids.ToHashSet(StringComparer.Ordinal);
        var kept = before.Where(e => !gone.Contains(e.Id)).ToArray();
        return kept.Length == before.Count ? null : kept;
    }

    /// <summary>Whether the alert's condition holds against the topic's list before the upsert.</summary>
    public static bool AlertHolds(AggregatorCommands.ConditionalAlert alert, IReadOnlyList<EntityJson> before)
    {
        var previous = before.FirstOrDefault(e => e.Id == alert.EntityId);
        return alert.Condition switch
        {
            AggregatorCommands.AlertCondition.NewEntity => previous is null,
            // Unknown before (first sight, a fresh start): no crossing seen, no alert, as the simulation at its start.
            AggregatorCommands.AlertCondition.CrossedAbove => previous is not null &&
                NumberIn(previous, alert.Field) is { } was && was <= alert.Threshold,
            _ => false,
        };
    }

    private static double? NumberIn(EntityJson entity, string field)
    {
        try
        {
            using var document = JsonDocument.Parse(entity.Utf8Json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(field, out var value)) return null;
            if (value.ValueKind == JsonValueKind.Number) return value.GetDouble();
            return value.ValueKind == JsonValueKind.String &&
                   double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
        }
        catch (JsonException) { return null; }
    }
}
