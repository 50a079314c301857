using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Traffic.Actors.Protocol;

/// <summary>
/// The one encoder of server-to-client messages (see docs/protocol.md). Every method returns a
/// finished <see cref="ServerFrame"/>; callers never build JSON themselves.
/// </summary>
public static class ServerMessages
{
    public const string Greeting = "Connected to HCMC Traffic Monitoring System";

    public static ServerFrame Connection(string clientId, TopicSet topics, TimeSpan heartbeatInterval, DateTimeOffset now) =>
        Encode(ServerMessageType.Connection, null, w =>
        {
            w.WriteString("type", "connection");
            w.WriteString("message", Greeting);
            WriteTimestamp(w, now);
            w.WriteNumber("heartbeatInterval", (long)heartbeatInterval.TotalMilliseconds);
            w.WriteString("clientId", clientId);
            WriteTopics(w, "topics", topics);
        });

    /// <summary>SNAPSHOT: every topic's whole current list, in <see cref="Topics.Every"/> order.</summary>
    public static ServerFrame Snapshot(IReadOnlyDictionary<Topic, IReadOnlyList<EntityJson>> state, DateTimeOffset now) =>
        Encode(ServerMessageType.Snapshot, null, w =>
        {
            w.WriteString("type", "SNAPSHOT");
            w.WritePropertyName("data");
            w.WriteStartObject();
            foreach (var topic in Topics.Every)
            {
                w.WritePropertyName(topic.WireName());
                WriteEntities(w, state.TryGetValue(topic, out var list) ? list : []);
            }
            w.WriteEndObject();
            WriteTimestamp(w, now);
        });

    /// <summary>A scheduled UPDATE carrying the topic's whole current list.</summary>
    public static ServerFrame Update(Topic topic, IReadOnlyList<EntityJson> entities, DateTimeOffset now) =>
        Encode(ServerMessageType.Update, topic, w =>
        {
            w.WriteString("type", "UPDATE");
            w.WriteString("topic", topic.WireName());
            w.WritePropertyName("data");
            WriteEntities(w, entities);
            WriteTimestamp(w, now);
        });

    /// <summary>An UPDATE or ALERT whose data is given as raw JSON (publish API, alerts).</summary>
    public static ServerFrame Published(ServerMessageType type, Topic? topic, ReadOnlySpan<byte> dataJson, DateTimeOffset now)
    {
        if (type is not (ServerMessageType.Update or ServerMessageType.Alert))
            throw new ArgumentOutOfRangeException(nameof(type), type, "only UPDATE and ALERT can be published");
        var data = dataJson.ToArray();
        return Encode(type, topic, w =>
        {
            w.WriteString("type", type == ServerMessageType.Alert ? "ALERT" : "UPDATE");
            if (topic is { } t) w.WriteString("topic", t.WireName());
            w.WritePropertyName("data");
            w.WriteRawValue(data, skipInputValidation: true);
            WriteTimestamp(w, now);
        });
    }

    public static ServerFrame Pong(DateTimeOffset now) =>
        Encode(ServerMessageType.Pong, null, w =>
        {
            w.WriteString("type", "PONG");
            WriteTimestamp(w, now);
        });

    /// <summary>Acknowledges a subscribe or unsubscribe: what was asked, and the whole resulting set.</summary>
    public static ServerFrame SubscriptionAck(bool subscribed, TopicSet requested, TopicSet current, DateTimeOffset now) =>
        Encode(subscribed ? ServerMessageType.Subscribed : ServerMessageType.Unsubscribed, null, w =>
        {
            w.WriteString("type", subscribed ? "SUBSCRIBED" : "UNSUBSCRIBED");
            WriteTopics(w, "topics", requested);
            WriteTopics(w, "subscriptions", current);
            WriteTimestamp(w, now);
        });

    public static ServerFrame Error(string code, string message, DateTimeOffset now) =>
        Encode(ServerMessageType.Error, null, w =>
        {
            w.WriteString("type", "ERROR");
            w.WriteString("error", code);
            w.WriteString("message", message);
            WriteTimestamp(w, now);
        });

    /// <summary>ISO 8601 UTC with milliseconds, as the seed's examples: 2025-11-29T10:30:00.000Z.</summary>
    public static string FormatTimestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static void WriteTimestamp(Utf8JsonWriter w, DateTimeOffset now) => w.WriteString("timestamp", FormatTimestamp(now));

    private static void WriteTopics(Utf8JsonWriter w, string name, TopicSet topics)
    {
        w.WriteStartArray(name);
        foreach (var topic in topics.Members()) w.WriteStringValue(topic.WireName());
        w.WriteEndArray();
    }

    private static void WriteEntities(Utf8JsonWriter w, IReadOnlyList<EntityJson> entities)
    {
        w.WriteStartArray();
        foreach (var entity in entities) w.WriteRawValue(entity.Utf8Json, skipInputValidation: true);
        w.WriteEndArray();
    }

    private static ServerFrame Encode(ServerMessageType type, Topic? topic, Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        return new ServerFrame(type, topic, buffer.WrittenSpan.ToArray());
    }
}
