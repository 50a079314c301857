namespace Traffic.Actors.Ingest;

/// <summary>
/// Whether this node's ingest graphs run (<c>notifications</c>: the queue behind POST /ngsi-ld/notify; <c>polling</c>:
/// the poller, on the one node that polls): read by /health/ready and /metrics, written by whoever watches a graph's
/// completion and restarts it. Only graphs started on this node are shown. Thread-safe.
/// </summary>
public sealed class IngestGraphStatus
{
    public const string Notifications = "notifications";
    public const string Polling = "polling";

    private readonly object _gate = new();
    private readonly Dictionary<string, Entry> _graphs = new(StringComparer.Ordinal);

    /// <param name="State"><c>running</c>, <c>restarting</c> (failed, restarted after a pause), <c>done</c> (a load once at start, finished).</param>
    public sealed record View(string State, long Restarts, DateTimeOffset? FailedAt, string? LastFailure);

    private sealed class Entry
    {
        public string State = "running";
        public long Restarts;
        public DateTimeOffset? FailedAt;
        public string? LastFailure;
    }

    public void Running(string graph) => Set(graph, e => e.State = "running");

    public void Done(string graph) => Set(graph, e => e.State = "done");

    /// <summary>The graph stopped by failure (or ended when it should not): it is restarted after a pause.</summary>
    public void Failed(string graph, string reason, DateTimeOffset now) => Set(graph, e =>
    {
        e.State = "restarting";
        e.Restarts++;
        e.FailedAt = now;
        e.LastFailure = reason;
    });

    /// <summary>This node no longer runs the graph (the poller moved to another node).</summary>
    public void Forget(string graph)
    {
        lock (_gate) _graphs.Remove(graph);
    }

    public IReadOnlyDictionary<string, View> Read()
    {
        lock (_gate) return _graphs.ToDictionary(g => g.Key, g => new View(g.Value.State, g.Value.Restarts, g.Value.FailedAt, g.Value.LastFailure));
    }

    /// <summary>1 while running (or done), 0 while waiting to be restarted; restarts so far. Null when not on this node.</summary>
    public (int Up, long Restarts)? Gauge(string graph)
    {
        lock (_gate) return _graphs.TryGetValue(graph, out var e) ? (e.State == "restarting" ? 0 : 1, e.Restarts) : null;
    }

    private void Set(string graph, Action<Entry> change)
    {
        lock (_gate)
        {
            if (!_graphs.TryGetValue(graph, out var entry)) _graphs[graph] = entry = new Entry();
            change(entry);
        }
    }
}
