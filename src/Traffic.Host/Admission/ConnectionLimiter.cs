using System.Collections.Concurrent;
using System.Net;

namespace Traffic.Host.Admission;

/// <summary>
/// Counts open WebSockets, in total and per client address (an IPv6 client by its /64:
/// <see cref="ClientAddress.Counted"/>), from the moment one is admitted until
/// its socket is finished with (the lease is disposed). Loopback clients count towards the total
/// only: they are this machine (the benchmark, local tools, a proxy that sends no forwarded header).
/// </summary>
public sealed class ConnectionLimiter(int maxTotal, int maxPerAddress)
{
    private readonly ConcurrentDictionary<IPAddress, int> _perAddress = new();
    private int _total;

    public int Open => Volatile.Read(ref _total);

    /// <summary>A lease to dispose when the connection ends, or null with the limit that refused it.</summary>
    public Lease? TryAcquire(IPAddress? client, out LimitHit hit)
    {
        hit = LimitHit.None;
        if (Interlocked.Increment(ref _total) > maxTotal)
        {
            Interlocked.Decrement(ref _total);
            hit = LimitHit.Total;
            return null;
        }
        var counted = client is not null && maxPerAddress > 0 && !IPAddress.IsLoopback(client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client) ? ClientAddress.Counted(client) : null;
        if (counted is not null && _perAddress.AddOrUpdate(counted, 1, (_, n) => n + 1) > maxPerAddress)
        {
            Release(counted);
            Interlocked.Decrement(ref _total);
            hit = LimitHit.PerAddress;
            return null;
        }
        return new Lease(this, counted);
    }

    private void Release(IPAddress address)
    {
        // Remove the entry when it reaches zero, so addresses seen once do not pile up.
        while (true)
        {
            var current = _perAddress[address];
            if (current == 1 ? _perAddress.TryRemove(KeyValuePair.Create(address, 1)) : _perAddress.TryUpdate(address, current - 1, current))
                return;
        }
    }

    public enum LimitHit { None, Total, PerAddress }

    public sealed class Lease(ConnectionLimiter owner, IPAddress? address) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
            if (address is not null) owner.Release(address);
            Interlocked.Decrement(ref owner._total);
        }
    }
}
