using System.Diagnostics.Metrics;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Metrics;

/// <summary>
/// The service's own instruments (<see cref="MeterName"/>), exported at /metrics by the host.
/// Nothing here is counted per delivery: the topic registry, which holds the subscriber sets, adds
/// a publish's delivered and refused frames once per publish, and keeps the per-topic subscriber
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
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _conflated;
    private readonly Counter<long> _heartbeatTerminations;
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
        _delivered = meter.CreateCounter<long>("traffic.messages.delivered", unit: "{message}",
            description: "Frames handed to the outbound queues of this node's clients (one publish to N subscribers counts N)");
        _dropped = meter.CreateCounter<long>("traffic.messages.dropped", unit: "{message}",
            description: "Frames refused by a full outbound queue; the client is closed with 1013 at the first");
        _conflated = meter.CreateCounter<long>("traffic.messages.conflated", unit: "{message}",
            description: "Queued UPDATEs replaced by a newer one of the same topic for a slow client (no conflation yet: stays 0)");
        _heartbeatTerminations = meter.CreateCounter<long>("traffic.heartbeat.terminations", unit: "{connection}",
            description: "Connections ended because they were silent for longer than HEARTBEAT_TIMEOUT_MS");
    }

    public Meter Meter { get; }

    public int Connections => Volatile.Read(ref _connections);

    public int SubscribersOf(Topic topic) => Volatile.Read(ref _subscribers[(int)topic]);

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
        if (delivered > 0) _delivered.Add(delivered, Tag(topic));
        if (refused > 0) _dropped.Add(refused, Tag(topic));
    }

    public void CountConflated(Topic topic) => _conflated.Add(1, TopicTags[(int)topic]);

    public void CountHeartbeatTermination() => _heartbeatTerminations.Add(1);

    private static KeyValuePair<string, object?> Tag(Topic? topic) => topic is { } t ? TopicTags[(int)t] : AllTag;

    private IEnumerable<Measurement<int>> ObserveSubscribers()
    {
        foreach (var topic in Topics.Every)
            yield return new Measurement<int>(SubscribersOf(topic), TopicTags[(int)topic]);
    }
}
