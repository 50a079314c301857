using System.Globalization;

namespace Traffic.Host.Configuration;

/// <summary>How a node finds the others when no seed list is given (<c>AKKA_DISCOVERY</c>).</summary>
public enum DiscoveryMethod
{
    /// <summary>A fixed list of the nodes' management endpoints (<c>AKKA_DISCOVERY_ENDPOINTS</c>): VMs, one machine.</summary>
    Config,

    /// <summary>The pods the Kubernetes API lists under a label selector (<c>AKKA_DISCOVERY_POD_LABEL_SELECTOR</c>).</summary>
    Kubernetes,
}

/// <summary>
/// Cluster Bootstrap (docs/operations.md, "Discovery"): Akka.Management serves this node's contact
/// point on its own HTTP port, discovery lists the contact points of the nodes, and the bootstrap
/// probes them: a node joins the cluster they report, and when none reports one and
/// <see cref="RequiredContacts"/> contact points have answered, the node with the lowest
/// contact point starts the cluster (joins itself) and the others join it. Nobody else self-joins.
/// </summary>
/// <param name="Method">Where the contact points come from.</param>
/// <param name="ServiceName">The service the contact points belong to (<c>AKKA_DISCOVERY_SERVICE_NAME</c>, default <c>traffic</c>):
/// the config discovery's service, and <c>{0}</c> in the Kubernetes label selector.</param>
/// <param name="Endpoints">Config discovery: the management endpoints (<c>host:port</c>) of every node; empty for Kubernetes.</param>
/// <param name="ManagementHostname">The address other nodes probe this node's management endpoint at
/// (<c>AKKA_MANAGEMENT_HOSTNAME</c>, default <c>AKKA_HOSTNAME</c>): it must be the host its entry in the endpoint list names.</param>
/// <param name="ManagementBindHostname">The address the management endpoint listens on (<c>AKKA_BIND_HOSTNAME</c> when set, else <paramref name="ManagementHostname"/>).</param>
/// <param name="ManagementPort">The management endpoint's port (<c>AKKA_MANAGEMENT_PORT</c>, default 8558).</param>
/// <param name="RequiredContacts">Contact points that must have answered before a new cluster is formed
/// (<c>AKKA_BOOTSTRAP_REQUIRED_CONTACTS</c>; config: default the number of endpoints; Kubernetes: default 2).</param>
/// <param name="PodLabelSelector">Kubernetes: the label selector of the service's pods (<c>AKKA_DISCOVERY_POD_LABEL_SELECTOR</c>, default <c>app={0}</c>).</param>
/// <param name="StableMargin">How long the contact points must stay the same before a new cluster is formed (<c>AKKA_BOOTSTRAP_STABLE_MARGIN_MS</c>).</param>
/// <param name="ProbeInterval">How often each contact point is asked for the cluster it is in (<c>AKKA_BOOTSTRAP_PROBE_INTERVAL_MS</c>).</param>
public sealed record ClusterDiscoveryOptions(
    DiscoveryMethod Method,
    string ServiceName,
    IReadOnlyList<string> Endpoints,
    string ManagementHostname,
    string ManagementBindHostname,
    int ManagementPort,
    int RequiredContacts,
    string? PodLabelSelector,
    TimeSpan StableMargin,
    TimeSpan ProbeInterval)
{
    public const int DefaultManagementPort = 8558;
    public const string DefaultServiceName = "traffic";
    public const string DefaultPodLabelSelector = "app={0}";

    /// <summary>Akka's own default: a new cluster needs two contact points that answered (Kubernetes).</summary>
    public const int DefaultKubernetesRequiredContacts = 2;

    /// <summary>The name of the management port in the pod spec (Kubernetes discovery looks the port up by this name).</summary>
    public const string KubernetesPortName = "management";

    /// <summary>Akka.Management's defaults: contact points stable for 5 s, each probed every 5 s.</summary>
    public static readonly TimeSpan DefaultStableMargin = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan DefaultProbeInterval = TimeSpan.FromSeconds(5);

    /// <summary>The variables that mean something only with <c>AKKA_DISCOVERY</c>; one of them set without it is a mistake.</summary>
    public static readonly IReadOnlyList<string> Variables =
    [
        "AKKA_DISCOVERY_ENDPOINTS", "AKKA_DISCOVERY_SERVICE_NAME", "AKKA_DISCOVERY_POD_LABEL_SELECTOR", "AKKA_MANAGEMENT_PORT",
        "AKKA_MANAGEMENT_HOSTNAME", "AKKA_BOOTSTRAP_REQUIRED_CONTACTS", "AKKA_BOOTSTRAP_STABLE_MARGIN_MS", "AKKA_BOOTSTRAP_PROBE_INTERVAL_MS",
    ];

    /// <summary>Whether <c>AKKA_DISCOVERY</c> is set (a cluster node then, even without <c>AKKA_PORT</c>).</summary>
    public static bool Requested(IConfiguration config) => !string.IsNullOrWhiteSpace(config["AKKA_DISCOVERY"]);

    /// <summary>Null when <c>AKKA_DISCOVERY</c> is unset: the seed list (or a cluster of its own) as before.</summary>
    /// <param name="hostname">This node's <c>AKKA_HOSTNAME</c>.</param>
    /// <param name="bindHostname">This node's <c>AKKA_BIND_HOSTNAME</c>, if set.</param>
    public static ClusterDiscoveryOptions? From(IConfiguration config, Func<string, int, int, int, int> integer, string hostname, string? bindHostname)
    {
        var raw = config["AKKA_DISCOVERY"];
        if (string.IsNullOrWhiteSpace(raw))
        {
            foreach (var name in Variables)
                if (!string.IsNullOrWhiteSpace(config[name]))
                    throw new ServiceConfigurationException($"{name} is set but AKKA_DISCOVERY is not: set AKKA_DISCOVERY=config or kubernetes to use it, or unset {name}");
            return null;
        }

        var method = raw.Trim().ToLowerInvariant() switch
        {
            "config" => DiscoveryMethod.Config,
            "kubernetes" => DiscoveryMethod.Kubernetes,
            _ => throw new ServiceConfigurationException($"AKKA_DISCOVERY=\"{raw}\" is not config or kubernetes"),
        };
        if (!string.IsNullOrWhiteSpace(config["AKKA_SEED_NODES"]))
            throw new ServiceConfigurationException(
                "AKKA_SEED_NODES and AKKA_DISCOVERY are both set: a node joins either a fixed seed list or the nodes discovery finds; unset one of them");

        var serviceName = Value(config, "AKKA_DISCOVERY_SERVICE_NAME") ?? DefaultServiceName;
        var managementHostname = Value(config, "AKKA_MANAGEMENT_HOSTNAME") ?? hostname;
        var port = integer("AKKA_MANAGEMENT_PORT", DefaultManagementPort, 1, 65535);
        var stableMargin = TimeSpan.FromMilliseconds(integer("AKKA_BOOTSTRAP_STABLE_MARGIN_MS", (int)DefaultStableMargin.TotalMilliseconds, 100, 3_600_000));
        var probeInterval = TimeSpan.FromMilliseconds(integer("AKKA_BOOTSTRAP_PROBE_INTERVAL_MS", (int)DefaultProbeInterval.TotalMilliseconds, 100, 3_600_000));

        if (method == DiscoveryMethod.Config)
        {
            if (Value(config, "AKKA_DISCOVERY_POD_LABEL_SELECTOR") is not null)
                throw new ServiceConfigurationException("AKKA_DISCOVERY_POD_LABEL_SELECTOR is for AKKA_DISCOVERY=kubernetes; with config discovery list the nodes in AKKA_DISCOVERY_ENDPOINTS");
            var endpoints = ParseEndpoints(config["AKKA_DISCOVERY_ENDPOINTS"]);
            // Every endpoint listed must have answered before a new cluster forms: nodes started
            // together then see the same contact points, and only the lowest joins itself.
            var required = integer("AKKA_BOOTSTRAP_REQUIRED_CONTACTS", endpoints.Count, 1, endpoints.Count);
            return new ClusterDiscoveryOptions(method, serviceName, endpoints, managementHostname, bindHostname ?? managementHostname, port,
                required, null, stableMargin, probeInterval);
        }

        if (Value(config, "AKKA_DISCOVERY_ENDPOINTS") is not null)
            throw new ServiceConfigurationException("AKKA_DISCOVERY_ENDPOINTS is for AKKA_DISCOVERY=config; Kubernetes discovery finds the pods by AKKA_DISCOVERY_POD_LABEL_SELECTOR");
        return new ClusterDiscoveryOptions(method, serviceName, [], managementHostname, bindHostname ?? managementHostname, port,
            integer("AKKA_BOOTSTRAP_REQUIRED_CONTACTS", DefaultKubernetesRequiredContacts, 1, 1000),
            Value(config, "AKKA_DISCOVERY_POD_LABEL_SELECTOR") ?? DefaultPodLabelSelector, stableMargin, probeInterval);
    }

    /// <summary>"host:port,host:port": the management endpoint of every node (the same list on every node).</summary>
    public static IReadOnlyList<string> ParseEndpoints(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw))
            throw new ServiceConfigurationException("AKKA_DISCOVERY=config needs AKKA_DISCOVERY_ENDPOINTS: the management endpoints (host:port) of the nodes, comma-separated, the same list on every node");
        var endpoints = new List<string>();
        foreach (var part in raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.LastIndexOf(':');
            var host = colon > 0 ? part[..colon] : "";
            if (host.Length == 0 || host.Contains("://", StringComparison.Ordinal) ||
                !int.TryParse(part[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
                throw new ServiceConfigurationException(
                    $"AKKA_DISCOVERY_ENDPOINTS: \"{part}\" is not a management endpoint; expected host:port (the node's AKKA_MANAGEMENT_HOSTNAME and AKKA_MANAGEMENT_PORT), comma-separated");
            if (endpoints.Contains(part, StringComparer.OrdinalIgnoreCase))
                throw new ServiceConfigurationException($"AKKA_DISCOVERY_ENDPOINTS: \"{part}\" is listed twice");
            endpoints.Add(part);
        }
        return endpoints;
    }

    private static string? Value(IConfiguration config, string name) => config[name] is { } v && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
}
