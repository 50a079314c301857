using System.Net;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

[Collection(MetricsCollection.Name)]
public sealed class MetricsSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task Metrics_count_connections_subscribers_publishes_and_deliveries_in_prometheus_format()
    {
        await using var a = await _service.ConnectAsync("/ws?topics=accidents");
        await using var b = await _service.ConnectAsync("/ws?topics=accidents,weather");
        await a.ExpectGreetingAsync();
        await b.ExpectGreetingAsync();
        await _service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { marker = "m1" } });
        await a.NextAsync(m => m.Type() == "ALERT");
        await b.NextAsync(m => m.Type() == "ALERT");

        var response = await _service.Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Matches("(?m)^traffic_connections\\{[^}]*\\} 2$", text);
        Assert.Matches("(?m)^traffic_subscribers\\{[^}]*topic=\"accidents\"[^}]*\\} 2$", text);
        Assert.Matches("(?m)^traffic_subscribers\\{[^}]*topic=\"weather\"[^}]*\\} 1$", text);
        Assert.Matches("(?m)^traffic_messages_published_total\\{[^}]*topic=\"accidents\",type=\"ALERT\"[^}]*\\} 1$", text);
        Assert.Matches("(?m)^traffic_messages_delivered_total\\{[^}]*topic=\"accidents\"[^}]*\\} 2$", text); // one publish, two recipients
    }

    [Fact]
    public async Task Every_counter_that_dashboards_watch_is_exported_at_zero_from_the_start()
    {
        var text = await _service.Http.GetStringAsync("/metrics");
        foreach (var topic in new[] { "cameras", "weather", "airQuality", "accidents", "patterns", "congestion" })
        {
            Assert.Matches($"(?m)^traffic_messages_dropped_total\\{{[^}}]*topic=\"{topic}\"[^}}]*\\}} 0$", text);
            Assert.Matches($"(?m)^traffic_messages_conflated_total\\{{[^}}]*topic=\"{topic}\"[^}}]*\\}} 0$", text);
            Assert.Matches($"(?m)^traffic_messages_delivered_total\\{{[^}}]*topic=\"{topic}\"[^}}]*\\}} 0$", text);
        }
        Assert.Matches("(?m)^traffic_heartbeat_terminations_total(\\{[^}]*\\})? 0$", text);
    }

    [Fact]
    public async Task A_single_node_is_ready_once_started()
    {
        var ready = await _service.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }
}
