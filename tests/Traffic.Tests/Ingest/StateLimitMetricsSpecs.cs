using System.Net;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;
using static Traffic.Tests.Ingest.IngestPayloads;

namespace Traffic.Tests.Ingest;

/// <summary>
/// MAX_ENTITIES_PER_TOPIC through the real path, with the count in /metrics: alone (<see cref="MetricsCollection"/>),
/// since another host alive in the test process could report its own counter of the same name.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class StateLimitMetricsSpecs
{
    private static string Camera(int i) =>
        $$"""{"id":"urn:ngsi-ld:Camera:LIM-{{i}}","type":"Camera","name":"nnnnnnnnnn","status":"active"}""";

    private static string[] CameraIds(JsonElement snapshot) =>
        snapshot.GetProperty("data").GetProperty("cameras").EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToArray();

    [Fact]
    public async Task New_ids_past_the_entity_bound_are_refused_and_counted_while_the_held_ones_are_served()
    {
        await using var service = await RunningService.StartAsync(NgsiLdOnly(new() { ["MAX_ENTITIES_PER_TOPIC"] = "3" }));

        var response = await service.NotifyAsync(Notification(Enumerable.Range(1, 5).Select(i => Camera(i)).ToArray()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // the broker delivered; what the state refuses is the service's own bound

        await using var client = await service.ConnectAsync("/ws?topics=weather");
        var (_, snapshot) = await client.ExpectGreetingAsync();
        Assert.Equal(["urn:ngsi-ld:Camera:LIM-1", "urn:ngsi-ld:Camera:LIM-2", "urn:ngsi-ld:Camera:LIM-3"], CameraIds(snapshot));

        var metrics = await service.Http.GetStringAsync("/metrics");
        Assert.Matches("(?m)^traffic_state_refused_total\\{[^}]*topic=\"cameras\"[^}]*\\} 2$", metrics);
        Assert.Matches("(?m)^traffic_state_refused_total\\{[^}]*topic=\"weather\"[^}]*\\} 0$", metrics);
    }
}
