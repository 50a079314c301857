using System.Net;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;
using static Traffic.Tests.Ingest.IngestPayloads;

namespace Traffic.Tests.Ingest;

/// <summary>
/// POST /ngsi-ld/notify over real HTTP to a real Kestrel, seen by a real WebSocket client: the
/// recorded notifications (after the FIWARE Smart Data Models examples) in every representation,
/// for every mapped type, reach clients in the shape the simulation gives them.
/// </summary>
public sealed class NotifySpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    public async Task InitializeAsync() => _service = await RunningService.StartAsync(NgsiLdOnly());

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private static async Task<JsonElement> EntityUpdateAsync(TestClient client, string topic, string id, Func<JsonElement, bool>? match = null)
    {
        var update = await client.NextAsync(m => m.Type() == "UPDATE" && m.GetProperty("topic").GetString() == topic &&
                                                 EntityIn(m, id) is { } e && (match?.Invoke(e) ?? true));
        return EntityIn(update, id)!.Value;
    }

    private static string[] Keys(JsonElement entity) => entity.EnumerateObject().Select(p => p.Name).ToArray();

    [Fact]
    public async Task A_normalized_notification_reaches_clients_in_the_simulations_shapes_for_every_type()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=all");
        await client.ExpectGreetingAsync();

        var response = await _service.NotifyAsync(Read("notification-normalized.json"), "application/ld+json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await response.JsonAsync();
        Assert.Equal(6, answer.GetProperty("taken").GetInt32());
        Assert.Equal(0, answer.GetProperty("refused").GetInt32());

        var camera = await EntityUpdateAsync(client, "cameras", "urn:ngsi-ld:Camera:CAM-D1-017");
        Assert.Equal(["id", "type", "name", "imageUrl", "status", "lastUpdated", "roadName", "district", "address", "location"], Keys(camera));
        Assert.Equal("Camera", camera.GetProperty("type").GetString());
        Assert.Equal("http://camera.hcm/CAM-D1-017/live.jpg", camera.GetProperty("imageUrl").GetString());
        Assert.Equal("active", camera.GetProperty("status").GetString());
        Assert.Equal("2026-11-29T08:15:00Z", camera.GetProperty("lastUpdated").GetString());
        Assert.Equal(10.772596, camera.GetProperty("location").GetProperty("latitude").GetDouble());
        Assert.Equal(106.698471, camera.GetProperty("location").GetProperty("longitude").GetDouble());
        Assert.Equal(["streetAddress", "addressLocality", "addressRegion", "addressCountry"], Keys(camera.GetProperty("address")));

        var weather = await EntityUpdateAsync(client, "weather", "urn:ngsi-ld:WeatherObserved:HCMC-D3");
        Assert.Equal(["id", "type", "name", "dateObserved", "temperature", "relativeHumidity", "precipitation", "windSpeed", "windDirection",
            "atmosphericPressure", "weatherType", "district", "address", "location"], Keys(weather));
        Assert.Equal(29.4, weather.GetProperty("temperature").GetDouble());
        Assert.Equal(222, weather.GetProperty("windDirection").GetInt32()); // a whole number of degrees, as the simulation sends
        Assert.Equal("District 3", weather.GetProperty("district").GetString()); // from the PostalAddress

        var air = await EntityUpdateAsync(client, "airQuality", "urn:ngsi-ld:AirQualityObserved:AQ-D5-002");
        Assert.Equal(["id", "type", "name", "dateObserved", "pm25", "pm10", "no2", "o3", "co", "so2", "aqi", "airQualityLevel", "district", "address", "location"], Keys(air));
        Assert.Equal(41.3, air.GetProperty("pm25").GetDouble());
        Assert.Equal(115, air.GetProperty("aqi").GetInt32());

        var accident = await EntityUpdateAsync(client, "accidents", "urn:ngsi-ld:RoadAccident:HCMC-20261129-0042");
        Assert.Equal(["id", "type", "accidentDate", "severity", "status", "description", "roadName", "vehiclesInvolved", "district", "address", "location"], Keys(accident));
        Assert.Equal("high", accident.GetProperty("severity").GetString());
        Assert.Equal(4, accident.GetProperty("vehiclesInvolved").GetInt32());
        Assert.Equal("2026-11-29T08:12:41Z", accident.GetProperty("accidentDate").GetString());

        var flow = await EntityUpdateAsync(client, "patterns", "urn:ngsi-ld:TrafficFlowObserved:SEG-NVL-04");
        Assert.Equal(["id", "type", "name", "dateObserved", "roadName", "laneDirection", "laneCount", "intensity", "averageVehicleSpeed", "occupancy",
            "congested", "pattern", "district", "location"], Keys(flow));
        Assert.Equal(1870, flow.GetProperty("intensity").GetInt32());
        Assert.True(flow.GetProperty("congested").GetBoolean());
        Assert.Equal(10.7302, flow.GetProperty("location").GetProperty("latitude").GetDouble()); // a LineString's middle vertex

        var zone = await EntityUpdateAsync(client, "congestion", "urn:ngsi-ld:CongestionZone:ZONE-HANGXANH");
        Assert.Equal(["id", "type", "name", "district", "level", "congestionLevel", "averageSpeed", "activeAccidents", "location", "radiusMeters", "lastUpdated"], Keys(zone));
        Assert.Equal("severe", zone.GetProperty("congestionLevel").GetString()); // derived from level 0.81, as the simulation labels it

        // A new accident of severity high raises an ALERT at once (it came before some of the UPDATEs waited for above).
        var alert = client.Seen.Any(m => m.Type() == "ALERT") ? client.Seen.Single(m => m.Type() == "ALERT") : await client.NextAsync(m => m.Type() == "ALERT");
        Assert.Equal("accidents", alert.GetProperty("topic").GetString());
        Assert.Equal("severeAccident", alert.GetProperty("data").GetProperty("alertType").GetString());
        Assert.Equal("urn:ngsi-ld:RoadAccident:HCMC-20261129-0042", alert.GetProperty("data").GetProperty("id").GetString());
        Assert.Contains("Container truck collision", alert.GetProperty("data").GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_keyValues_notification_with_a_Link_header_reaches_clients_and_a_medium_accident_raises_no_alert()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=all");
        await client.ExpectGreetingAsync();

        var response = await _service.NotifyAsync(Read("notification-keyvalues.json"), "application/json",
            link: "<https://smartdatamodels.org/context.jsonld>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(6, (await response.JsonAsync()).GetProperty("taken").GetInt32());

        var camera = await EntityUpdateAsync(client, "cameras", "urn:ngsi-ld:Camera:CAM-BT-003");
        Assert.Equal("offline", camera.GetProperty("status").GetString());
        Assert.Equal("Binh Thanh", camera.GetProperty("district").GetString());
        var weather = await EntityUpdateAsync(client, "weather", "urn:ngsi-ld:WeatherObserved:HCMC-TD");
        Assert.Equal("heavyRain", weather.GetProperty("weatherType").GetString());
        var air = await EntityUpdateAsync(client, "airQuality", "urn:ngsi-ld:AirQualityObserved:AQ-TB-001");
        Assert.Equal(153, air.GetProperty("aqi").GetInt32()); // no index sent: computed from PM2.5 58.7 as the simulation does
        Assert.Equal("unhealthy", air.GetProperty("airQualityLevel").GetString());
        var accident = await EntityUpdateAsync(client, "accidents", "urn:ngsi-ld:RoadAccident:HCMC-20261129-0057");
        Assert.Equal(2, accident.GetProperty("vehiclesInvolved").GetInt32());
        var flow = await EntityUpdateAsync(client, "patterns", "urn:ngsi-ld:TrafficFlowObserved:SEG-VVK-02");
        Assert.Equal(12.7, flow.GetProperty("averageVehicleSpeed").GetDouble());
        var zone = await EntityUpdateAsync(client, "congestion", "urn:ngsi-ld:CongestionZone:ZONE-CONGHOA");
        Assert.Equal("heavy", zone.GetProperty("congestionLevel").GetString());

        // Medium severity: no ALERT; an AQI seen for the first time above 150 is no crossing either.
        await EntityUpdateAsync(client, "accidents", "urn:ngsi-ld:RoadAccident:HCMC-20261129-0057"); // a later UPDATE: an ALERT would have come before
        Assert.DoesNotContain(client.Seen, m => m.Type() == "ALERT");
    }

    [Fact]
    public async Task A_concise_notification_is_taken()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=cameras,patterns");
        await client.ExpectGreetingAsync();

        Assert.Equal(HttpStatusCode.OK, (await _service.NotifyAsync(Read("notification-concise.json"))).StatusCode);
        var camera = await EntityUpdateAsync(client, "cameras", "urn:ngsi-ld:Camera:CAM-D10-008");
        Assert.Equal("active", camera.GetProperty("status").GetString());
        Assert.Equal("2026-11-29T12:00:00Z", camera.GetProperty("lastUpdated").GetString()); // no lastUpdated sent: the newest observedAt
        var flow = await EntityUpdateAsync(client, "patterns", "urn:ngsi-ld:TrafficFlowObserved:SEG-CMT-01");
        Assert.Equal(940, flow.GetProperty("intensity").GetInt32());
        Assert.Equal(31.5, flow.GetProperty("averageVehicleSpeed").GetDouble());
        Assert.False(flow.GetProperty("congested").GetBoolean());
    }

    [Fact]
    public async Task Entities_are_merged_by_id_and_a_solved_accident_leaves_the_list()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=cameras,accidents");
        await client.ExpectGreetingAsync();
        static string Camera(string code, string status) =>
            $$"""{"id":"urn:ngsi-ld:Camera:{{code}}","type":"Camera","name":"Camera {{code}}","status":"{{status}}"}""";
        static string Accident(string code, string status) =>
            $$$"""{"id":"urn:ngsi-ld:RoadAccident:{{{code}}}","type":"RoadAccident","severity":"low","status":{"type":"Property","value":"{{{status}}}"}}""";

        await _service.NotifyAsync(Notification(Camera("A", "active"), Camera("B", "active"), Accident("X", "onGoing"), Accident("Y", "onGoing")));
        await _service.NotifyAsync(Notification(Camera("A", "offline")));
        var update = await client.NextAsync(m => m.Type() == "UPDATE" && m.GetProperty("topic").GetString() == "cameras" &&
                                                 EntityIn(m, "urn:ngsi-ld:Camera:A")?.GetProperty("status").GetString() == "offline");
        Assert.Equal(["urn:ngsi-ld:Camera:A", "urn:ngsi-ld:Camera:B"], update.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("id").GetString()));

        await _service.NotifyAsync(Notification(Accident("X", "solved")));
        var accidents = await client.NextAsync(m => m.Type() == "UPDATE" && m.GetProperty("topic").GetString() == "accidents" &&
                                                    EntityIn(m, "urn:ngsi-ld:RoadAccident:X") is null);
        Assert.Equal(["urn:ngsi-ld:RoadAccident:Y"], accidents.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task An_AQI_crossing_150_raises_one_alert_and_an_updated_severe_accident_no_second_one()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=airQuality,accidents");
        await client.ExpectGreetingAsync();
        static string Sensor(int aqi) =>
            $$$"""{"id":"urn:ngsi-ld:AirQualityObserved:S1","type":"AirQualityObserved","name":"Air quality Nga Sau","airQualityIndex":{"type":"Property","value":{{{aqi}}}}}""";
        const string accident = """{"id":"urn:ngsi-ld:RoadAccident:Z","type":"RoadAccident","severity":"critical","description":"Truck overturned on Pham Van Dong"}""";

        foreach (var aqi in new[] { 120, 180, 190 })
        {
            Assert.Equal(HttpStatusCode.OK, (await _service.NotifyAsync(Notification(Sensor(aqi)))).StatusCode);
            await EntityUpdateAsync(client, "airQuality", "urn:ngsi-ld:AirQualityObserved:S1", e => e.GetProperty("aqi").GetInt32() == aqi);
        }
        await _service.NotifyAsync(Notification(accident));
        await _service.NotifyAsync(Notification(accident.Replace("Truck overturned", "Truck still overturned")));
        await EntityUpdateAsync(client, "accidents", "urn:ngsi-ld:RoadAccident:Z", e => e.GetProperty("description").GetString()!.Contains("still"));

        var alerts = client.Seen.Where(m => m.Type() == "ALERT").ToArray();
        Assert.Equal(2, alerts.Length);
        var air = alerts.Single(a => a.GetProperty("topic").GetString() == "airQuality").GetProperty("data");
        Assert.Equal(("airQualityThreshold", 180, 150), (air.GetProperty("alertType").GetString(), air.GetProperty("aqi").GetInt32(), air.GetProperty("threshold").GetInt32()));
        Assert.Contains("rose above AQI 150", air.GetProperty("message").GetString());
        var severe = alerts.Single(a => a.GetProperty("topic").GetString() == "accidents").GetProperty("data");
        Assert.Equal("Truck overturned on Pham Van Dong", severe.GetProperty("description").GetString());
    }

    [Fact]
    public async Task A_batch_with_bad_entities_is_answered_400_naming_each_fault_and_its_valid_entities_are_still_taken()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=cameras");
        await client.ExpectGreetingAsync();

        var response = await _service.NotifyAsync(Notification(
            """{"id":"urn:ngsi-ld:Camera:GOOD","type":"Camera","name":"Camera Thi Nghe"}""",
            """{"id":"urn:ngsi-ld:Parking:P1","type":"OffStreetParking","name":"P1"}""",
            """{"type":"Camera","name":"no id"}""",
            """{"id":"urn:ngsi-ld:Camera:BADLOC","type":"Camera","location":{"type":"GeoProperty","value":"10.77,106.70"}}""",
            """{"id":"urn:ngsi-ld:WeatherObserved:BADTEMP","type":"WeatherObserved","temperature":{"type":"Property","value":"hot"}}""",
            """{"id":"urn:ngsi-ld:Camera:NOVALUE","type":"Camera","status":{"type":"Property"}}""",
            "42"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.JsonAsync();
        Assert.Equal("Some entities refused", problem.GetProperty("title").GetString());
        Assert.Equal(1, problem.GetProperty("taken").GetInt32());
        Assert.Equal(6, problem.GetProperty("refused").GetInt32());
        var faults = problem.GetProperty("faults").EnumerateArray().Select(f => f.GetProperty("fault").GetString()!).ToArray();
        Assert.Contains("type \"OffStreetParking\" is not mapped", faults[0]);
        Assert.Contains("no \"id\"", faults[1]);
        Assert.Contains("\"location\" must be a GeoJSON geometry", faults[2]);
        Assert.Contains("\"temperature\" must be a number, not a string", faults[3]);
        Assert.Contains("\"status\" is a Property without \"value\"", faults[4]);
        Assert.Contains("must be a JSON object", faults[5]);
        Assert.Equal([1, 2, 3, 4, 5, 6], problem.GetProperty("faults").EnumerateArray().Select(f => f.GetProperty("index").GetInt32()));

        await EntityUpdateAsync(client, "cameras", "urn:ngsi-ld:Camera:GOOD");
    }

    [Fact]
    public async Task Malformed_notifications_are_refused_with_a_problem_naming_the_fault()
    {
        async Task<(HttpStatusCode, string)> Post(string body, string type = "application/json", string? key = RunningService.ApiKey)
        {
            var response = await _service.NotifyAsync(body, type, key);
            var problem = await response.JsonAsync();
            return (response.StatusCode, problem.GetProperty("title").GetString()!);
        }

        Assert.Equal((HttpStatusCode.BadRequest, "Malformed JSON"), await Post("{\"type\":\"Notification\",\"data\":[", "application/ld+json"));
        Assert.Equal((HttpStatusCode.BadRequest, "Not a notification"), await Post("""{"type":"Subscription","data":[]}"""));
        Assert.Equal((HttpStatusCode.BadRequest, "Missing data"), await Post("""{"type":"Notification","data":{"id":"x"}}"""));
        Assert.Equal((HttpStatusCode.UnsupportedMediaType, "Unsupported content type"), await Post(Notification(), "text/plain"));
        Assert.Equal((HttpStatusCode.Unauthorized, "API key required"), await Post(Notification(), key: null));
        Assert.Equal((HttpStatusCode.Forbidden, "Wrong API key"), await Post(Notification(), key: "guess"));

        var oversized = Notification(Enumerable.Range(0, 1001).Select(i => $$"""{"id":"urn:ngsi-ld:Camera:{{i}}","type":"Camera"}""").ToArray());
        var response = await _service.NotifyAsync(oversized);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.JsonAsync();
        Assert.Equal("Oversized batch", problem.GetProperty("title").GetString());
        Assert.Equal((0, 1001), (problem.GetProperty("taken").GetInt32(), problem.GetProperty("refused").GetInt32()));

        // Still serving.
        Assert.Equal(HttpStatusCode.OK, (await _service.NotifyAsync(Notification())).StatusCode);
    }
}
