using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Traffic.Host.Configuration;
using Traffic.Tests.Support;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Traffic.Tests.Host;

/// <summary>
/// The Kubernetes manifests that ship (deploy/kubernetes, docs/operations.md "Discovery") are checked
/// against the service itself: every variable they set is one the service reads, and the service
/// starts with them (its settings parse, cluster mode with Kubernetes discovery); every probe path is
/// one the service maps; every port matches the service's settings; the services, the budget and
/// the discovery's label selector find the pods; the pods' account may list pods.
/// </summary>
public sealed partial class KubernetesManifestSpecs
{
    private static readonly string ManifestDirectory = Path.Combine(HostProcess.RepositoryRoot(), "deploy", "kubernetes");
    private static readonly string HostSources = Path.Combine(HostProcess.RepositoryRoot(), "src", "Traffic.Host");

    private static readonly Lazy<IReadOnlyList<YamlMappingNode>> Documents = new(() =>
        Directory.GetFiles(ManifestDirectory, "*.yaml").Order().SelectMany(file =>
        {
            var stream = new YamlStream();
            using var reader = new StreamReader(file);
            stream.Load(reader);
            return stream.Documents.Select(d => (YamlMappingNode)d.RootNode);
        }).ToList());

    [Fact]
    public void The_manifests_are_a_deployment_rbac_two_services_and_a_disruption_budget()
    {
        var kinds = Documents.Value.Select(d => Text(d, "kind")).Order().ToList();
        Assert.Equal(["Deployment", "PodDisruptionBudget", "Role", "RoleBinding", "Service", "Service", "ServiceAccount"], kinds);
    }

    [Fact]
    public void Every_variable_the_deployment_sets_is_one_the_service_reads()
    {
        var read = VariablesTheServiceReads();
        Assert.Contains("AKKA_DISCOVERY", read); // the scan finds them
        Assert.Contains("WS_PORT", read);

        var unknown = Environment().Keys.Where(name => !read.Contains(name)).ToList();
        Assert.True(unknown.Count == 0, $"deploy/kubernetes/deployment.yaml sets variables the service never reads: {string.Join(", ", unknown)}");
    }

    [Fact]
    public void The_service_starts_with_the_deployment_s_settings_as_a_cluster_node_with_kubernetes_discovery()
    {
        var options = OptionsOf(Environment());
        var cluster = Assert.IsType<ClusterNodeOptions>(options.Cluster);
        var discovery = Assert.IsType<ClusterDiscoveryOptions>(cluster.Discovery);

        Assert.Equal(DiscoveryMethod.Kubernetes, discovery.Method);
        Assert.Empty(cluster.SeedNodes);
        Assert.False(cluster.JoinsItself);
        Assert.True(cluster.Tls.Enabled, "the pods talk over mutual TLS (the pod IP is not a loopback address)");
        Assert.Equal("10.244.1.7", cluster.Hostname); // the pod's IP, from the downward API
        Assert.Equal(discovery.RequiredContacts, Int(Deployment(), "spec", "replicas")); // a new cluster waits for every first replica
    }

    [Fact]
    public void The_ports_are_the_service_s_own()
    {
        var options = OptionsOf(Environment());
        var ports = ContainerPorts();
        Assert.Equal(options.Port, ports["http"]);
        Assert.Equal(options.Cluster!.Port, ports["akka-remote"]);
        Assert.Equal(options.Cluster.Discovery!.ManagementPort, ports[ClusterDiscoveryOptions.KubernetesPortName]); // discovery looks the port up by this name
        Assert.Equal(ClusterDiscoveryOptions.DefaultManagementPort, ports[ClusterDiscoveryOptions.KubernetesPortName]);

        foreach (var service in Kind("Service"))
            foreach (YamlMappingNode port in Sequence(service, "spec", "ports"))
            {
                var target = Text(port, "targetPort");
                Assert.True(ports.ContainsKey(target) || ports.ContainsValue(int.Parse(target)),
                    $"service {Text(service, "metadata", "name")} targets port {target}, which the container does not have");
            }
        var management = Kind("Service").Single(s => ((YamlMappingNode)Node(s, "spec")).Children.ContainsKey("clusterIP") && Text(s, "spec", "clusterIP") == "None");
        Assert.Equal("true", Text(management, "spec", "publishNotReadyAddresses")); // nodes are probed before they are ready
        Assert.Equal(ClusterDiscoveryOptions.KubernetesPortName, Text((YamlMappingNode)Sequence(management, "spec", "ports").Single(), "targetPort"));
    }

    [Fact]
    public void Every_probe_path_is_one_the_service_maps_on_its_http_port()
    {
        var mapped = PathsTheServiceMaps();
        var container = Container();
        foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
        {
            var get = (YamlMappingNode)Node(container, probe, "httpGet");
            Assert.Contains(Text(get, "path"), mapped);
            Assert.Equal("http", Text(get, "port"));
        }
        Assert.Equal("/health/ready", Text(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal("/health/live", Text(container, "livenessProbe", "httpGet", "path"));
    }

    [Fact]
    public void The_graceful_leave_fits_in_the_termination_grace_period()
    {
        // A leave takes 2-5 s, 12 s at worst (cluster-exiting times out after 10 s; docs/operations.md).
        Assert.True(Int(Deployment(), "spec", "template", "spec", "terminationGracePeriodSeconds") >= 15);
    }

    [Fact]
    public void The_services_the_budget_and_the_discovery_select_the_deployment_s_pods()
    {
        var labels = Labels((YamlMappingNode)Node(Deployment(), "spec", "template", "metadata", "labels"));
        bool Selects(IReadOnlyDictionary<string, string> selector) => selector.Count > 0 && selector.All(s => labels.TryGetValue(s.Key, out var v) && v == s.Value);

        Assert.True(Selects(Labels((YamlMappingNode)Node(Deployment(), "spec", "selector", "matchLabels"))));
        foreach (var service in Kind("Service"))
            Assert.True(Selects(Labels((YamlMappingNode)Node(service, "spec", "selector"))), $"service {Text(service, "metadata", "name")} selects no pod");
        Assert.True(Selects(Labels((YamlMappingNode)Node(Kind("PodDisruptionBudget").Single(), "spec", "selector", "matchLabels"))));

        var discovery = OptionsOf(Environment()).Cluster!.Discovery!;
        var selector = string.Format(discovery.PodLabelSelector!, discovery.ServiceName);
        Assert.True(Selects(selector.Split(',').Select(s => s.Split('=')).ToDictionary(kv => kv[0].Trim(), kv => kv[1].Trim())),
            $"the discovery's label selector {selector} selects no pod");
    }

    [Fact]
    public void The_pods_account_may_get_watch_and_list_pods()
    {
        var account = Text(Kind("ServiceAccount").Single(), "metadata", "name");
        Assert.Equal(account, Text(Deployment(), "spec", "template", "spec", "serviceAccountName"));

        var role = Kind("Role").Single();
        var rule = (YamlMappingNode)Sequence(role, "rules").Single();
        Assert.Equal(["pods"], Strings(rule, "resources"));
        Assert.Equal(["get", "list", "watch"], Strings(rule, "verbs").Order());

        var binding = Kind("RoleBinding").Single();
        Assert.Equal(Text(role, "metadata", "name"), Text(binding, "roleRef", "name"));
        var subject = (YamlMappingNode)Sequence(binding, "subjects").Single();
        Assert.Equal(("ServiceAccount", account), (Text(subject, "kind"), Text(subject, "name")));
    }

    // ---- what the service reads and maps, from its own sources

    /// <summary>The names the service's configuration code reads: config["X"], integer("X", ...), Value(config, "X"), ...</summary>
    private static HashSet<string> VariablesTheServiceReads() =>
        SourceFiles().SelectMany(file => ReadPattern().Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value)).ToHashSet();

    /// <summary>The paths the service maps: MapHealthChecks("/x"), MapGet("/x"), ...</summary>
    private static HashSet<string> PathsTheServiceMaps() =>
        SourceFiles().SelectMany(file => MapPattern().Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value)).ToHashSet();

    private static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(HostSources, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"));

    [GeneratedRegex("""(?:config\[|integer\(|Integer\(config, |Value\(config, |Milliseconds\(config, |Whole\(config, |Flag\(config, |Boolean\(config, |boolean\()"([A-Z][A-Z0-9_]+)"[,\])]""")]
    private static partial Regex ReadPattern();

    [GeneratedRegex(@"\.Map(?:HealthChecks|Get|Post|Put|Delete|Methods)\(""(/[^""]*)""")]
    private static partial Regex MapPattern();

    // ---- the deployment's environment, as a pod would have it

    /// <summary>The container's variables; values from the downward API and secrets stand in as a pod would get them.</summary>
    private static Dictionary<string, string> Environment()
    {
        var environment = new Dictionary<string, string>();
        foreach (YamlMappingNode variable in Sequence(Container(), "env"))
        {
            var name = Text(variable, "name");
            Assert.False(environment.ContainsKey(name), $"{name} is set twice");
            environment[name] = variable.Children.ContainsKey("value") ? Text(variable, "value")
                : ((YamlMappingNode)Node(variable, "valueFrom")).Children.ContainsKey("fieldRef") && Text(variable, "valueFrom", "fieldRef", "fieldPath") is "status.podIP" ? "10.244.1.7"
                : name == "AKKA_TLS_CERT_PASSWORD" ? TestCertificates.Password
                : "k8s-spec-secret-value-0001";
        }
        return environment;
    }

    /// <summary>The service's options from <paramref name="environment"/>, the cluster TLS files made where the secret is mounted (here: a temporary folder).</summary>
    private static ServiceOptions OptionsOf(Dictionary<string, string> environment)
    {
        var mount = Text((YamlMappingNode)Sequence(Container(), "volumeMounts").Single(), "mountPath");
        var directory = Directory.CreateTempSubdirectory("k8s-manifest-").FullName;
        try
        {
            var certificates = new TestCertificates(directory, "ca");
            File.Move(certificates.Node("node"), Path.Combine(directory, "node.pfx"), overwrite: true);
            File.Move(certificates.AuthorityPath, Path.Combine(directory, "ca.pem"), overwrite: true);
            var settings = environment.ToDictionary(kv => kv.Key,
                kv => (string?)(kv.Value.StartsWith(mount + "/", StringComparison.Ordinal) ? Path.Combine(directory, kv.Value[(mount.Length + 1)..]) : kv.Value));
            foreach (var (name, value) in environment)
                if (value.StartsWith("/", StringComparison.Ordinal) && name.EndsWith("_PATH", StringComparison.Ordinal))
                    Assert.True(value.StartsWith(mount + "/", StringComparison.Ordinal), $"{name}={value} is not in the mounted secret ({mount})");
            return ServiceOptions.From(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        }
        finally { Directory.Delete(directory, recursive: true); }
    }

    private static Dictionary<string, int> ContainerPorts() =>
        Sequence(Container(), "ports").Cast<YamlMappingNode>().ToDictionary(p => Text(p, "name"), p => Int(p, "containerPort"));

    // ---- YAML navigation

    private static IEnumerable<YamlMappingNode> Kind(string kind) => Documents.Value.Where(d => Text(d, "kind") == kind);

    private static YamlMappingNode Deployment() => Kind("Deployment").Single();

    private static YamlMappingNode Container() => (YamlMappingNode)Sequence(Deployment(), "spec", "template", "spec", "containers").Single();

    private static YamlNode Node(YamlMappingNode root, params string[] path)
    {
        YamlNode node = root;
        foreach (var key in path)
        {
            var mapping = Assert.IsType<YamlMappingNode>(node);
            Assert.True(mapping.Children.TryGetValue(new YamlScalarNode(key), out var child),
                $"no {string.Join(".", path)} in {(root.Children.TryGetValue(new YamlScalarNode("kind"), out var kind) ? $"a {kind}" : "this part")} of deploy/kubernetes");
            node = child!;
        }
        return node;
    }

    private static string Text(YamlMappingNode root, params string[] path) => ((YamlScalarNode)Node(root, path)).Value!;

    private static int Int(YamlMappingNode root, params string[] path) => int.Parse(Text(root, path));

    private static YamlSequenceNode Sequence(YamlMappingNode root, params string[] path) => (YamlSequenceNode)Node(root, path);

    private static List<string> Strings(YamlMappingNode root, string key) => Sequence(root, key).Cast<YamlScalarNode>().Select(s => s.Value!).ToList();

    private static Dictionary<string, string> Labels(YamlMappingNode labels) =>
        labels.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value!);
}
