using System.Collections.Concurrent;
using System.Net;
using Traffic.Host.Admission;

namespace Traffic.Host.Api;

/// <summary>
/// Wrong or missing API keys per client address (an IPv6 address counts by its /64, what one
/// client usually holds): at most <c>limit</c> in a minute; past it the address gets 429 until the
/// minute is over, whatever key it sends, so keys cannot be guessed at speed. Each failure is logged
/// (address and endpoint, never the key) up to the limit, and the lock-out once. Bounded: at most
/// <see cref="MaxAddresses"/> addresses are tracked; when full, expired ones are dropped first, and
/// if all are current the table starts over (said once in the log).
/// </summary>
public sealed class FailedKeyAttempts(int limit, ILogger<FailedKeyAttempts> log, TimeProvider? time = null)
{
    public const int MaxAddresses = 10_000;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private sealed class Count
    {
        public DateTimeOffset Start;
        public int Failures;
    }

    private readonly ConcurrentDictionary<string, Count> _counts = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public int Limit => limit;

    /// <summary>Seconds until <paramref name="address"/> may try again, or null when it may try now.</summary>
    public int? LockedFor(IPAddress? address)
    {
        if (!_counts.TryGetValue(Key(address), out var count)) return null;
        lock (count)
        {
            var left = count.Start + Window - _time.GetUtcNow();
            return count.Failures >= limit && left > TimeSpan.Zero ? (int)Math.Ceiling(left.TotalSeconds) : null;
        }
    }

    /// <summary>A wrong or missing key from <paramref name="address"/> at <paramref name="endpoint"/>.</summary>
    public void Failed(IPAddress? address, string endpoint, string why)
    {
        var key = Key(address);
        if (!_counts.ContainsKey(key) && _counts.Count >= MaxAddresses) MakeRoom();
        var count = _counts.GetOrAdd(key, _ => new Count { Start = _time.GetUtcNow() });
        int failures;
        lock (count)
        {
            var now = _time.GetUtcNow();
            if (now - count.Start >= Window) { count.Start = now; count.Failures = 0; }
            failures = ++count.Failures;
        }
        if (failures < limit)
            log.LogWarning("{Endpoint}: {Why} from {Address} (failure {Failures} of {Limit} a minute)", endpoint, why, key, failures, limit);
        else if (failures == limit)
            log.LogWarning("{Endpoint}: {Why} from {Address}; {Limit} failures within a minute: refused with 429 until the minute is over", endpoint, why, key, limit);
    }

    /// <summary>The address as counted: IPv4 whole, IPv6 by its /64.</summary>
    public static string Key(IPAddress? address)
    {
        if (address is null) return "unknown";
        var counted = ClientAddress.Counted(address);
        return counted.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? counted + "/64" : counted.ToString();
    }

    private void MakeRoom()
    {
        var now = _time.GetUtcNow();
        foreach (var (address, count) in _counts)
            if (now - count.Start >= Window) _counts.TryRemove(address, out _);
        if (_counts.Count < MaxAddresses) return;
        _counts.Clear();
        log.LogWarning("Wrong API keys came from more than {Max} addresses within a minute: their counts start over", MaxAddresses);
    }
}
