using System.Collections.Concurrent;
using System.Net;

namespace Traffic.Host.Admission;

/// <summary>
/// At most one log line per client address (an IPv6 client by its /64, <see cref="ClientAddress.Counted"/>)
/// per interval, so that a client repeating a refused request cannot fill the log. Bounded: past
/// <see cref="MaxTracked"/> addresses, those not logged within the interval are forgotten (and while that many
/// were logged within it, a new one is not).
/// </summary>
public sealed class RefusalLogGate(TimeSpan? interval = null)
{
    public const int MaxTracked = 4096;

    private readonly long _intervalMs = (long)(interval ?? TimeSpan.FromSeconds(1)).TotalMilliseconds;
    private readonly ConcurrentDictionary<IPAddress, long> _lastLogged = new();
    private static readonly IPAddress Unknown = IPAddress.None;

    /// <summary>True when a line about this address may be logged now (and counts it as logged).</summary>
    public bool ShouldLog(IPAddress? address, long? nowMs = null)
    {
        var now = nowMs ?? Environment.TickCount64;
        var key = address is null ? Unknown : ClientAddress.Counted(address);
        while (true)
        {
            if (!_lastLogged.TryGetValue(key, out var last))
            {
                if (_lastLogged.Count >= MaxTracked)
                {
                    Forget(now);
                    if (_lastLogged.Count >= MaxTracked) return false; // that many addresses within the interval: the metric counts them
                }
                if (_lastLogged.TryAdd(key, now)) return true;
                continue;
            }
            if (now - last < _intervalMs) return false;
            if (_lastLogged.TryUpdate(key, now, last)) return true;
        }
    }

    private void Forget(long now)
    {
        foreach (var (key, last) in _lastLogged)
            if (now - last >= _intervalMs) _lastLogged.TryRemove(KeyValuePair.Create(key, last));
    }
}
