using System.Collections.Concurrent;
using System.Net;

namespace Traffic.Host.Admission;

/// <summary>
/// Counts connections still sending their first request head, per client address
/// (<c>MAX_HANDSHAKES_PER_ADDRESS</c>; by the rule of MAX_CONNECTIONS_PER_ADDRESS: an IPv6 client
/// by its /64, <see cref="ClientAddress.Counted"/>). Such a connection is not a WebSocket yet, so
/// the connection limits do not see it; without this cap one address could hold thousands of sockets
/// that send a byte now and then until the head timeout (30 s). The address is the TCP peer's (the head,
/// and any X-Forwarded-For in it, has not arrived yet), so a trusted proxy's connections
/// (<c>TRUSTED_PROXIES</c>, loopback by default) are not counted: they carry many clients each.
/// </summary>
public sealed class HandshakeLimiter(int maxPerAddress, IReadOnlyList<IPNetwork> trustedProxies)
{
    private readonly ConcurrentDictionary<IPAddress, int> _perAddress = new();
    /// <summary>Addresses with a head in progress now (for specs: entries are removed at zero).</summary>
    public int AddressesTracked => _perAddress.Count;

    /// <summary>One log line per address per second at most, for refusals.</summary>
    public RefusalLogGate LogGate { get; } = new();

    /// <summary>A slot to dispose once the head has been read (or the connection is gone); null when the address is over the cap.</summary>
    public Slot? TryEnter(IPAddress? peer)
    {
        if (maxPerAddress <= 0 || peer is null) return Slot.Uncounted;
        var plain = peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer;
        foreach (var proxy in trustedProxies)
            if (proxy.Contains(plain)) return Slot.Uncounted;
        var counted = ClientAddress.Counted(plain);
        if (_perAddress.AddOrUpdate(counted, 1, (_, n) => n + 1) <= maxPerAddress) return new Slot(this, counted);
        Release(counted);
        return null;
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

    public sealed class Slot : IDisposable
    {
        internal static readonly Slot Uncounted = new(null, null);

        private readonly HandshakeLimiter? _owner;
        private readonly IPAddress? _address;
        private int _disposed;

        internal Slot(HandshakeLimiter? owner, IPAddress? address)
        {
            _owner = owner;
            _address = address;
        }

        public void Dispose()
        {
            if (_owner is null || Interlocked.Exchange(ref _disposed, 1) == 1) return;
            _owner.Release(_address!);
        }
    }
}
