using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Traffic.Tests.Support;
using Xunit;
using static Traffic.Tests.Ingest.IngestPayloads;

namespace Traffic.Tests.Ingest;

/// <summary>
/// Polling (NGSI_LD_BROKER_URL) against a fake NGSI-LD broker on a real Kestrel: paging, change
/// detection, a broker that goes away and comes back, a slow broker. Reads /metrics, hence in the
/// metrics collection (alone).
/// </summary>
[Collection(MetricsCollection.Name)]
[Trait("Speed", "Slow")]
public sealed class PollerSpecs : IAsyncLifetime
{
    private FakeNgsiLdBroker _broker = null!;
    private RunningService _service = null!;

    public async Task InitializeAsync()
    {
        _broker = await FakeNgsiLdBroker.StartAsync();
        for (var i = 1; i <= 5; i++) _broker.Put("Camera", Id(i), CameraJson(i, "active"));
        _service = await RunningService.StartAsync(NgsiLdOnly(new Dictionary<string, string?>
        {
            ["NGSI_LD_BROKER_URL"] = _broker.BaseAddress.ToString(),
            ["NGSI_LD_TENANT"] = "hcmc",
            ["NGSI_LD_TOKEN"] = "broker-token",
            ["NGSI_LD_PAGE_SIZE"] = "2",
            ["NGSI_LD_TIMEOUT_MS"] = "1000",
            ["NGSI_LD_BACKOFF_MIN_MS"] = "100",
            ["NGSI_LD_BACKOFF_MAX_MS"] = "400",
        }));
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        await _broker.DisposeAsync();
    }

    private static string Id(int i) => $"urn:ngsi-ld:Camera:P{i}";

    private static string CameraJson(int i, string status) =>
        "{\"id\":\"" + Id(i) + "\",\"type\":\"Camera\",\"name\":{\"type\":\"Property\",\"value\":\"Camera " + i + "\"}," +
        "\"status\":{\"type\":\"Property\",\"value\":\"" + status + "\"}," +
        "\"location\":{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\",\"coordinates\":[106.7,10.7" + i + "]}}}";

    private async Task<JsonElement> CamerasAsync(TestClient client, Func<JsonElement, bool> match) =>
        await client.NextAsync(m => m.Type() == "UPDATE" && m.GetProperty("topic").GetString() == "cameras" && match(m.GetProperty("data")));

    private async Task<string> MetricsAsync() => await _service.Http.GetStringAsync("/metrics");

    private async Task<long> TakenCamerasAsync()
    {
        var match = Regex.Match(await MetricsAsync(), "(?m)^traffic_ngsild_entities_taken_total\\{[^}]*topic=\"cameras\"[^}]*\\} (\\d+)$");
        return match.Success ? long.Parse(match.Groups[1].Value) : -1;
    }

    /// <summary>GET /health/ready, by default as the holder of the publish key (who alone sees the broker's last error).</summary>
    private async Task<HttpResponseMessage> ReadyResponseAsync(string? apiKey = RunningService.ApiKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/ready");
        if (apiKey is not null) request.Headers.Add("X-Api-Key", apiKey);
        return await _service.Http.SendAsync(request);
    }

    private async Task<JsonElement> ReadyAsync() => JsonDocument.Parse(await (await ReadyResponseAsync()).Content.ReadAsStringAsync()).RootElement;

    private static string[] Ids(JsonElement data) => data.EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToArray();

    [Fact]
    public async Task Pages_through_the_broker_as_its_tenant_and_sends_clients_the_whole_listing()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=cameras");
        await client.ExpectGreetingAsync();

        var update = await CamerasAsync(client, data => data.GetArrayLength() == 5);
        Assert.Equal(Enumerable.Range(1, 5).Select(Id), Ids(update.GetProperty("data")));
        Assert.Equal(10.73, update.GetProperty("data")[2].GetProperty("location").GetProperty("latitude").GetDouble());

        var pages = _broker.Requests.Where(r => r.Type == "Camera").Take(3).ToArray();
        Assert.Equal([(2, 0), (2, 2), (2, 4)], pages.Select(r => (r.Limit, r.Offset)));
        Assert.All(pages, r => Assert.Equal(("hcmc", "Bearer broker-token"), (r.Tenant, r.Authorization)));
        var ready = await ReadyAsync();
        Assert.Equal("up", ready.GetProperty("ngsiLdBroker").GetProperty("state").GetString());
        Assert.Matches("(?m)^traffic_ngsild_broker_up\\{[^}]*\\} 1$", await MetricsAsync());
    }

    [Fact]
    public async Task Unchanged_entities_cause_no_work_changed_ones_are_taken_and_ones_gone_from_the_broker_leave_the_list()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=cameras");
        await client.ExpectGreetingAsync();
        await CamerasAsync(client, data => data.GetArrayLength() == 5);
        Assert.Equal(5, await TakenCamerasAsync());

        // Several more complete polls of an unchanged broker: nothing more is taken.
        var polled = _broker.RequestsFor("Camera");
        await Poll.UntilAsync(() => Task.FromResult(_broker.RequestsFor("Camera") >= polled + 9), "three more complete polls");
        Assert.Equal(5, await TakenCamerasAsync());

        _broker.Put("Camera", Id(3), CameraJson(3, "offline"));
        _broker.Delete("Camera", Id(5));
        var update = await CamerasAsync(client, data => data.GetArrayLength() == 4 &&
                                                        data.EnumerateArray().Any(e => e.GetProperty("status").GetString() == "offline"));
        Assert.Equal(Enumerable.Range(1, 4).Select(Id), Ids(update.GetProperty("data")));
        // The counter is moved by the pipeline, which may count after the aggregator has published: wait for it,
        // then check it counted only the changed camera.
        await Poll.UntilAsync(async () => await TakenCamerasAsync() >= 6, "the changed camera counted");
        polled = _broker.RequestsFor("Camera");
        await Poll.UntilAsync(() => Task.FromResult(_broker.RequestsFor("Camera") >= polled + 6), "two more complete polls");
        Assert.Equal(6, await TakenCamerasAsync()); // only the changed camera
    }

    [Fact]
    public async Task A_broker_that_goes_away_keeps_the_last_state_shows_in_readiness_and_metrics_and_is_resumed()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=cameras");
        await client.ExpectGreetingAsync();
        await CamerasAsync(client, data => data.GetArrayLength() == 5);

        _broker.Down = true;
        await Poll.UntilAsync(async () => (await ReadyAsync()).GetProperty("ngsiLdBroker").GetProperty("state").GetString() == "down", "the broker shown down");
        var ready = await ReadyResponseAsync();
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode); // still serving the last known state
        var broker = (await ready.JsonAsync()).GetProperty("ngsiLdBroker");
        Assert.Contains("503", broker.GetProperty("lastError").GetString());
        // The error names the broker's (internal) host: without the key, the state only.
        var open = (await (await ReadyResponseAsync(apiKey: null)).JsonAsync()).GetProperty("ngsiLdBroker");
        Assert.Equal("down", open.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, open.GetProperty("lastError").ValueKind);
        Assert.Matches("(?m)^traffic_ngsild_broker_up\\{[^}]*\\} 0$", await MetricsAsync());
        Assert.Matches("(?m)^traffic_ngsild_broker_outages_total\\{[^}]*\\} 1$", await MetricsAsync());

        // Backing off, not hammering: with 100..400 ms of back-off, a second of outage is a handful of tries per type.
        var before = _broker.RequestsFor("Camera");
        await Task.Delay(TimeSpan.FromSeconds(1)); // a span of time to count requests in, not a wait for a condition
        Assert.InRange(_broker.RequestsFor("Camera") - before, 0, 8); // a healthy poll every 300 ms would page 3 times each: ~10
        await CamerasAsync(client, data => data.GetArrayLength() == 5); // clients still get the last known state

        _broker.Put("Camera", Id(1), CameraJson(1, "offline"));
        _broker.Down = false;
        await CamerasAsync(client, data => data[0].GetProperty("status").GetString() == "offline");
        Assert.Equal("up", (await ReadyAsync()).GetProperty("ngsiLdBroker").GetProperty("state").GetString());
        Assert.Matches("(?m)^traffic_ngsild_broker_outages_total\\{[^}]*\\} 1$", await MetricsAsync());
    }

    [Fact]
    public async Task A_broker_slower_than_the_timeout_counts_as_away_until_it_answers_in_time()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=cameras");
        await client.ExpectGreetingAsync();
        await CamerasAsync(client, data => data.GetArrayLength() == 5);

        _broker.Delay = TimeSpan.FromSeconds(3); // NGSI_LD_TIMEOUT_MS is 1000
        await Poll.UntilAsync(async () => (await ReadyAsync()).GetProperty("ngsiLdBroker").GetProperty("state").GetString() == "down",
            "the slow broker shown down", TimeSpan.FromSeconds(30));
        Assert.Contains("no answer within 1 s", (await ReadyAsync()).GetProperty("ngsiLdBroker").GetProperty("lastError").GetString());

        _broker.Put("Camera", Id(2), CameraJson(2, "offline"));
        _broker.Delay = TimeSpan.FromMilliseconds(200); // slow, but in time
        await CamerasAsync(client, data => data[1].GetProperty("status").GetString() == "offline");
        Assert.Equal("up", (await ReadyAsync()).GetProperty("ngsiLdBroker").GetProperty("state").GetString());
    }
}
