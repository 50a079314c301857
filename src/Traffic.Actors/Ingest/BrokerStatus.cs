namespace Traffic.Actors.Ingest;

/// <summary>
/// Whether the polled NGSI-LD broker answers, as this node last saw it: read by /health/ready and
/// /metrics, written by the poller. The transitions tell the poller when to log (once per outage,
/// once when it is back). Thread-safe.
/// </summary>
public sealed class BrokerStatus
{
    private readonly object _gate = new();
    private bool? _up;
    private DateTimeOffset? _downSince;
    private DateTimeOffset? _lastSuccess;
    private string? _lastError;
    private long _outages;

    public sealed record View(string State, DateTimeOffset? DownSince, DateTimeOffset? LastSuccess, string? LastError, long Outages);

    /// <summary>Null while nothing was polled yet.</summary>
    public bool? Up
    {
        get { lock (_gate) return _up; }
    }

    public long Outages => Interlocked.Read(ref _outages);

    /// <summary>True when this is the start of an outage (the caller logs it).</summary>
    public bool MarkDown(string error, DateTimeOffset now)
    {
        lock (_gate)
        {
            _lastError = error;
            if (_up == false) return false;
            _up = false;
            _downSince = now;
            Interlocked.Increment(ref _outages);
            return true;
        }
    }

    /// <summary>
    /// True when this ends an outage (the caller logs it). A listing begun (<paramref name="startedAt"/>) before the outage
    /// was seen ends nothing: several types poll at once, and one answered just before the broker went away proves nothing.
    /// </summary>
    public bool MarkUp(DateTimeOffset now, DateTimeOffset? startedAt = null)
    {
        lock (_gate)
        {
            var wasDown = _up == false;
            if (wasDown && startedAt < _downSince) return false;
            _up = true;
            _downSince = null;
            _lastSuccess = now;
            return wasDown;
        }
    }

    public View Read()
    {
        lock (_gate)
            return new View(_up switch { null => "unknown", true => "up", false => "down" }, _downSince, _lastSuccess, _up == false ? _lastError : null, Outages);
    }
}
