using System.Diagnostics.Metrics;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Metrics;

/// <summary>
/// The service's own instruments (<see cref="MeterName"/>), exported at /metrics by the host.
/// Nothing here is counted per delivery (conflation aside, which happens only for clients that fall behind): the topic registry, which holds the subscriber sets, adds
/// a publish's delivered and refused frames once per publish (every such series is exported from
/// the start, at 0), and keeps the per-topic subscriber
/// counts as subscriptions change. Every member is thread-safe and cheap (an Interlocked add, or a
/// counter add per publish).
/// </summary>
public sealed class TrafficMetrics
{
    public const string MeterName = "Traffic.Service";

    private static readonly KeyValuePair<string, object?>[] TopicTags =
        Topics.Every.Select(t => new KeyValuePair<string, object?>("topic", t.WireName())).ToArray();
    private static readonly KeyValuePair<string, object?> AllTag = new("topic", Topics.AllName);

    private readonly Counter<long> _published;
    // Observable counters over our own totals: every series is exported from the first scrape, at 0
    // (dashboards and alert rules need them before they first move), whenever the exporter subscribes.
    // Index Topics.Count is "all" (a publish to every client).
    private readonly long[] _delivered = new long[Topics.Count + 1];
    private readonly long[] _dropped = new long[Topics.Count + 1];
    private readonly long[] _conflated = new long[Topics.Count];
    private readonly long[] _stateRefused = new long[Topics.Count];
    private long _heartbeatTerminations;
    private long _inboundPauses, _messagesTooLarge;
    private long _handshakesRefused;
    private long _streamsRecovered, _streamsNotRecovered, _replayed;
    private readonly int[] _subscribers = new int[Topics.Count];
    private int _connections;

    /// <param name="meter">The meter every instrument is created on (the host makes it with IMeterFactory).</param>
    public TrafficMetrics(Meter meter)
    {
        Meter = meter;
        meter.CreateObservableUpDownCounter("traffic.connections", () => Volatile.Read(ref _connections),
            unit: "{connection}", description: "Open WebSocket connections on this node");
        meter.CreateObservableUpDownCounter("traffic.subscribers", ObserveSubscribers,
            unit: "{subscriber}", description: "Connections on this node subscribed to each topic");
        _published = meter.CreateCounter<long>("traffic.messages.published", unit: "{message}",
            description: "UPDATEs and ALERTs published from this node (scheduled, alerts, POST /api/publish), once each whatever the number of recipients");
        meter.CreateObservableCounter("traffic.messages.delivered", () => PerTopic(_delivered), unit: "{message}",
            description: "Frames handed to the outbound queues of this node's clients (one publish to N subscribers counts N)");
        meter.CreateObservableCounter("traffic.messages.dropped", () => PerTopic(_dropped), unit: "{message}",
            description: "Frames refused by a full outbound queue; the client is closed with 1013 at the first");
        meter.CreateObservableCounter("traffic.messages.conflated", ObserveConflated, unit: "{message}",
            description: "Queued UPDATEs dropped for a newer UPDATE of the same topic in a slow client's outbound queue (the client gets the newer one)");
        meter.CreateObservableCounter("traffic.state.refused", () => TopicsOnly(_stateRefused), unit: "{entity}",
            description: "New entities (or growing changes) the aggregator refused because a topic had MAX_ENTITIES_PER_TOPIC or the state MAX_STATE_BYTES");
        meter.CreateObservableCounter("traffic.heartbeat.terminations", () => Interlocked.Read(ref _heartbeatTerminations), unit: "{connection}",
            description: "Connections ended because they were silent for longer than HEARTBEAT_TIMEOUT_MS");
        meter.CreateObservableCounter("traffic.resumes", ObserveResumes, unit: "{stream}",
            description: "Streams named by resuming clients (since=...): recovered (their missed messages replayed) or not (too old, another epoch)");
        meter.CreateObservableCounter("traffic.messages.replayed", () => Interlocked.Read(ref _replayed), unit: "{message}",
            description: "Messages sent again from this node's history to resuming clients");
        meter.CreateObservableCounter("traffic.client.input.paused", () => Interlocked.Read(ref _inboundPauses), unit: "{pause}",
            description: "Times a client's reads were paused because it sent more than CLIENT_BYTES_PER_SECOND (inflated)");
        meter.CreateObservableCounter("traffic.client.input.too_large", () => Interlocked.Read(ref _messagesTooLarge), unit: "{connection}",
            description: "Connections closed with 1009 because a message passed MAX_CLIENT_MESSAGE_BYTES (inflated)");
        meter.CreateObservableCounter("traffic.handshakes.refused", () => Interlocked.Read(ref _handshakesRefused), unit: "{connection}",
            description: "Connections refused at once because their address already had MAX_HANDSHAKES_PER_ADDRESS connections still sending their request head");
    }

    public Meter Meter { get; }

    public int SubscribersOf(Topic topic) => Volatile.Read(ref _subscribers[(int)topic]);

    /// <summary>Frames delivered so far for a topic (null: publishes to all).</summary>
    public long DeliveredOf(Topic? topic) => Interlocked.Read(ref _delivered[topic is { } t ? (int)t : Topics.Count]);

    /// <summary>Frames refused by full queues so far for a topic (null: publishes to all).</summary>
    public long DroppedOf(Topic? topic) => Interlocked.Read(ref _dropped[topic is { } t ? (int)t : Topics.Count]);

    public void ConnectionOpened() => Interlocked.Increment(ref _connections);

    public void ConnectionClosed() => Interlocked.Decrement(ref _connections);

    /// <summary>A registered connection's topic set changed (from None when it registers, to None when it is forgotten).</summary>
    public void SubscriptionsChanged(TopicSet before, TopicSet after)
    {
        if (before == after) return;
        foreach (var topic in Topics.Every)
        {
            var was = before.Contains(topic);
            if (was == after.Contains(topic)) continue;
            Interlocked.Add(ref _subscribers[(int)topic], was ? -1 : 1);
        }
    }

    /// <summary>A publish left this node (to one topic, or to all when <paramref name="topic"/> is null).</summary>
    public void CountPublish(ServerMessageType type, Topic? topic) =>
        _published.Add(1, new KeyValuePair<string, object?>("type", type == ServerMessageType.Alert ? "ALERT" : "UPDATE"), Tag(topic));

    /// <summary>This node's registry fanned one publish out: frames queued, and frames refused by full queues.</summary>
    public void CountFanOut(Topic? topic, int delivered, int refused)
    {
        var index = topic is { } t ? (int)t : Topics.Count;
        if (delivered > 0) Interlocked.Add(ref _delivered[index], delivered);
        if (refused > 0) Interlocked.Add(ref _dropped[index], refused);
    }

    /// <summary>A slow client's waiting UPDATE of this topic was dropped for a newer one (counted as it happens: rare, and only for clients behind).</summary>
    public void CountConflated(Topic topic) => Interlocked.Increment(ref _conflated[(int)topic]);

    /// <summary>Waiting UPDATEs conflated so far for a topic.</summary>
    public long ConflatedOf(Topic topic) => Interlocked.Read(ref _conflated[(int)topic]);

    /// <summary>The aggregator refused entities of a topic that was full (<c>StateLimits</c>).</summary>
    public void CountStateRefused(Topic topic, int count) => Interlocked.Add(ref _stateRefused[(int)topic], count);

    /// <summary>Entities refused so far for a topic.</summary>
    public long StateRefusedOf(Topic topic) => Interlocked.Read(ref _stateRefused[(int)topic]);

    public void CountHeartbeatTermination() => Interlocked.Increment(ref _heartbeatTerminations);

    /// <summary>A client's reads paused: it sent more than its byte budget a second.</summary>
    public void CountInboundPause() => Interlocked.Increment(ref _inboundPauses);

    /// <summary>A connection refused at once: its address had as many request heads in progress as allowed.</summary>
    public void CountHandshakeRefused() => Interlocked.Increment(ref _handshakesRefused);

    /// <summary>A client closed with 1009: a message longer than the limit.</summary>
    public void CountMessageTooLarge() => Interlocked.Increment(ref _messagesTooLarge);

    /// <summary>One resume: how many of the streams it named were recovered and not, and how many messages were replayed.</summary>
    public void CountResume(int recovered, int notRecovered, int replayed)
    {
        Interlocked.Add(ref _streamsRecovered, recovered);
        Interlocked.Add(ref _streamsNotRecovered, notRecovered);
        Interlocked.Add(ref _replayed, replayed);
    }

    private IEnumerable<Measurement<long>> ObserveResumes()
    {
        yield return new Measurement<long>(Interlocked.Read(ref _streamsRecovered), new KeyValuePair<string, object?>("result", "recovered"));
        yield return new Measurement<long>(Interlocked.Read(ref _streamsNotRecovered), new KeyValuePair<string, object?>("result", "not_recovered"));
    }

    private static KeyValuePair<string, object?> Tag(Topic? topic) => topic is { } t ? TopicTags[(int)t] : AllTag;

    private static IEnumerable<Measurement<long>> PerTopic(long[] counts)
    {
        for (var i = 0; i < Topics.Count; i++) yield return new Measurement<long>(Interlocked.Read(ref counts[i]), TopicTags[i]);
        yield return new Measurement<long>(Interlocked.Read(ref counts[Topics.Count]), AllTag);
    }

    private IEnumerable<Measurement<long>> ObserveConflated() => TopicsOnly(_conflated);

    private static IEnumerable<Measurement<long>> TopicsOnly(long[] counts)
    {
        for (var i = 0; i < Topics.Count; i++) yield return new Measurement<long>(Interlocked.Read(ref counts[i]), TopicTags[i]);
    }

    private IEnumerable<Measurement<int>> ObserveSubscribers()
    {
        foreach (var topic in Topics.Every)
            yield return new Measurement<int>(SubscribersOf(topic), TopicTags[(int)topic]);
    }
}
