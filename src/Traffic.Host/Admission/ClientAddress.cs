using Traffic.Host.Configuration;
using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace Traffic.Host.Admission;

/// <summary>
/// The client's address for per-address limits: the peer's, or, when the peer is a trusted proxy,
/// the last address its <c>X-Forwarded-For</c> names. One <see cref="ForwardedHeadersOptions"/>
/// (KnownProxies / KnownIPNetworks from <c>TRUSTED_PROXIES</c>, one hop) serves both ways a
/// WebSocket arrives: ASP.NET Core's <c>UseForwardedHeaders</c> applies it to the HTTP pipeline,
/// and <see cref="Resolve"/> applies the same rule on the direct path, which runs before that pipeline.
/// </summary>
public static class ClientAddress
{
    public static ForwardedHeadersOptions OptionsFor(AdmissionSettings settings)
    {
        var options = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor, ForwardLimit = 1 };
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var network in settings.TrustedProxies) options.KnownIPNetworks.Add(network);
        return options;
    }

    /// <summary>As ForwardedHeadersMiddleware does with ForwardLimit 1: the rightmost forwarded entry, from a trusted peer only.</summary>
    public static IPAddress? Resolve(ForwardedHeadersOptions options, IPAddress? peer, string? forwardedFor)
    {
        if (peer is null || string.IsNullOrWhiteSpace(forwardedFor) || !IsTrusted(options, peer)) return peer;
        var last = forwardedFor.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        if (last is null) return peer;
        if (IPEndPoint.TryParse(last, out var endpoint)) return endpoint.Address;
        return peer; // unparsable: the middleware leaves the address as it was
    }

    private static bool IsTrusted(ForwardedHeadersOptions options, IPAddress peer)
    {
        if (peer.IsIPv4MappedToIPv6) peer = peer.MapToIPv4();
        foreach (var proxy in options.KnownProxies)
            if (proxy.Equals(peer)) return true;
        foreach (var network in options.KnownIPNetworks)
            if (network.Contains(peer)) return true;
        return false;
    }

    /// <summary>
    /// One client as the limits count it: an IPv4 address (also when mapped into IPv6), or an IPv6
    /// address's /64, which one client (one home, one phone) usually holds whole and can change at will within.
    /// </summary>
    public static IPAddress Counted(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6) return address;
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }
}
