using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Traffic.Host.Admission;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// MAX_HANDSHAKES_PER_ADDRESS: connections of one address still sending their request head are
/// capped; the next is refused at once with 429 (and counted), and once a head is finished the
/// address may connect again. The spec's connections come from 127.0.0.1, so TRUSTED_PROXIES is
/// set to none: a trusted proxy's connections are not counted (they carry many clients).
/// </summary>
[Collection(MetricsCollection.Name)] // reads /metrics
public sealed class HandshakesInProgressSpecs : IAsyncLifetime
{
    private const int Cap = 3;
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SIMULATOR_ENABLED"] = "false",
            ["TRUSTED_PROXIES"] = "none",
            ["MAX_HANDSHAKES_PER_ADDRESS"] = Cap.ToString(),
        });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task Beyond_the_cap_a_connection_is_refused_at_once_with_429_and_counted_and_a_finished_head_frees_a_place()
    {
        var held = new List<RawHttp>();
        try
        {
            // Slow heads: the request line and Host, never the blank line that ends the head.
            for (var i = 0; i < Cap; i++)
            {
                var slow = await RawHttp.OpenAsync(_service);
                held.Add(slow);
                await slow.SendAsync("GET /ws HTTP/1.1\r\nHost: localhost\r\n");
            }

            // The server takes each connection up in its own time: a new connection (sending nothing) is
            // refused once all of those are counted. One that is not refused is a head in progress too.
            RawHttp.Response? refused = null;
            for (var attempt = 0; attempt < 20 && refused is null; attempt++)
            {
                var probe = await RawHttp.OpenAsync(_service);
                var answer = await TryReadAsync(probe, TimeSpan.FromSeconds(3));
                if (answer is { Status: 429 }) { refused = answer; await probe.DisposeAsync(); }
                else held.Add(probe);
            }
            Assert.NotNull(refused);
            Assert.Equal("Too many handshakes in progress", refused.Problem.GetProperty("title").GetString());
            Assert.Contains("MAX_HANDSHAKES_PER_ADDRESS", refused.Problem.GetProperty("detail").GetString());
            Assert.Equal("5", refused.Header("Retry-After"));

            // One slow head finishes: it is upgraded, and its place is free for a new connection.
            var first = held[0];
            await first.SendAsync("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
            Assert.Equal(101, (await first.ReadResponseAsync()).Status);
            await Poll.UntilAsync(async () =>
            {
                await using var again = await RawHttp.OpenAsync(_service);
                await again.SendAsync(RawHttp.Upgrade());
                return (await TryReadAsync(again, TimeSpan.FromSeconds(5)))?.Status == 101;
            }, "a connection from the address is served again once one of its heads is finished");
            // Read once a place is free: while the cap is reached, this client's own scrape would be refused too.
            Assert.Matches(new Regex("(?m)^traffic_handshakes_refused_total(\\{[^}]*\\})? [1-9]"), await _service.Http.GetStringAsync("/metrics"));
        }
        finally
        {
            foreach (var raw in held) await raw.DisposeAsync();
        }
    }

    /// <summary>The response, or null when none came within <paramref name="wait"/> (the connection waits for its head).</summary>
    private static async Task<RawHttp.Response?> TryReadAsync(RawHttp raw, TimeSpan wait)
    {
        try
        {
            var response = await raw.ReadResponseAsync(wait);
            return response.Status == 0 ? null : response;
        }
        catch (OperationCanceledException) { return null; }
        catch (IOException) { return null; }
    }

    [Fact]
    public void The_cap_counts_an_ipv6_client_by_its_64_and_leaves_trusted_proxies_alone()
    {
        var limiter = new HandshakeLimiter(2, [IPNetwork.Parse("10.0.0.0/8")]);
        using var a = limiter.TryEnter(IPAddress.Parse("2001:db8:1:2::1"));
        using var b = limiter.TryEnter(IPAddress.Parse("2001:db8:1:2:aaaa::7"));
        Assert.NotNull(b);
        Assert.Null(limiter.TryEnter(IPAddress.Parse("2001:db8:1:2:ffff::9"))); // same /64
        using (var other = limiter.TryEnter(IPAddress.Parse("2001:db8:1:3::1"))) Assert.NotNull(other); // another /64
        for (var i = 0; i < 10; i++) Assert.NotNull(limiter.TryEnter(IPAddress.Parse("10.1.2.3"))); // a trusted proxy
        a!.Dispose();
        using var c = limiter.TryEnter(IPAddress.Parse("2001:db8:1:2::5"));
        Assert.NotNull(c);
    }

    [Fact]
    public void Refusals_are_logged_once_a_second_per_address_at_most()
    {
        var gate = new RefusalLogGate(TimeSpan.FromSeconds(1));
        Assert.True(gate.ShouldLog(IPAddress.Parse("203.0.113.7"), nowMs: 1_000));
        Assert.False(gate.ShouldLog(IPAddress.Parse("203.0.113.7"), nowMs: 1_500));
        Assert.True(gate.ShouldLog(IPAddress.Parse("203.0.113.8"), nowMs: 1_500));
        Assert.True(gate.ShouldLog(IPAddress.Parse("2001:db8::1"), nowMs: 1_500));
        Assert.False(gate.ShouldLog(IPAddress.Parse("2001:db8::2"), nowMs: 1_600)); // the same /64
        Assert.True(gate.ShouldLog(IPAddress.Parse("203.0.113.7"), nowMs: 2_000));
    }
}
