using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// What a client without the key may see and reach (issue 23, "What is public"): requests naming a
/// host the service does not answer to (DNS rebinding) are refused with 400 on both ways in; the
/// cluster view of /api/stats shows node details only to the holder of the publish key.
/// </summary>
public sealed class PublicSurfaceSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SIMULATOR_ENABLED"] = "false",
            ["ALLOWED_HOSTS"] = "traffic.example, *.hcmc.example",
        });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Theory]
    [InlineData("attacker.example")]
    [InlineData("attacker.example:80")]
    [InlineData("hcmc.example.attacker.example")]
    [InlineData("traffic.example.attacker.example")]
    public async Task A_websocket_upgrade_naming_another_host_is_refused_with_400_on_the_direct_path(string host)
    {
        await using var raw = await RawHttp.OpenAsync(_service);
        await raw.SendAsync(RawHttp.Upgrade(host: $"Host: {host}\r\n"));
        var response = await raw.ReadResponseAsync();
        Assert.Equal(400, response.Status);
        Assert.Equal("Host not allowed", response.Problem.GetProperty("title").GetString());
        Assert.Contains("ALLOWED_HOSTS", response.Problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task An_upgrade_on_a_reused_connection_and_plain_requests_naming_another_host_are_refused_too()
    {
        await using var raw = await RawHttp.OpenAsync(_service);
        await raw.SendAsync("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.Equal(200, (await raw.ReadResponseAsync()).Status);
        await raw.SendAsync(RawHttp.Upgrade(host: "Host: attacker.example\r\n"));
        var upgrade = await raw.ReadResponseAsync();
        Assert.Equal(400, upgrade.Status);
        Assert.Equal("Host not allowed", upgrade.Problem.GetProperty("title").GetString());

        foreach (var path in new[] { "/health", "/", "/api/stats", "/metrics" })
        {
            await using var page = await RawHttp.OpenAsync(_service);
            await page.SendAsync($"GET {path} HTTP/1.1\r\nHost: attacker.example:{_service.BaseAddress.Port}\r\n\r\n");
            var response = await page.ReadResponseAsync();
            Assert.Equal(400, response.Status);
            Assert.Equal("Host not allowed", response.Problem.GetProperty("title").GetString());
        }
    }

    [Theory]
    [InlineData("traffic.example")]
    [InlineData("TRAFFIC.example:8443")]
    [InlineData("map.hcmc.example")]
    [InlineData("localhost:5000")]
    [InlineData("traffic:5000")] // a container's name: no dot, never a rebinding
    [InlineData("app.localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("[::1]:5000")]
    [InlineData("10.1.2.3:5000")] // a pod's address, as a probe sends it
    public async Task Listed_names_localhost_and_addresses_are_answered_on_both_ways_in(string host)
    {
        await using (var raw = await RawHttp.OpenAsync(_service))
        {
            await raw.SendAsync(RawHttp.Upgrade(host: $"Host: {host}\r\n"));
            Assert.Equal(101, (await raw.ReadResponseAsync()).Status);
        }
        await using (var raw = await RawHttp.OpenAsync(_service))
        {
            await raw.SendAsync($"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n");
            Assert.Equal(200, (await raw.ReadResponseAsync()).Status);
        }
    }

    [Fact]
    public async Task Cluster_stats_show_node_details_only_to_the_holder_of_the_publish_key()
    {
        var open = await _service.StatsAsync("?scope=cluster", apiKey: null);
        Assert.False(open.TryGetProperty("aggregator", out _));
        Assert.False(open.TryGetProperty("self", out _));
        Assert.All(open.GetProperty("nodes").EnumerateArray(), node => Assert.False(node.TryGetProperty("node", out _)));
        Assert.Equal(0, open.GetProperty("clients").GetInt32()); // the counts stay public

        var keyed = await StatsWithKeyAsync("?scope=cluster", RunningService.ApiKey);
        Assert.Equal("local", keyed.GetProperty("aggregator").GetString());
        Assert.Equal("local", keyed.GetProperty("nodes")[0].GetProperty("node").GetString());

        // A wrong key gets the public subset (and counts as a failed attempt, as on /api/publish).
        var wrong = await StatsWithKeyAsync("?scope=cluster", "not-the-key-at-all");
        Assert.False(wrong.TryGetProperty("aggregator", out _));
    }

    private async Task<JsonElement> StatsWithKeyAsync(string query, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/stats" + query);
        request.Headers.Add("X-Api-Key", key);
        using var response = await _service.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
