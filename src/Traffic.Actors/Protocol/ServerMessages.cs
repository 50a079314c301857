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

    /// <summary>A scheduled UPDATE carrying the topic's whole current list (unnumbered: specs and tools).</summary>
    public static ServerFrame Update(Topic topic, IReadOnlyList<EntityJson> entities, DateTimeOffset now) =>
        Encode(ServerMessageType.Update, topic, w =>
        {
            WriteHead(w, "UPDATE", topic, null);
            w.WritePropertyName("data");
            WriteEntities(w, entities);
            WriteTimestamp(w, now);
        });

    /// <summary>
    /// A numbered UPDATE carrying the topic's whole current list, and, when <paramref name="delta"/>
    /// is given, the same UPDATE as a delta against the previous one (for clients that asked for deltas).
    /// </summary>
    public static ServerFrame Update(Topic topic, IReadOnlyList<EntityJson> entities, DateTimeOffset now, FrameSequence sequence,
        EntityChanges? delta = null)
    {
        var full = EncodeBytes(w =>
        {
            WriteHead(w, "UPDATE", topic, sequence);
            w.WritePropertyName("data");
            WriteEntities(w, entities);
            WriteTimestamp(w, now);
        });
        FrameDelta? deltaFrame = null;
        if (delta is { } changes)
            deltaFrame = new FrameDelta(changes.BaseOffset, EncodeBytes(w =>
            {
                WriteHead(w, "UPDATE", topic, sequence);
                w.WritePropertyName("delta");
                w.WriteStartObject();
                w.WriteNumber("base", changes.BaseOffset);
                w.WritePropertyName("upserted");
                WriteEntities(w, changes.Upserted);
                w.WriteStartArray("removed");
                foreach (var id in changes.RemovedIds) w.WriteStringValue(id);
                w.WriteEndArray();
                w.WriteEndObject();
                WriteTimestamp(w, now);
            }));
        return new ServerFrame(ServerMessageType.Update, topic, full, sequence, deltaFrame);
    }

    /// <summary>An UPDATE or ALERT whose data is given as raw JSON (publish API, alerts), numbered when <paramref name="sequence"/> is given.</summary>
    public static ServerFrame Published(ServerMessageType type, Topic? topic, ReadOnlySpan<byte> dataJson, DateTimeOffset now,
        FrameSequence? sequence = null)
    {
        if (type is not (ServerMessageType.Update or ServerMessageType.Alert))
            throw new ArgumentOutOfRangeException(nameof(type), type, "only UPDATE and ALERT can be published");
        var data = dataJson.ToArray();
        var bytes = EncodeBytes(w =>
        {
            WriteHead(w, type == ServerMessageType.Alert ? "ALERT" : "UPDATE", topic, sequence);
            w.WritePropertyName("data");
            w.WriteRawValue(data, skipInputValidation: true);
            WriteTimestamp(w, now);
        });
        return sequence is null ? new ServerFrame(type, topic, bytes) : new ServerFrame(type, topic, bytes, sequence);
    }

    /// <summary>
    /// The SNAPSHOT as a client gets it: <paramref name="snapshot"/> (the state, encoded once per
    /// change) with every known stream's current position added as its last member, "positions".
    /// One copy of the bytes; the registry makes it once per change of state or position, not per client.
    /// </summary>
    public static ServerFrame WithPositions(ServerFrame snapshot, IReadOnlyList<StreamPosition?> heads)
    {
        var positions = EncodeBytes(w =>
        {
            w.WritePropertyName("positions");
            w.WriteStartObject();
            for (var stream = 0; stream < heads.Count; stream++)
                if (heads[stream] is { } head) WritePosition(w, Streams.Name(stream), head);
            w.WriteEndObject();
        });
        // positions is {"positions":{...}}: its inside goes before the snapshot's closing brace.
        var body = snapshot.Utf8Json;
        var bytes = new byte[body.Length + positions.Length - 1];
        body.AsSpan(0, body.Length - 1).CopyTo(bytes);
        bytes[body.Length - 1] = (byte)',';
        positions.AsSpan(1).CopyTo(bytes.AsSpan(body.Length));
        return new ServerFrame(ServerMessageType.Snapshot, null, bytes);
    }

    /// <summary>RESUMED: per stream a client named in `since`, whether its missed messages follow.</summary>
    public static ServerFrame Resumed(IReadOnlyList<ResumeOutcome> outcomes, DateTimeOffset now) =>
        Encode(ServerMessageType.Resumed, null, w =>
        {
            w.WriteString("type", "RESUMED");
            w.WritePropertyName("topics");
            w.WriteStartObject();
            foreach (var outcome in outcomes)
            {
                w.WritePropertyName(Streams.Name(outcome.Stream));
                w.WriteStartObject();
                w.WriteBoolean("recovered", outcome.Recovered);
                if (outcome.Reason is { } reason) w.WriteString("reason", reason);
                if (outcome.Head is { } head)
                {
                    w.WriteString("epoch", head.Epoch);
                    w.WriteNumber("offset", head.Offset);
                }
                if (outcome.Replayed is { } range)
                {
                    w.WriteNumber("from", range.From);
                    w.WriteNumber("to", range.To);
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
            WriteTimestamp(w, now);
        });

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

    /// <summary>ISO 8601 UTC with milliseconds, as the original protocol's examples: 2025-11-29T10:30:00.000Z.</summary>
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

    /// <summary>type, topic (none for a message to everyone), then the position when numbered.</summary>
    private static void WriteHead(Utf8JsonWriter w, string type, Topic? topic, FrameSequence? sequence)
    {
        w.WriteString("type", type);
        if (topic is { } t) w.WriteString("topic", t.WireName());
        if (sequence is null) return;
        w.WriteString("epoch", sequence.Epoch);
        w.WriteNumber("offset", sequence.Offset);
    }

    private static void WritePosition(Utf8JsonWriter w, string name, StreamPosition position)
    {
        w.WriteStartObject(name);
        w.WriteString("epoch", position.Epoch);
        w.WriteNumber("offset", position.Offset);
        w.WriteEndObject();
    }

    private static ServerFrame Encode(ServerMessageType type, Topic? topic, Action<Utf8JsonWriter> body) =>
        new(type, topic, EncodeBytes(body));

    private static byte[] EncodeBytes(Action<Utf8JsonWriter> body)
    {
        var encoder = _threadEncoder ?? new Encoder();
        _threadEncoder = null; // a nested call, should there ever be one, gets its own
        try
        {
            var writer = encoder.Writer;
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
            writer.Flush();
            return encoder.Buffer.WrittenSpan.ToArray();
        }
        finally
        {
            encoder.Writer.Reset();
            encoder.Buffer.ResetWrittenCount();
            if (encoder.Buffer.Capacity <= Encoder.MaxKeptBytes) _threadEncoder = encoder;
        }
    }

    /// <summary>
    /// One buffer and JSON writer per thread, reused. A fresh <see cref="Utf8JsonWriter"/> asks its
    /// buffer for 4 KB at its first write, so each small frame made per client (the connection
    /// greeting, SUBSCRIBED, ERROR) left 4-5 KB of garbage: 4 KB a connection in a connect storm.
    /// </summary>
    [ThreadStatic] private static Encoder? _threadEncoder;

    private sealed class Encoder
    {
        /// <summary>A buffer grown past this by a big SNAPSHOT is not kept: a thread holds at most this much.</summary>
        public const int MaxKeptBytes = 64 * 1024;

        public readonly ArrayBufferWriter<byte> Buffer = new(8 * 1024);
        public readonly Utf8JsonWriter Writer;

        public Encoder() => Writer = new Utf8JsonWriter(Buffer);
    }
}
