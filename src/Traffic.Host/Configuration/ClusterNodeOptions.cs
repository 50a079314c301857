using Akka.Actor;

namespace Traffic.Host.Configuration;

/// <summary>
/// Cluster mode: set when <c>AKKA_SEED_NODES</c>, <c>AKKA_PORT</c> or <c>AKKA_DISCOVERY</c> is. Without any the service
/// is one node with a local actor system, exactly as before (see docs/operations.md).
/// </summary>
/// <param name="Hostname">The host name or address other nodes reach this one at (<c>AKKA_HOSTNAME</c>).</param>
/// <param name="BindHostname">The address Akka.Remote listens on (<c>AKKA_BIND_HOSTNAME</c>; default <paramref name="Hostname"/>).</param>
/// <param name="Port">Akka.Remote's TCP port (<c>AKKA_PORT</c>; 0 picks a free one).</param>
/// <param name="SeedNodes">Full Akka addresses of the seed nodes; empty without <see cref="Discovery"/>: this node starts a cluster of its own (joins itself).</param>
/// <param name="StableAfter">The Split Brain Resolver decides (downs unreachable nodes) after the membership has been stable this long.</param>
public sealed record ClusterNodeOptions(string Hostname, string? BindHostname, int Port, IReadOnlyList<string> SeedNodes, TimeSpan StableAfter)
{
    public const string SystemName = "traffic";
    public const int DefaultPort = 4053;
    public static readonly TimeSpan DefaultStableAfter = TimeSpan.FromSeconds(7);

    /// <summary>Mutual TLS between the nodes, or plain TCP where that is allowed (see <see cref="ClusterTlsOptions"/>).</summary>
    public ClusterTlsOptions Tls { get; init; } = new(null, null, null);

    /// <summary>Cluster Bootstrap instead of a seed list (<c>AKKA_DISCOVERY</c>); null: the seed list, or a cluster of its own.</summary>
    public ClusterDiscoveryOptions? Discovery { get; init; }

    /// <summary>Whether this node joins itself at start: only with neither seed nodes nor discovery.</summary>
    public bool JoinsItself => SeedNodes.Count == 0 && Discovery is null;

    /// <summary>Akka's protocol of this node's addresses: remoting over TLS is <c>akka.ssl.tcp</c>.</summary>
    public static string Protocol(bool tls) => tls ? "akka.ssl.tcp" : "akka.tcp";

    /// <summary>Null when none of <c>AKKA_SEED_NODES</c>, <c>AKKA_PORT</c> and <c>AKKA_DISCOVERY</c> is set (single node).</summary>
    public static ClusterNodeOptions? From(IConfiguration config, Func<string, int, int, int, int> integer)
    {
        var seeds = config["AKKA_SEED_NODES"];
        var port = config["AKKA_PORT"];
        if (string.IsNullOrWhiteSpace(seeds) && string.IsNullOrWhiteSpace(port) && !ClusterDiscoveryOptions.Requested(config))
        {
            ClusterDiscoveryOptions.From(config, integer, "127.0.0.1", null); // refuses a discovery variable set without AKKA_DISCOVERY
            return null;
        }

        var hostname = config["AKKA_HOSTNAME"] is { Length: > 0 } h ? h.Trim() : "127.0.0.1";
        var bind = config["AKKA_BIND_HOSTNAME"] is { Length: > 0 } b ? b.Trim() : null;
        var tls = ClusterTlsOptions.From(config, bind ?? hostname);
        var discovery = ClusterDiscoveryOptions.From(config, integer, hostname, bind);
        return new ClusterNodeOptions(
            hostname,
            bind,
            integer("AKKA_PORT", DefaultPort, 0, 65535),
            ParseSeeds(seeds, tls.Enabled),
            TimeSpan.FromMilliseconds(integer("AKKA_SBR_STABLE_AFTER_MS", (int)DefaultStableAfter.TotalMilliseconds, 100, 3_600_000)))
        {
            Tls = tls,
            Discovery = discovery,
        };
    }

    /// <summary>
    /// "host:port,host:port" or full addresses "akka.tcp://traffic@host:port"; the short form is
    /// expanded, and the protocol is this node's (<c>akka.ssl.tcp</c> with TLS: a node speaks only one).
    /// A bad entry stops the start with a message naming the variable.
    /// </summary>
    public static IReadOnlyList<string> ParseSeeds(string? raw, bool tls = false)
    {
        if (string.IsNullOrWhiteSpace(raw)) return [];
        var seeds = new List<string>();
        foreach (var part in raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var address = part.Contains("://", StringComparison.Ordinal) ? part : $"{Protocol(tls)}://{SystemName}@{part}";
            try
            {
                var parsed = Address.Parse(address);
                if (string.IsNullOrEmpty(parsed.Host) || parsed.Port is not (> 0 and <= 65535)) throw new UriFormatException("host and port are required");
                if (parsed.System != SystemName) throw new UriFormatException($"the actor system is named \"{SystemName}\", not \"{parsed.System}\"");
                if (parsed.Protocol is not ("akka.tcp" or "akka.ssl.tcp")) throw new UriFormatException($"the protocol is akka.tcp or akka.ssl.tcp, not \"{parsed.Protocol}\"");
                address = new Address(Protocol(tls), parsed.System, parsed.Host, parsed.Port).ToString();
            }
            catch (Exception e) when (e is UriFormatException or ArgumentException or FormatException)
            {
                throw new ServiceConfigurationException(
                    $"AKKA_SEED_NODES: \"{part}\" is not a seed node ({e.Message}); expected host:port or akka.tcp://{SystemName}@host:port, comma-separated", e);
            }
            seeds.Add(address);
        }
        return seeds;
    }
}
