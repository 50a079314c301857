using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Traffic.Host.Api;
using Xunit;

namespace Traffic.Tests.Host;

public sealed class FailedKeyAttemptsSpecs
{
    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
        public void Advance(TimeSpan by) => now += by;
    }

    [Fact]
    public void An_IPv6_client_counts_by_its_64_and_an_IPv4_mapped_one_as_IPv4()
    {
        Assert.Equal("2001:db8:1:2::/64", FailedKeyAttempts.Key(IPAddress.Parse("2001:db8:1:2:aaaa:bbbb:cccc:dddd")));
        Assert.Equal(FailedKeyAttempts.Key(IPAddress.Parse("2001:db8:1:2::1")), FailedKeyAttempts.Key(IPAddress.Parse("2001:db8:1:2:ffff::9")));
        Assert.Equal("192.0.2.7", FailedKeyAttempts.Key(IPAddress.Parse("::ffff:192.0.2.7")));
    }

    [Fact]
    public void The_limit_locks_an_address_out_for_the_rest_of_its_minute_only()
    {
        var time = new ManualTime(DateTimeOffset.Parse("2026-12-07T10:00:00Z"));
        var attempts = new FailedKeyAttempts(limit: 2, NullLogger<FailedKeyAttempts>.Instance, time);
        var address = IPAddress.Parse("192.0.2.7");

        attempts.Failed(address, "/api/publish", "wrong key");
        Assert.Null(attempts.LockedFor(address));
        time.Advance(TimeSpan.FromSeconds(20));
        attempts.Failed(address, "/api/publish", "wrong key");
        Assert.Equal(40, attempts.LockedFor(address));
        Assert.Null(attempts.LockedFor(IPAddress.Parse("192.0.2.8"))); // others are not affected

        time.Advance(TimeSpan.FromSeconds(40));
        Assert.Null(attempts.LockedFor(address));
    }
}
