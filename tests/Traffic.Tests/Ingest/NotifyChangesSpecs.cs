using System.Net;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;
using static Traffic.Tests.Ingest.IngestPayloads;

namespace Traffic.Tests.Ingest;

/// <summary>
/// What real brokers send, over real HTTP to a real Kestrel and seen by a real WebSocket client: the 200 Stellio
/// needs, partial notifications (only the changed attributes), NGSI-LD's null, entity deletion, an accident's
/// escalation, attribute kinds that are none, numbers out of range.
/// </summary>
public sealed class NotifyChangesSpecs : IAsyncLifetime
{
    private const string CameraId = "urn:ngsi-ld:Camera:CAM-Q1-009";
    private const string OtherCameraId = "urn:ngsi-ld:Camera:CAM-Q1-010";

    private static readonly string WholeCamera = $$$$"""
        {"id":"{{{{CameraId}}}}","type":"Camera",
         "name":{"type":"Property","value":"Camera Ben Thanh"},
         "imageSnapshot":{"type":"Property","value":"http://camera.hcm/CAM-Q1-009/live.jpg"},
         "status":{"type":"Property","value":"active"},
         "district":{"type":"Property","value":"District 1"},
         "location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[106.698,10.772]}}}
        """;

    private RunningService _service = null!;

    public async Task InitializeAsync() => _service = await RunningService.StartAsync(NgsiLdOnly());

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private static string[] Keys(JsonElement entity) => entity.EnumerateObject().Select(p => p.Name).ToArray();

    private static Task<JsonElement> UpdateAsync(TestClient client, string topic, Func<JsonElement, bool> match) =>
        client.NextAsync(m => m.IsUpdateOf(topic) && match(m));

    private async Task<TestClient> ClientAsync(string topics)
    {
        var client = await _service.ConnectAsync($"/ws?topics={topics}");
        await client.ExpectGreetingAsync();
        return client;
    }

    private async Task PostAsync(string body)
    {
        var response = await _service.NotifyAsync(body);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task A_taken_notification_is_answered_200_with_the_count_for_Stellio_counts_only_200_as_delivered()
    {
        var response = await _service.NotifyAsync(Notification(WholeCamera));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var answer = await response.JsonAsync();
        Assert.Equal((1, 0), (answer.GetProperty("taken").GetInt32(), answer.GetProperty("refused").GetInt32()));
    }

    [Fact]
    public async Task A_partial_notification_changes_the_fields_it_carries_and_keeps_the_others()
    {
        await using var client = await ClientAsync("cameras");
        await PostAsync(Notification(WholeCamera));
        var whole = EntityIn(await UpdateAsync(client, "cameras", m => EntityIn(m, CameraId) is not null), CameraId)!.Value;

        // Only the changed attribute, as a subscription with notification.attributes (or showChanges) sends it.
        await PostAsync(Notification($$$$"""{"id":"{{{{CameraId}}}}","type":"Camera","status":{"type":"Property","value":"offline"}}"""));
        var camera = EntityIn(await UpdateAsync(client, "cameras", m => EntityIn(m, CameraId)?.GetProperty("status").GetString() == "offline"), CameraId)!.Value;
        Assert.Equal("Camera Ben Thanh", camera.GetProperty("name").GetString());
        Assert.Equal("http://camera.hcm/CAM-Q1-009/live.jpg", camera.GetProperty("imageUrl").GetString());
        Assert.Equal(10.772, camera.GetProperty("location").GetProperty("latitude").GetDouble());
        Assert.Equal(106.698, camera.GetProperty("location").GetProperty("longitude").GetDouble());
        Assert.Equal(Keys(whole), Keys(camera)); // the same fields, in the same order
    }

    [Fact]
    public async Task NGSI_LD_null_removes_that_field_and_only_that_one()
    {
        await using var client = await ClientAsync("cameras");
        await PostAsync(Notification(WholeCamera));
        await UpdateAsync(client, "cameras", m => EntityIn(m, CameraId) is not null);

        await PostAsync(Notification($$$$"""{"id":"{{{{CameraId}}}}","type":"Camera","imageSnapshot":{"type":"Property","value":"urn:ngsi-ld:null"}}"""));
        var camera = EntityIn(await UpdateAsync(client, "cameras", m => EntityIn(m, CameraId) is { } c && !c.TryGetProperty("imageUrl", out _)), CameraId)!.Value;
        Assert.Equal(["id", "type", "name", "status", "district", "location"], Keys(camera));
        Assert.Equal("active", camera.GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_entity_deleted_notification_takes_the_entity_off_its_topic()
    {
        await using var client = await ClientAsync("cameras");
        await PostAsync(Notification(WholeCamera, $$$$"""{"id":"{{{{OtherCameraId}}}}","type":"Camera","name":"Camera Nguyen Hue"}"""));
        await UpdateAsync(client, "cameras", m => EntityIn(m, CameraId) is not null && EntityIn(m, OtherCameraId) is not null);

        // NGSI-LD 1.8: the trigger says it, and each entity is its id, type and deletedAt.
        var response = await _service.NotifyAsync($$$$"""
            {"id":"urn:ngsi-ld:Notification:d1","type":"Notification","subscriptionId":"urn:ngsi-ld:Subscription:spec","notifiedAt":"2026-12-07T08:00:00Z",
             "notificationTrigger":"entityDeleted","data":[{"id":"{{{{CameraId}}}}","type":"Camera","deletedAt":"2026-12-07T08:00:00Z"}]}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (await response.JsonAsync()).GetProperty("taken").GetInt32());
        var update = await UpdateAsync(client, "cameras", m => EntityIn(m, CameraId) is null);
        Assert.Equal([OtherCameraId], update.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("id").GetString()));

        // deletedAt alone (a broker that sends no trigger) says it too.
        await PostAsync(Notification($$$$"""{"id":"{{{{OtherCameraId}}}}","type":"Camera","deletedAt":"2026-12-07T08:01:00Z"}"""));
        await UpdateAsync(client, "cameras", m => m.GetProperty("data").GetArrayLength() == 0);
    }

    [Fact]
    public async Task An_accident_escalated_to_a_severe_level_raises_one_alert_and_staying_or_going_down_raises_none()
    {
        const string id = "urn:ngsi-ld:RoadAccident:HCMC-20261207-0007";
        await using var client = await ClientAsync("accidents");
        static string Severity(string severity) => Notification($$$$"""{"id":"{{{{id}}}}","type":"RoadAccident","severity":{"type":"Property","value":"{{{{severity}}}}"}}""");

        await PostAsync(Notification($$$$"""
            {"id":"{{{{id}}}}","type":"RoadAccident","severity":{"type":"Property","value":"medium"},"status":{"type":"Property","value":"onGoing"},
             "description":{"type":"Property","value":"Bus and motorbikes on Dien Bien Phu"},"district":{"type":"Property","value":"Binh Thanh"}}
            """));
        await UpdateAsync(client, "accidents", m => EntityIn(m, id)?.GetProperty("severity").GetString() == "medium");

        await PostAsync(Severity("high")); // medium -> high: escalated
        var alert = (await client.NextAsync(m => m.Type() == "ALERT")).GetProperty("data");
        Assert.Equal("accidentEscalated", alert.GetProperty("alertType").GetString());
        Assert.Equal((id, "high"), (alert.GetProperty("id").GetString(), alert.GetProperty("severity").GetString()));
        Assert.Equal("Bus and motorbikes on Dien Bien Phu", alert.GetProperty("description").GetString()); // the whole accident, not only what changed
        Assert.Contains("escalated to high", alert.GetProperty("message").GetString());

        await PostAsync(Severity("high"));   // high -> high
        await PostAsync(Severity("medium")); // high -> medium
        await UpdateAsync(client, "accidents", m => EntityIn(m, id)?.GetProperty("severity").GetString() == "medium");
        // A later ALERT: anything raised by the two notifications above would have come before it.
        await PostAsync(Notification("""{"id":"urn:ngsi-ld:RoadAccident:MARK","type":"RoadAccident","severity":"critical","description":"marker"}"""));
        await client.NextAsync(m => m.Type() == "ALERT" && m.GetProperty("data").GetProperty("id").GetString() == "urn:ngsi-ld:RoadAccident:MARK");

        var alerts = client.Seen.Where(m => m.Type() == "ALERT").Select(m => m.GetProperty("data").GetProperty("alertType").GetString()!).ToArray();
        Assert.Equal(["accidentEscalated", "severeAccident"], alerts);
    }

    [Fact]
    public async Task An_attribute_whose_type_is_no_NGSI_LD_kind_refuses_its_entity_naming_the_attribute_and_the_rest_is_taken()
    {
        await using var client = await ClientAsync("cameras");
        var response = await _service.NotifyAsync(Notification(
            WholeCamera,
            $$$$"""{"id":"{{{{OtherCameraId}}}}","type":"Camera","name":{"type":"Property","value":"Camera Nguyen Hue"},"status":{"type":"Propertie","value":"active"}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.JsonAsync();
        Assert.Equal(("Some entities refused", 1, 1), (problem.GetProperty("title").GetString(), problem.GetProperty("taken").GetInt32(), problem.GetProperty("refused").GetInt32()));
        var fault = problem.GetProperty("faults").EnumerateArray().Single();
        Assert.Equal((1, OtherCameraId), (fault.GetProperty("index").GetInt32(), fault.GetProperty("id").GetString()));
        Assert.Contains("attribute \"status\" has type \"Propertie\", which is not an NGSI-LD attribute kind", fault.GetProperty("fault").GetString());

        var update = await UpdateAsync(client, "cameras", m => EntityIn(m, CameraId) is not null);
        Assert.Null(EntityIn(update, OtherCameraId)); // same batch, same change: it would be in this UPDATE
    }

    [Fact]
    public async Task A_number_out_of_range_refuses_its_entity_and_the_rest_of_the_batch_is_taken()
    {
        const string good = "urn:ngsi-ld:WeatherObserved:HCMC-Q7";
        await using var client = await ClientAsync("weather,patterns");
        var response = await _service.NotifyAsync(Notification(
            """{"id":"urn:ngsi-ld:WeatherObserved:HOT","type":"WeatherObserved","temperature":{"type":"Property","value":1e400}}""",
            $$$$"""{"id":"{{{{good}}}}","type":"WeatherObserved","name":"Weather District 7","temperature":{"type":"Property","value":30.5}}""",
            """{"id":"urn:ngsi-ld:TrafficFlowObserved:BUSY","type":"TrafficFlowObserved","intensity":1e300}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.JsonAsync();
        Assert.Equal((1, 2), (problem.GetProperty("taken").GetInt32(), problem.GetProperty("refused").GetInt32()));
        var faults = problem.GetProperty("faults").EnumerateArray().Select(f => f.GetProperty("fault").GetString()!).ToArray();
        Assert.Contains("entity urn:ngsi-ld:WeatherObserved:HOT: attribute \"temperature\" is a number out of range (1e400)", faults[0]);
        Assert.Contains("entity urn:ngsi-ld:TrafficFlowObserved:BUSY: attribute \"intensity\" is a number out of range", faults[1]);

        var update = await UpdateAsync(client, "weather", m => EntityIn(m, good) is not null);
        Assert.Equal(30.5, EntityIn(update, good)!.Value.GetProperty("temperature").GetDouble());
        Assert.Null(EntityIn(update, "urn:ngsi-ld:WeatherObserved:HOT"));
        Assert.Equal(HttpStatusCode.OK, (await _service.NotifyAsync(Notification(WholeCamera))).StatusCode); // and it goes on
    }
}
