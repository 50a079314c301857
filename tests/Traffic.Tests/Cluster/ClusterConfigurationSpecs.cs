using Traffic.Host.Configuration;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Cluster;

public sealed class ClusterConfigurationSpecs
{
    private static ServiceOptions Options(params (string Key, string Value)[] settings) =>
        ServiceOptions.From(InMemoryConfiguration.Of(settings));

    [Fact]
    public void Without_any_akka_variable_the_service_is_one_node()
    {
        Assert.Null(Options().Cluster);
        Assert.Null(Options(("AKKA_HOSTNAME", "10.0.0.5")).Cluster); // a host name alone does not make a cluster
    }

    [Fact]
    public void A_port_alone_starts_a_cluster_of_its_own()
    {
        var cluster = Options(("AKKA_PORT", "4053")).Cluster!;
        Assert.Equal(4053, cluster.Port);
        Assert.Equal("127.0.0.1", cluster.Hostname);
        Assert.Empty(cluster.SeedNodes);
        Assert.Equal(TimeSpan.FromSeconds(7), cluster.StableAfter);
    }

    [Fact]
    public void Seed_nodes_are_given_as_host_port_or_as_full_addresses()
    {
        var cluster = Options(
            ("AKKA_SEED_NODES", "10.0.0.1:4053, akka.tcp://traffic@10.0.0.2:4053"),
            ("AKKA_HOSTNAME", "10.0.0.3"),
            ("AKKA_BIND_HOSTNAME", "0.0.0.0"),
            ("AKKA_TLS", "off"), // a non-loopback bind without a certificate: only when said explicitly
            ("AKKA_SBR_STABLE_AFTER_MS", "2000")).Cluster!;
        Assert.Equal(["akka.tcp://traffic@10.0.0.1:4053", "akka.tcp://traffic@10.0.0.2:4053"], cluster.SeedNodes);
        Assert.Equal(ClusterNodeOptions.DefaultPort, cluster.Port);
        Assert.Equal("10.0.0.3", cluster.Hostname);
        Assert.Equal("0.0.0.0", cluster.BindHostname);
        Assert.Equal(TimeSpan.FromSeconds(2), cluster.StableAfter);
        Assert.False(cluster.Tls.Enabled);
        Assert.Contains("unencrypted and unauthenticated", cluster.Tls.Warning);
    }

    [Fact]
    public void A_loopback_bind_without_a_certificate_starts_with_a_warning()
    {
        var cluster = Options(("AKKA_PORT", "4053"), ("AKKA_HOSTNAME", "10.0.0.3"), ("AKKA_BIND_HOSTNAME", "127.0.0.1")).Cluster!;
        Assert.False(cluster.Tls.Enabled);
        Assert.Contains("AKKA_TLS_CERT_PATH", cluster.Tls.Warning);
        Assert.Equal("akka.tcp://traffic@127.0.0.1:4053", ClusterNodeOptions.ParseSeeds("127.0.0.1:4053").Single());
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("10.0.0.3")]
    [InlineData("node1.example")]
    public void A_reachable_bind_without_a_certificate_is_refused_naming_AKKA_TLS_CERT_PATH(string bind)
    {
        var error = Assert.Throws<ServiceConfigurationException>(() => Options(("AKKA_PORT", "4053"), ("AKKA_BIND_HOSTNAME", bind)));
        Assert.StartsWith("AKKA_TLS_CERT_PATH is not set", error.Message);
        Assert.Contains("AKKA_TLS=off", error.Message);
    }

    [Theory]
    [InlineData("AKKA_TLS", "maybe")]
    [InlineData("AKKA_TLS_CA_PATH", "/nowhere/ca.pem")]            // a CA without this node's certificate
    [InlineData("AKKA_TLS_CERT_PATH", "/nowhere/node.pfx")]         // without its CA; then unreadable
    public void A_bad_tls_setting_stops_the_start_naming_the_variable(string name, string value)
    {
        var error = Assert.Throws<ServiceConfigurationException>(() => Options(("AKKA_PORT", "4053"), (name, value)));
        Assert.Contains(name, error.Message);
    }

    [Fact]
    public void With_a_certificate_the_seed_nodes_are_tls_addresses()
    {
        Assert.Equal(["akka.ssl.tcp://traffic@10.0.0.1:4053", "akka.ssl.tcp://traffic@10.0.0.2:4053"],
            ClusterNodeOptions.ParseSeeds("10.0.0.1:4053,akka.tcp://traffic@10.0.0.2:4053", tls: true));
    }

    [Theory]
    [InlineData("AKKA_SEED_NODES", "10.0.0.1")]
    [InlineData("AKKA_SEED_NODES", "akka.tcp://other@10.0.0.1:4053")]
    [InlineData("AKKA_PORT", "70000")]
    [InlineData("AKKA_SBR_STABLE_AFTER_MS", "soon")]
    public void A_bad_value_stops_the_start_naming_the_variable(string name, string value)
    {
        var settings = new List<(string, string)> { (name, value) };
        if (name != "AKKA_PORT") settings.Add(("AKKA_PORT", "4053"));
        var error = Assert.Throws<ServiceConfigurationException>(() => Options(settings.ToArray()));
        Assert.Contains(name, error.Message);
    }
}
