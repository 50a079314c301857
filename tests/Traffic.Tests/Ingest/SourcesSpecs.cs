using System.Net;
using Traffic.Tests.Support;
using Xunit;
using static Traffic.Tests.Ingest.IngestPayloads;

namespace Traffic.Tests.Ingest;

/// <summary>SOURCES picks what feeds the aggregator; both feed it through the same seam.</summary>
[Trait("Speed", "Slow")]
public sealed class SourcesSpecs
{
    [Fact]
    public async Task With_both_sources_the_simulated_city_and_notified_entities_share_the_topics()
    {
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SOURCES"] = "both",
            ["UPDATE_INTERVALS_MS"] = "cameras=300",
        });
        await using var client = await service.ConnectAsync("/ws?topics=cameras");
        var (_, snapshot) = await client.ExpectGreetingAsync();
        var simulated = snapshot.GetProperty("data").GetProperty("cameras");
        Assert.True(simulated.GetArrayLength() > 0);

        Assert.Equal(HttpStatusCode.OK, (await service.NotifyAsync(Notification(
            """{"id":"urn:ngsi-ld:Camera:REAL-1","type":"Camera","name":"Camera from the broker"}"""))).StatusCode);
        var update = await client.NextAsync(m => m.IsUpdateOf("cameras") && EntityIn(m, "urn:ngsi-ld:Camera:REAL-1") is not null);
        Assert.Equal(simulated.GetArrayLength() + 1, update.GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task The_default_simulator_alone_says_the_ingest_is_off_and_which_setting_turns_it_on()
    {
        await using var service = await RunningService.StartAsync();
        var response = await service.NotifyAsync(Notification("""{"id":"urn:ngsi-ld:Camera:X","type":"Camera"}"""));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.JsonAsync();
        Assert.Equal("NGSI-LD ingest off", problem.GetProperty("title").GetString());
        Assert.Equal(404, problem.GetProperty("status").GetInt32());
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("SOURCES=ngsi-ld", detail);
        Assert.Contains("SOURCES=both", detail);
        Assert.Equal("SOURCES", problem.GetProperty("setting").GetString());
    }
}
