using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Traffic.Host;
using Traffic.Host.Configuration;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// What the dashboard learns from the service (GET /dashboard/settings), the recent ALERTs
/// (GET /api/alerts/recent) and the page's Content-Security-Policy with a tile server.
/// </summary>
public sealed class DashboardSettingsSpecs
{
    [Fact]
    public async Task With_a_tile_server_the_page_may_load_images_from_its_origin_and_is_told_its_url()
    {
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SIMULATOR_ENABLED"] = "false",
            ["DASHBOARD_TILE_URL"] = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png",
            ["DASHBOARD_RECENT_ALERTS_MINUTES"] = "45",
            ["UPDATE_INTERVALS_MS"] = "accidents=2000",
        });
        using var page = await service.Http.GetAsync("/");
        Assert.Equal("default-src 'self'; img-src 'self' data: http://127.0.0.1:9; connect-src 'self'; frame-ancestors 'none'",
            Assert.Single(page.Headers.GetValues("Content-Security-Policy")));

        var settings = JsonDocument.Parse(await service.Http.GetStringAsync("/dashboard/settings")).RootElement;
        Assert.Equal("http://127.0.0.1:9/tiles/{z}/{x}/{y}.png", settings.GetProperty("tileUrl").GetString());
        Assert.Equal(45, settings.GetProperty("recentAlertsMinutes").GetInt32());
        Assert.Equal(2000, settings.GetProperty("updateIntervalsMs").GetProperty("accidents").GetInt32());
        Assert.Equal(30000, settings.GetProperty("updateIntervalsMs").GetProperty("cameras").GetInt32()); // the default
    }

    [Fact]
    public async Task Without_a_tile_server_the_settings_say_so()
    {
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });
        var settings = JsonDocument.Parse(await service.Http.GetStringAsync("/dashboard/settings")).RootElement;
        Assert.Equal(JsonValueKind.Null, settings.GetProperty("tileUrl").ValueKind);
        Assert.Equal(60, settings.GetProperty("recentAlertsMinutes").GetInt32());
    }

    [Theory]
    [InlineData("tiles.example.org/{z}/{x}/{y}.png")]
    [InlineData("https://tiles.example.org/{z}/{x}.png")]
    [InlineData("ftp://tiles.example.org/{z}/{x}/{y}.png")]
    public void A_tile_url_that_is_no_http_template_is_refused_with_a_clear_error(string url)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["DASHBOARD_TILE_URL"] = url }).Build();
        var error = Assert.Throws<ServiceConfigurationException>(() => { DashboardSettings.From(config); });
        Assert.Contains("DASHBOARD_TILE_URL", error.Message);
    }

    [Fact]
    public async Task The_recent_alerts_are_the_published_alerts_of_the_asked_topics_and_to_everyone_oldest_first()
    {
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });
        (await service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { id = "a1" } })).EnsureSuccessStatusCode();
        (await service.PublishAsync(new { type = "ALERT", topic = "weather", data = new { id = "w1" } })).EnsureSuccessStatusCode();
        (await service.PublishAsync(new { type = "UPDATE", topic = "accidents", data = new[] { new { id = "u1" } } })).EnsureSuccessStatusCode();
        (await service.PublishAsync(new { type = "ALERT", data = new { id = "e1" } })).EnsureSuccessStatusCode();
        (await service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { id = "a2" } })).EnsureSuccessStatusCode();

        string[] ids = [];
        await Poll.UntilAsync(async () =>
        {
            var body = JsonDocument.Parse(await service.Http.GetStringAsync("/api/alerts/recent?minutes=10&topics=accidents")).RootElement;
            ids = body.GetProperty("alerts").EnumerateArray().Select(a => a.GetProperty("data").GetProperty("id").GetString()!).ToArray();
            return ids.Length == 3;
        }, "the three ALERTs in the recent list", TimeSpan.FromSeconds(30));
        Assert.Equal(["a1", "e1", "a2"], ids);

        using var bad = await service.Http.GetAsync("/api/alerts/recent?topics=nope");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
    }
}
