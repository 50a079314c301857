using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Ingest;

/// <summary>
/// The pipeline's mapping stage: reads each entity (<see cref="NgsiLdEntity"/>), maps its type to a
/// topic, converts it to the client shape (<see cref="ClientShapes"/>), and groups the batch into
/// one aggregator command per topic: upserts with their conditional alerts, removals (a cleared
/// accident, a deleted entity, an entity the broker no longer lists). A bad entity is refused alone,
/// and so is one whose mapping fails in any other way: the rest of the batch is always taken.
/// </summary>
public sealed class IngestMapper(IngestSettings settings)
{
    /// <summary>Accident states that take the accident off the list (Smart Data Models: solved, archived).</summary>
    private static readonly HashSet<string> ClearedStatuses = new(["solved", "archived", "cleared", "closed", "resolved"], StringComparer.OrdinalIgnoreCase);

    public sealed record Mapped(IReadOnlyList<object> Commands, IngestOutcome Outcome);

    public Mapped Map(IngestBatch batch)
    {
        var upserts = new Dictionary<Topic, (List<EntityJson> Entities, List<AggregatorCommands.ConditionalAlert> Alerts)>();
        var removals = new Dictionary<Topic, List<string>>();
        var refused = new List<IngestRefusal>();
        var taken = 0;
        // A notification may carry only the attributes that changed (notification.attributes, showChanges): merged into
        // the entity held, by the aggregator (the one owner of the state). A poll lists whole entities: they replace.
        var mode = batch.Origin == IngestOrigin.Notification ? AggregatorCommands.UpsertMode.MergeFields : AggregatorCommands.UpsertMode.Replace;

        for (var i = 0; i < batch.Entities.Count; i++)
        {
            var element = batch.Entities[i];
            try
            {
                var entity = NgsiLdEntity.Read(element);
                if (!settings.Types.Topics.TryGetValue(entity.Type, out var topic))
                    throw new IngestFault($"entity {entity.Id}: type \"{entity.Type}\" is not mapped to a topic (mapped: {string.Join(", ", settings.Types.Types)})");
                if (batch.EntitiesDeleted || entity.DeletedAt is not null)
                {
                    Removals(removals, topic).Add(entity.Id);
                    taken++;
                    continue;
                }
                var client = ClientShapes.Convert(entity, topic);
                if (topic == Topic.Accidents && client["status"]?.GetValue<string>() is { } status && ClearedStatuses.Contains(status))
                {
                    Removals(removals, topic).Add(entity.Id);
                    taken++;
                    continue;
                }
                if (mode == AggregatorCommands.UpsertMode.Replace) // a whole entity: no field to remove, so no removal marks
                    foreach (var name in client.Where(p => p.Value is null).Select(p => p.Key).ToArray()) client.Remove(name);
                // Everything that can fail first: an entity is taken whole or not at all.
                var json = new EntityJson(entity.Id, JsonSerializer.SerializeToUtf8Bytes(client));
                var alerts = batch.RaiseAlerts ? AlertsFor(topic, client) : [];
                if (!upserts.TryGetValue(topic, out var change)) upserts[topic] = change = ([], []);
                change.Entities.Add(json);
                change.Alerts.AddRange(alerts);
                taken++;
            }
            catch (IngestFault fault)
            {
                refused.Add(new IngestRefusal(i, IdOf(element), fault.Message));
            }
            catch (Exception e)
            {
                // Not a fault of the payload the mapper knows of (a defect, or a value it did not foresee): it costs this
                // entity alone, never the rest of the batch. The pipeline logs it once, with its stack.
                var id = IdOf(element);
                refused.Add(new IngestRefusal(i, id, $"entity {id ?? $"at index {i}"} could not be mapped ({e.GetType().Name}: {e.Message})", e));
            }
        }

        if (batch.RemovedIds is { Count: > 0 } gone && batch.RemovedType is { } type && settings.Types.Topics.TryGetValue(type, out var removedFrom))
            Removals(removals, removedFrom).AddRange(gone);

        var commands = new List<object>();
        foreach (var (topic, change) in upserts) commands.Add(new AggregatorCommands.UpsertEntities(topic, change.Entities, change.Alerts, mode));
        foreach (var (topic, ids) in removals) commands.Add(new AggregatorCommands.RemoveEntities(topic, ids));
        return new Mapped(commands, new IngestOutcome(taken, refused));
    }

    /// <summary>Each alert the entity may raise; the aggregator raises those whose condition holds (at most one of an accident's two).</summary>
    private AggregatorCommands.ConditionalAlert[] AlertsFor(Topic topic, JsonObject client) =>
        new[] { AlertFor(topic, client), EscalationFor(topic, client) }.OfType<AggregatorCommands.ConditionalAlert>().ToArray();

    /// <summary>
    /// A known accident whose severity has just become one of the alert severities (medium -> high): <c>accidentEscalated</c>,
    /// raised by the aggregator only if the accident it holds was not yet at one of them (so once, not again for high -> high).
    /// </summary>
    private AggregatorCommands.ConditionalAlert? EscalationFor(Topic topic, JsonObject client)
    {
        if (topic != Topic.Accidents || client["severity"]?.GetValue<string>() is not { } severity || !settings.Alerts.AccidentSeverities.Contains(severity))
            return null;
        var id = client["id"]!.GetValue<string>();
        var data = (JsonObject)client.DeepClone();
        data["alertType"] = "accidentEscalated";
        var where = client["district"]?.GetValue<string>() is { } district ? $" ({district})" : "";
        data["message"] = $"Accident escalated to {severity}: {client["description"]?.GetValue<string>() ?? id}{where}";
        return new AggregatorCommands.ConditionalAlert(id, AggregatorCommands.AlertCondition.EnteredSet, "severity", 0, JsonSerializer.SerializeToUtf8Bytes(data),
            settings.Alerts.AccidentSeverities.Order(StringComparer.Ordinal).ToArray());
    }

    /// <summary>The simulation's two rules (a new severe accident, an AQI crossing), raised by the aggregator only if the condition holds against its state.</summary>
    private AggregatorCommands.ConditionalAlert? AlertFor(Topic topic, JsonObject client)
    {
        var id = client["id"]!.GetValue<string>();
        switch (topic)
        {
            case Topic.Accidents when client["severity"]?.GetValue<string>() is { } severity && settings.Alerts.AccidentSeverities.Contains(severity):
            {
                var data = (JsonObject)client.DeepClone();
                data["alertType"] = "severeAccident";
                var where = client["district"]?.GetValue<string>() is { } district ? $" ({district})" : "";
                var vehicles = client["vehiclesInvolved"] is { } count ? $", {count.GetValue<long>()} vehicles involved" : "";
                data["message"] = $"Severe accident: {client["description"]?.GetValue<string>() ?? id}{where}{vehicles}";
                return new AggregatorCommands.ConditionalAlert(id, AggregatorCommands.AlertCondition.NewEntity, "", 0, JsonSerializer.SerializeToUtf8Bytes(data));
            }
            case Topic.AirQuality when client["aqi"] is { } aqiNode && aqiNode.GetValue<long>() > settings.Alerts.AqiThreshold:
            {
                var threshold = settings.Alerts.AqiThreshold;
                var aqi = aqiNode.GetValue<long>();
                var data = (JsonObject)client.DeepClone();
                data["alertType"] = "airQualityThreshold";
                data["threshold"] = threshold;
                var place = client["name"]?.GetValue<string>() ?? id;
                var pm25 = client["pm25"] is { } pm ? string.Create(CultureInfo.InvariantCulture, $", PM2.5 {Math.Round(pm.GetValue<double>(), 1)} µg/m³") : "";
                data["message"] = $"Air quality at {place} rose above AQI {threshold}: AQI {aqi}{pm25} ({client["airQualityLevel"]?.GetValue<string>()})";
                return new AggregatorCommands.ConditionalAlert(id, AggregatorCommands.AlertCondition.CrossedAbove, "aqi", threshold, JsonSerializer.SerializeToUtf8Bytes(data));
            }
            default:
                return null;
        }
    }

    private static List<string> Removals(Dictionary<Topic, List<string>> removals, Topic topic)
    {
        if (!removals.TryGetValue(topic, out var ids)) removals[topic] = ids = [];
        return ids;
    }

    private static string? IdOf(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
}
