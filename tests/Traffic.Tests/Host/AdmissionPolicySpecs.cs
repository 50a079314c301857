using System.Net;
using Microsoft.Extensions.Configuration;
using Traffic.Host.Admission;
using Traffic.Host.Configuration;
using Xunit;

namespace Traffic.Tests.Host;

/// <summary>The admission policy's parts as pure code: origins, forwarded addresses, counting, settings.</summary>
public sealed class AdmissionPolicySpecs
{
    [Theory]
    [InlineData(null, "traffic.example", true)]                               // not a browser
    [InlineData("https://traffic.example", "traffic.example", true)]           // same host, default port
    [InlineData("http://localhost:5000", "localhost:5000", true)]             // same host and port
    [InlineData("http://localhost:3000", "localhost:5000", false)]            // another port is another origin
    [InlineData("https://evil.example", "traffic.example", false)]
    [InlineData("null", "traffic.example", false)]                            // an opaque origin (sandboxed page, file://)
    public void By_default_only_clients_without_origin_and_pages_of_the_same_host_connect(string? origin, string host, bool allowed) =>
        Assert.Equal(allowed, new OriginPolicy([], development: false).Allows(origin, host));

    [Theory]
    [InlineData("http://localhost:3000", true)]
    [InlineData("http://127.0.0.1:8080", true)]
    [InlineData("https://evil.example", false)]
    public void In_development_pages_on_this_machine_connect_too(string origin, bool allowed) =>
        Assert.Equal(allowed, new OriginPolicy([], development: true).Allows(origin, "traffic.example"));

    [Fact]
    public void Listed_origins_and_wildcard_subdomains_connect_and_star_allows_any()
    {
        var listed = new OriginPolicy(AdmissionSettings.ParseOrigins("https://traffic.example,https://*.hcmc.example"), development: false);
        Assert.True(listed.Allows("https://traffic.example", "api.internal"));
        Assert.True(listed.Allows("https://map.hcmc.example", "api.internal"));
        Assert.False(listed.Allows("https://hcmc.example.evil.example", "api.internal"));
        Assert.False(listed.Allows("http://traffic.example", "api.internal")); // another scheme
        Assert.True(new OriginPolicy(["*"], development: false).Allows("https://anything.example", "api.internal"));
    }

    [Theory]
    [InlineData("127.0.0.1", "203.0.113.7", "203.0.113.7")]                   // trusted proxy: its forwarded client
    [InlineData("127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7")]     // one hop: the last entry
    [InlineData("192.0.2.10", "203.0.113.7", "192.0.2.10")]                   // not trusted: the header is ignored
    [InlineData("127.0.0.1", "not-an-address", "127.0.0.1")]
    [InlineData("127.0.0.1", null, "127.0.0.1")]
    public void The_forwarded_address_counts_only_from_a_trusted_proxy(string peer, string? forwardedFor, string expected)
    {
        var options = ClientAddress.OptionsFor(AdmissionSettings.Default);
        Assert.Equal(IPAddress.Parse(expected), ClientAddress.Resolve(options, IPAddress.Parse(peer), forwardedFor));
    }

    [Fact]
    public void An_IPv6_client_counts_by_its_64_so_new_addresses_in_it_take_no_more_connections()
    {
        var limiter = new ConnectionLimiter(maxTotal: 10, maxPerAddress: 2);
        using var first = limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2::1"), out _);
        using var second = limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2:dead:beef:0:7"), out _);
        Assert.NotNull(second);
        Assert.Null(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2:ffff::9"), out var hit));
        Assert.Equal(ConnectionLimiter.LimitHit.PerAddress, hit);
        using var other = limiter.TryAcquire(IPAddress.Parse("2001:db8:1:3::1"), out _); // another /64
        Assert.NotNull(other);
        using var mapped = limiter.TryAcquire(IPAddress.Parse("::ffff:127.0.0.1"), out _); // loopback, mapped: not counted per address
        using var mapped2 = limiter.TryAcquire(IPAddress.Parse("::ffff:127.0.0.1"), out _);
        using var mapped3 = limiter.TryAcquire(IPAddress.Parse("::ffff:127.0.0.1"), out _);
        Assert.NotNull(mapped3);
    }

    [Fact]
    public void The_limiter_counts_until_a_lease_is_disposed_and_exempts_loopback_from_the_per_address_limit()
    {
        var limiter = new ConnectionLimiter(maxTotal: 3, maxPerAddress: 1);
        var remote = IPAddress.Parse("203.0.113.7");
        using var first = limiter.TryAcquire(remote, out _);
        Assert.NotNull(first);
        Assert.Null(limiter.TryAcquire(remote, out var hit));
        Assert.Equal(ConnectionLimiter.LimitHit.PerAddress, hit);

        using var local1 = limiter.TryAcquire(IPAddress.Loopback, out _);
        using var local2 = limiter.TryAcquire(IPAddress.IPv6Loopback, out _);
        Assert.NotNull(local2);
        Assert.Null(limiter.TryAcquire(IPAddress.Parse("203.0.113.8"), out hit));
        Assert.Equal(ConnectionLimiter.LimitHit.Total, hit);

        first!.Dispose();
        first.Dispose(); // twice is once
        Assert.Equal(2, limiter.Open);
        Assert.NotNull(limiter.TryAcquire(remote, out _));
    }

    [Theory]
    [InlineData("ALLOWED_ORIGINS", "traffic.example")]
    [InlineData("ALLOWED_ORIGINS", "https://traffic.example/path")]
    [InlineData("TRUSTED_PROXIES", "proxy.internal")]
    [InlineData("MAX_CONNECTIONS", "0")]
    [InlineData("PUBLISH_RATE_PER_SECOND", "-1")]
    public void A_bad_value_stops_the_start_naming_the_variable(string name, string value)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [name] = value }).Build();
        var error = Assert.Throws<ServiceConfigurationException>(() => ServiceOptions.From(config));
        Assert.Contains(name, error.Message);
    }

    [Fact]
    public void Defaults_and_overrides_are_read_from_the_environment()
    {
        Assert.Equal(AdmissionSettings.Default, ServiceOptions.From(new ConfigurationBuilder().Build()).Admission);
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ALLOWED_ORIGINS"] = "*",
            ["MAX_CONNECTIONS"] = "50000",
            ["MAX_CONNECTIONS_PER_ADDRESS"] = "0",
            ["TRUSTED_PROXIES"] = "10.0.0.5, 10.1.0.0/16",
            ["PUBLISH_RATE_PER_SECOND"] = "0",
        }).Build();
        var admission = ServiceOptions.From(config).Admission;
        Assert.Equal(["*"], admission.AllowedOrigins);
        Assert.Equal(50000, admission.MaxConnections);
        Assert.Equal(0, admission.MaxConnectionsPerAddress);
        Assert.Equal([IPNetwork.Parse("10.0.0.5/32"), IPNetwork.Parse("10.1.0.0/16")], admission.TrustedProxies);
        Assert.Equal(0, admission.PublishRatePerSecond);
    }
}
