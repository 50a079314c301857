using Traffic.Host.Configuration;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Cluster;

/// <summary>The discovery settings (docs/operations.md, "Discovery"): what they mean, and one line naming the variable when they are wrong.</summary>
public sealed class ClusterBootstrapConfigurationSpecs
{
    private static ServiceOptions Options(params (string Key, string Value)[] settings) =>
        ServiceOptions.From(InMemoryConfiguration.Of(settings));

    private static string Refused(params (string Key, string Value)[] settings) =>
        Assert.Throws<ServiceConfigurationException>(() => Options(settings)).Message;

    [Fact]
    public void Without_AKKA_DISCOVERY_nothing_changes()
    {
        Assert.Null(Options().Cluster);
        var cluster = Options(("AKKA_PORT", "4053")).Cluster!;
        Assert.Null(cluster.Discovery);
        Assert.True(cluster.JoinsItself); // no seed nodes, no discovery: a cluster of its own, as before
        Assert.False(Options(("AKKA_SEED_NODES", "127.0.0.1:4053")).Cluster!.JoinsItself);
    }

    [Fact]
    public void Config_discovery_makes_a_cluster_node_that_waits_for_every_listed_endpoint_and_never_joins_itself()
    {
        var cluster = Options(("AKKA_DISCOVERY", "config"), ("AKKA_DISCOVERY_ENDPOINTS", "127.0.0.1:8558, 127.0.0.1:8559,127.0.0.1:8560")).Cluster!;
        var discovery = cluster.Discovery!;

        Assert.False(cluster.JoinsItself);
        Assert.Empty(cluster.SeedNodes);
        Assert.Equal(ClusterNodeOptions.DefaultPort, cluster.Port);
        Assert.Equal(DiscoveryMethod.Config, discovery.Method);
        Assert.Equal(["127.0.0.1:8558", "127.0.0.1:8559", "127.0.0.1:8560"], discovery.Endpoints);
        Assert.Equal(3, discovery.RequiredContacts); // every endpoint: nodes started together form exactly one cluster
        Assert.Equal(8558, discovery.ManagementPort);
        Assert.Equal("127.0.0.1", discovery.ManagementHostname); // AKKA_HOSTNAME's default
        Assert.Equal("127.0.0.1", discovery.ManagementBindHostname);
        Assert.Equal("traffic", discovery.ServiceName);
        Assert.Equal(TimeSpan.FromSeconds(5), discovery.StableMargin);
        Assert.Equal(TimeSpan.FromSeconds(5), discovery.ProbeInterval);
    }

    [Fact]
    public void The_management_endpoint_follows_the_node_s_addresses_unless_told_otherwise()
    {
        var discovery = Options(("AKKA_DISCOVERY", "config"), ("AKKA_DISCOVERY_ENDPOINTS", "10.0.0.11:9000,10.0.0.12:9000"),
            ("AKKA_HOSTNAME", "10.0.0.11"), ("AKKA_BIND_HOSTNAME", "0.0.0.0"), ("AKKA_TLS", "off"),
            ("AKKA_MANAGEMENT_PORT", "9000"), ("AKKA_BOOTSTRAP_REQUIRED_CONTACTS", "1"),
            ("AKKA_BOOTSTRAP_STABLE_MARGIN_MS", "1500"), ("AKKA_BOOTSTRAP_PROBE_INTERVAL_MS", "500")).Cluster!.Discovery!;
        Assert.Equal("10.0.0.11", discovery.ManagementHostname);
        Assert.Equal("0.0.0.0", discovery.ManagementBindHostname);
        Assert.Equal(9000, discovery.ManagementPort);
        Assert.Equal(1, discovery.RequiredContacts);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), discovery.StableMargin);
        Assert.Equal(TimeSpan.FromMilliseconds(500), discovery.ProbeInterval);

        var named = Options(("AKKA_DISCOVERY", "config"), ("AKKA_DISCOVERY_ENDPOINTS", "node1.internal:8558"),
            ("AKKA_MANAGEMENT_HOSTNAME", "node1.internal")).Cluster!.Discovery!;
        Assert.Equal("node1.internal", named.ManagementHostname);
        Assert.Equal("node1.internal", named.ManagementBindHostname);
    }

    [Fact]
    public void Kubernetes_discovery_finds_pods_by_label_and_needs_two_contacts_by_default()
    {
        var cluster = Options(("AKKA_DISCOVERY", "Kubernetes"), ("AKKA_HOSTNAME", "10.1.2.3"), ("AKKA_TLS", "off")).Cluster!;
        var discovery = cluster.Discovery!;
        Assert.Equal(DiscoveryMethod.Kubernetes, discovery.Method);
        Assert.Equal("app={0}", discovery.PodLabelSelector);
        Assert.Equal(2, discovery.RequiredContacts);
        Assert.Empty(discovery.Endpoints);
        Assert.Equal("10.1.2.3", discovery.ManagementHostname);

        var labelled = Options(("AKKA_DISCOVERY", "kubernetes"), ("AKKA_DISCOVERY_POD_LABEL_SELECTOR", "app.kubernetes.io/name=traffic"),
            ("AKKA_DISCOVERY_SERVICE_NAME", "traffic-realtime"), ("AKKA_BOOTSTRAP_REQUIRED_CONTACTS", "3")).Cluster!.Discovery!;
        Assert.Equal("app.kubernetes.io/name=traffic", labelled.PodLabelSelector);
        Assert.Equal("traffic-realtime", labelled.ServiceName);
        Assert.Equal(3, labelled.RequiredContacts);
    }

    [Fact]
    public void Seed_nodes_and_discovery_together_are_refused()
    {
        Assert.Equal("AKKA_SEED_NODES and AKKA_DISCOVERY are both set: a node joins either a fixed seed list or the nodes discovery finds; unset one of them",
            Refused(("AKKA_SEED_NODES", "127.0.0.1:4053"), ("AKKA_DISCOVERY", "config"), ("AKKA_DISCOVERY_ENDPOINTS", "127.0.0.1:8558")));
    }

    [Theory]
    [InlineData("AKKA_DISCOVERY_ENDPOINTS", "127.0.0.1:8558")]
    [InlineData("AKKA_MANAGEMENT_PORT", "8558")]
    [InlineData("AKKA_BOOTSTRAP_REQUIRED_CONTACTS", "3")]
    [InlineData("AKKA_DISCOVERY_POD_LABEL_SELECTOR", "app=traffic")]
    public void A_discovery_setting_without_AKKA_DISCOVERY_is_refused(string name, string value)
    {
        Assert.Equal($"{name} is set but AKKA_DISCOVERY is not: set AKKA_DISCOVERY=config or kubernetes to use it, or unset {name}", Refused((name, value)));
        Assert.StartsWith($"{name} is set but AKKA_DISCOVERY is not", Refused((name, value), ("AKKA_PORT", "4053")));
    }

    [Theory]
    [InlineData("AKKA_DISCOVERY=dns", "AKKA_DISCOVERY=\"dns\" is not config or kubernetes")]
    [InlineData("AKKA_DISCOVERY=config", "AKKA_DISCOVERY=config needs AKKA_DISCOVERY_ENDPOINTS")]
    [InlineData("AKKA_DISCOVERY_ENDPOINTS=127.0.0.1", "AKKA_DISCOVERY_ENDPOINTS: \"127.0.0.1\" is not a management endpoint")]
    [InlineData("AKKA_DISCOVERY_ENDPOINTS=127.0.0.1:8558,http://127.0.0.1:8559", "AKKA_DISCOVERY_ENDPOINTS: \"http://127.0.0.1:8559\" is not a management endpoint")]
    [InlineData("AKKA_DISCOVERY_ENDPOINTS=127.0.0.1:0", "AKKA_DISCOVERY_ENDPOINTS: \"127.0.0.1:0\" is not a management endpoint")]
    [InlineData("AKKA_DISCOVERY_ENDPOINTS=127.0.0.1:8558,127.0.0.1:8558", "AKKA_DISCOVERY_ENDPOINTS: \"127.0.0.1:8558\" is listed twice")]
    [InlineData("AKKA_BOOTSTRAP_REQUIRED_CONTACTS=3", "AKKA_BOOTSTRAP_REQUIRED_CONTACTS=\"3\" is not a whole number between 1 and 2")] // more than are listed: never met
    [InlineData("AKKA_BOOTSTRAP_REQUIRED_CONTACTS=0", "AKKA_BOOTSTRAP_REQUIRED_CONTACTS=\"0\" is not a whole number between 1 and 2")]
    [InlineData("AKKA_MANAGEMENT_PORT=0", "AKKA_MANAGEMENT_PORT=\"0\" is not a whole number between 1 and 65535")]
    [InlineData("AKKA_MANAGEMENT_PORT=4053", "AKKA_MANAGEMENT_PORT (4053) is the same as AKKA_PORT")]
    [InlineData("AKKA_MANAGEMENT_PORT=5000", "AKKA_MANAGEMENT_PORT (5000) is the same as WS_PORT")]
    [InlineData("AKKA_BOOTSTRAP_STABLE_MARGIN_MS=soon", "AKKA_BOOTSTRAP_STABLE_MARGIN_MS=\"soon\"")]
    [InlineData("AKKA_DISCOVERY_POD_LABEL_SELECTOR=app=traffic", "AKKA_DISCOVERY_POD_LABEL_SELECTOR is for AKKA_DISCOVERY=kubernetes")]
    public void A_bad_config_discovery_setting_is_one_line_naming_it(string setting, string expected)
    {
        var settings = new Dictionary<string, string>
        {
            ["AKKA_DISCOVERY"] = "config",
            ["AKKA_DISCOVERY_ENDPOINTS"] = "127.0.0.1:8558,127.0.0.1:8559",
        };
        var (name, value) = (setting[..setting.IndexOf('=')], setting[(setting.IndexOf('=') + 1)..]);
        if (name == "AKKA_DISCOVERY" && value == "config") settings.Remove("AKKA_DISCOVERY_ENDPOINTS");
        else settings[name] = value;

        var message = Refused(settings.Select(s => (s.Key, s.Value)).ToArray());
        Assert.StartsWith(expected, message);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void Endpoints_are_for_config_discovery_only()
    {
        Assert.StartsWith("AKKA_DISCOVERY_ENDPOINTS is for AKKA_DISCOVERY=config",
            Refused(("AKKA_DISCOVERY", "kubernetes"), ("AKKA_DISCOVERY_ENDPOINTS", "127.0.0.1:8558")));
    }
}
