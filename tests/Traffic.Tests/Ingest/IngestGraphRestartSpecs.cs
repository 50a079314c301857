using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Traffic.Host.Ingest;
using Traffic.Tests.Support;
using Xunit;
using static Traffic.Tests.Ingest.IngestPayloads;

namespace Traffic.Tests.Ingest;

/// <summary>
/// A stopped ingest is seen: the notifications' graph failed on purpose (as a defect in a stage would fail it) is
/// logged once at Error, shown in /health/ready and /metrics, answered 503 while it waits, and restarted with
/// back-off; notifications then reach WebSocket clients again. Reads /metrics, hence in the metrics collection.
/// </summary>
[Collection(MetricsCollection.Name)]
[Trait("Speed", "Slow")]
public sealed class IngestGraphRestartSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() =>
        // The first pause before a restart is 4..6 s (5 s ±20 %): long enough to see the graph down from outside.
        _service = await RunningService.StartAsync(NgsiLdOnly(new Dictionary<string, string?>
        {
            ["NGSI_LD_BACKOFF_MIN_MS"] = "5000",
            ["NGSI_LD_BACKOFF_MAX_MS"] = "10000",
        }));

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private async Task<JsonElement> NotificationsGraphAsync() =>
        JsonDocument.Parse(await _service.Http.GetStringAsync("/health/ready")).RootElement.GetProperty("ngsiLdIngest").GetProperty("notifications");

    private static string Camera(string status) =>
        Notification($$$"""{"id":"urn:ngsi-ld:Camera:G1","type":"Camera","name":"Graph camera","status":"{{{status}}}","location":{"type":"Point","coordinates":[106.7,10.77]}}""");

    [Fact]
    public async Task A_failed_notifications_graph_is_logged_once_at_error_shown_in_readiness_and_metrics_and_restarted()
    {
        var errors = ErrorLines.Collect(_service.System);
        await using var client = await _service.ConnectAsync("/ws?topics=cameras");
        await client.ExpectGreetingAsync();
        Assert.Equal(HttpStatusCode.OK, (await _service.NotifyAsync(Camera("active"))).StatusCode);
        await client.NextAsync(m => m.Type() == "UPDATE" && EntityIn(m, "urn:ngsi-ld:Camera:G1") is { } c && c.GetProperty("status").GetString() == "active");
        Assert.Equal("running", (await NotificationsGraphAsync()).GetProperty("state").GetString());

        _service.Services.GetRequiredService<IngestService>().Pipeline!.Fail(new InvalidOperationException("failed on purpose by the spec"));

        // Seen while it waits: readiness says restarting (still 200: the node serves its clients), the endpoint 503, the gauge 0.
        await Poll.UntilAsync(async () => (await NotificationsGraphAsync()).GetProperty("state").GetString() == "restarting", "the graph shown restarting");
        var graph = await NotificationsGraphAsync();
        Assert.Equal(1, graph.GetProperty("restarts").GetInt64());
        Assert.Equal("InvalidOperationException: failed on purpose by the spec", graph.GetProperty("lastFailure").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _service.NotifyAsync(Camera("offline"))).StatusCode);
        Assert.Matches("(?m)^traffic_ngsild_graph_up\\{[^}]*graph=\"notifications\"[^}]*\\} 0$", await _service.Http.GetStringAsync("/metrics"));

        // Restarted after the pause: notifications reach clients again.
        await Poll.UntilAsync(async () => (await NotificationsGraphAsync()).GetProperty("state").GetString() == "running", "the graph restarted",
            TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, (await _service.NotifyAsync(Camera("offline"))).StatusCode);
        await client.NextAsync(m => m.Type() == "UPDATE" && EntityIn(m, "urn:ngsi-ld:Camera:G1") is { } c && c.GetProperty("status").GetString() == "offline");
        var metrics = await _service.Http.GetStringAsync("/metrics");
        Assert.Matches("(?m)^traffic_ngsild_graph_restarts_total\\{[^}]*graph=\"notifications\"[^}]*\\} 1$", metrics);
        Assert.Matches("(?m)^traffic_ngsild_graph_up\\{[^}]*graph=\"notifications\"[^}]*\\} 1$", metrics);

        // One line at Error for the one failure, saying what failed and that it is restarted.
        var lines = errors.Lines.Where(l => l.Contains("NGSI-LD ingest graph")).ToArray();
        var line = Assert.Single(lines);
        Assert.Contains("(notifications) stopped (InvalidOperationException: failed on purpose by the spec)", line);
        Assert.Contains("restarted in", line);
        Assert.DoesNotContain('\n', line);
    }
}
