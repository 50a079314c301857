using Microsoft.Extensions.Configuration;
using Traffic.Host.Configuration;
using Xunit;

namespace Traffic.Tests.Cluster;

public sealed class ClusterConfigurationSpecs
{
    private static ServiceOptions Options(params (string Key, string Value)[] settings) =>
        ServiceOptions.From(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build());

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
            ("AKKA_SBR_STABLE_AFTER_MS", "2000")).Cluster!;
        Assert.Equal(["akka.tcp://traffic@10.0.0.1:4053", "akka.tcp://traffic@10.0.0.2:4053"], cluster.SeedNodes);
        Assert.Equal(ClusterNodeOptions.DefaultPort, cluster.Port);
        Assert.Equal("10.0.0.3", cluster.Hostname);
        Assert.Equal("0.0.0.0", cluster.BindHostname);
        Assert.Equal(TimeSpan.FromSeconds(2), cluster.StableAfter);
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
