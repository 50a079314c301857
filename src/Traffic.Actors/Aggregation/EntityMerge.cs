using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Aggregation;

/// <summary>The aggregator's per-entity changes: pure functions over a topic's list (it is never changed in place).</summary>
public static class EntityMerge
{
    /// <summary>
    /// The list with each entity replaced by id where it was (with <see cref="AggregatorCommands.UpsertMode.MergeFields"/>:
    /// its fields merged into the one held, see <see cref="MergeFields"/>), new ids appended in their order.
    /// </summary>
    public static IReadOnlyList<EntityJson> Upsert(IReadOnlyList<EntityJson> before, IReadOnlyList<EntityJson> changes,
        AggregatorCommands.UpsertMode mode = AggregatorCommands.UpsertMode.Replace)
    {
        var merging = mode == AggregatorCommands.UpsertMode.MergeFields;
        var merged = new List<EntityJson>(before.Count + changes.Count);
        merged.AddRange(before);
        var index = new Dictionary<string, int>(merged.Count, StringComparer.Ordinal);
        for (var i = 0; i < merged.Count; i++) index.TryAdd(merged[i].Id, i);
        foreach (var entity in changes)
        {
            if (index.TryGetValue(entity.Id, out var at)) merged[at] = merging ? MergeFields(merged[at], entity) : entity;
            else
            {
                index[entity.Id] = merged.Count;
                merged.Add(merging ? MergeFields(null, entity) : entity);
            }
        }
        return merged;
    }

    /// <summary>
    /// <paramref name="change"/>'s fields over <paramref name="previous"/>'s: a field it carries replaces the held one
    /// where it was (the object keeps its order), a field new to the entity is appended, a field whose value is
    /// JSON null is removed, and the fields it does not carry stay. Either side not a JSON object: the change as it is.
    /// </summary>
    public static EntityJson MergeFields(EntityJson? previous, EntityJson change)
    {
        if (Parse(change.Utf8Json) is not { } overlay) return change;
        var result = previous is not null && Parse(previous.Utf8Json) is { } held ? held : new JsonObject();
        foreach (var (name, value) in overlay.ToArray())
        {
            overlay.Remove(name);
            if (value is null) result.Remove(name);
            else result[name] = value;
        }
        return new EntityJson(change.Id, JsonSerializer.SerializeToUtf8Bytes(result));
    }

    /// <summary>
    /// An alert raised by a merging upsert: its data (the notified fields, <c>alertType</c>, <c>message</c>) merged into
    /// the entity held before, so that clients get the whole entity, as with a whole notification.
    /// </summary>
    public static byte[] MergedAlertData(AggregatorCommands.ConditionalAlert alert, IReadOnlyList<EntityJson> before)
    {
        var previous = before.FirstOrDefault(e => e.Id == alert.EntityId);
        return MergeFields(previous, new EntityJson(alert.EntityId, alert.DataJson)).Utf8Json;
    }

    private static JsonObject? Parse(byte[] json)
    {
        try { return JsonNode.Parse(json) as JsonObject; }
        catch (JsonException) { return null; }
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
            // Known before, and not yet in the set: entered it now (medium -> high); already in it (high -> high, or -> critical) raises nothing.
            AggregatorCommands.AlertCondition.EnteredSet => previous is not null &&
                !(TextIn(previous, alert.Field) is { } text && (alert.Values ?? []).Contains(text, StringComparer.OrdinalIgnoreCase)),
            _ => false,
        };
    }

    private static string? TextIn(EntityJson entity, string field)
    {
        try
        {
            using var document = JsonDocument.Parse(entity.Utf8Json);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object && root.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString() : null;
        }
        catch (JsonException) { return null; }
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
