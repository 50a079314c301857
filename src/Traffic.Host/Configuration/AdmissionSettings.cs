using System.Net;

namespace Traffic.Host.Configuration;

/// <summary>
/// Who may connect and how much (docs/operations.md, "Limits and admission"). Read once from the
/// environment; a bad value stops the start with a message naming the variable.
/// </summary>
/// <param name="AllowedOrigins">
/// <c>ALLOWED_ORIGINS</c>: browser origins allowed to open a WebSocket, e.g. <c>https://traffic.example</c>,
/// <c>https://*.example.org</c>, or <c>*</c> for any. Empty: the default policy (no Origin, or the
/// server's own host; in Development also localhost pages).
/// </param>
/// <param name="MaxConnections"><c>MAX_CONNECTIONS</c>: WebSockets open at once on this node (503 beyond).</param>
/// <param name="MaxConnectionsPerAddress">
/// <c>MAX_CONNECTIONS_PER_ADDRESS</c>: WebSockets open at once from one client address (429 beyond);
/// loopback clients are exempt (the benchmark and local tools), 0 turns the limit off.
/// </param>
/// <param name="TrustedProxies">
/// <c>TRUSTED_PROXIES</c>: addresses or networks (CIDR) whose <c>X-Forwarded-For</c> names the
/// client; default loopback, as ASP.NET Core's forwarded-headers defaults. <c>none</c>: trust nobody.
/// </param>
/// <param name="PublishRatePerSecond">
/// <c>PUBLISH_RATE_PER_SECOND</c>: publishes per second per API key, with a burst of one second's
/// worth (429 beyond); 0 turns the limit off.
/// </param>
public sealed record AdmissionSettings(
    IReadOnlyList<string> AllowedOrigins,
    int MaxConnections,
    int MaxConnectionsPerAddress,
    IReadOnlyList<IPNetwork> TrustedProxies,
    int PublishRatePerSecond)
{
    public static readonly IReadOnlyList<IPNetwork> LoopbackProxies =
        [IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::1/128")];

    public static readonly AdmissionSettings Default = new([], 20_000, 1_000, LoopbackProxies, 2_000);

    /// <summary>
    /// <c>ALLOWED_HOSTS</c>: the host names this service answers to (the request's <c>Host</c>, any port), e.g.
    /// <c>traffic.example</c>, <c>*.example.org</c>, or <c>*</c> for any. Whatever the list, IP addresses and
    /// names without a dot (<c>localhost</c>, a container's name) are always answered: a DNS rebinding
    /// attack needs a name the attacker registered in public DNS, which is never one of those. Other names get 400 (<see cref="Admission.HostPolicy"/>).
    /// </summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>
    /// <c>MAX_HANDSHAKES_PER_ADDRESS</c>: connections from one address (an IPv6 client by its /64) still
    /// sending their first request head; the next is refused at once (429). Connections from trusted
    /// proxies (<c>TRUSTED_PROXIES</c>, loopback by default) are not counted: they carry many clients. 0: off.
    /// </summary>
    public int MaxHandshakesPerAddress { get; init; } = DefaultMaxHandshakesPerAddress;

    public const int DefaultMaxHandshakesPerAddress = 32;

    public static AdmissionSettings From(IConfiguration config, Func<string, int, int, int, int> integer) => new(
        ParseOrigins(config["ALLOWED_ORIGINS"]),
        integer("MAX_CONNECTIONS", Default.MaxConnections, 1, 10_000_000),
        integer("MAX_CONNECTIONS_PER_ADDRESS", Default.MaxConnectionsPerAddress, 0, 10_000_000),
        ParseProxies(config["TRUSTED_PROXIES"]),
        integer("PUBLISH_RATE_PER_SECOND", Default.PublishRatePerSecond, 0, 10_000_000))
    {
        AllowedHosts = ParseHosts(config["ALLOWED_HOSTS"]),
        MaxHandshakesPerAddress = integer("MAX_HANDSHAKES_PER_ADDRESS", DefaultMaxHandshakesPerAddress, 0, 10_000_000),
    };

    /// <summary>"*", host names, or "*.domain" for any name under a domain; comma-separated, no scheme nor port.</summary>
    public static IReadOnlyList<string> ParseHosts(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw)) return [];
        var hosts = new List<string>();
        foreach (var part in raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var name = part.StartsWith("*.", StringComparison.Ordinal) ? part[2..] : part;
            if (part != "*" && (Uri.CheckHostName(name) != UriHostNameType.Dns || name.Contains('*')))
                throw new ServiceConfigurationException(
                    $"ALLOWED_HOSTS: \"{part}\" is not a host name; expected * or names such as traffic.example or *.example.org (no scheme, no port), comma-separated");
            hosts.Add(part.ToLowerInvariant());
        }
        return hosts;
    }

    /// <summary>"*", or origins as browsers send them: scheme://host[:port], a leading "*." for any subdomain.</summary>
    public static IReadOnlyList<string> ParseOrigins(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw)) return [];
        var origins = new List<string>();
        foreach (var part in raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part == "*") { origins.Add(part); continue; }
            var probe = part.Replace("://*.", "://wildcard.", StringComparison.Ordinal);
            if (!Uri.TryCreate(probe, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") ||
                uri.UserInfo.Length > 0 || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || part.EndsWith('/'))
                throw new ServiceConfigurationException(
                    $"ALLOWED_ORIGINS: \"{part}\" is not an origin; expected * or scheme://host[:port] (e.g. https://traffic.example, https://*.example.org), comma-separated");
            origins.Add(part);
        }
        return origins;
    }

    /// <summary>Addresses or CIDR networks, comma-separated; "none" trusts no proxy.</summary>
    public static IReadOnlyList<IPNetwork> ParseProxies(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw)) return LoopbackProxies;
        if (raw.Trim().Equals("none", StringComparison.OrdinalIgnoreCase)) return [];
        var networks = new List<IPNetwork>();
        foreach (var part in raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (IPNetwork.TryParse(part, out var network)) networks.Add(network);
            else if (IPAddress.TryParse(part, out var address))
                networks.Add(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            else
                throw new ServiceConfigurationException(
                    $"TRUSTED_PROXIES: \"{part}\" is not an IP address or CIDR network (e.g. 10.0.0.5, 10.0.0.0/24, ::1), comma-separated, or none");
        }
        return networks;
    }
}
