using System.Net;
using Traffic.Tests.Ingest;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>The HTTP API's keys: one for publishing, one for NGSI-LD notifications, and wrong keys limited per client address.</summary>
public sealed class ApiKeySpecs
{
    private const string NotifyKey = "notify-spec-key-0123";
    private static readonly string Camera = """{"id":"urn:ngsi-ld:Camera:KEYS","type":"Camera","name":"Keys"}""";

    [Fact]
    public async Task Notifications_take_their_own_key_and_publishing_keeps_its_own()
    {
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SOURCES"] = "ngsi-ld",
            ["NGSI_LD_NOTIFY_KEY"] = NotifyKey,
        });

        Assert.True((await service.NotifyAsync(IngestPayloads.Notification(Camera), apiKey: NotifyKey)).IsSuccessStatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await service.NotifyAsync(IngestPayloads.Notification(Camera), apiKey: RunningService.ApiKey)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { } }, apiKey: NotifyKey)).StatusCode);
        Assert.True((await service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { } })).IsSuccessStatusCode);
    }

    [Fact]
    public async Task An_address_that_keeps_sending_wrong_keys_gets_429_even_with_the_right_one_until_its_minute_is_over()
    {
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SOURCES"] = "both",
            ["API_KEY_FAILURES_PER_MINUTE"] = "3",
        });
        var alert = new { type = "ALERT", topic = "accidents", data = new { } };

        Assert.Equal(HttpStatusCode.Forbidden, (await service.PublishAsync(alert, apiKey: "guess-number-one")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await service.PublishAsync(alert, apiKey: null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await service.NotifyAsync(IngestPayloads.Notification(Camera), apiKey: "guess-number-three")).StatusCode);

        // The third failure within the minute locks the address out, whichever endpoint, whatever key.
        var locked = await service.PublishAsync(alert);
        Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
        Assert.NotNull(locked.Headers.RetryAfter?.Delta);
        Assert.InRange(locked.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
        Assert.Equal("Too many wrong keys", (await locked.JsonAsync()).GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.TooManyRequests, (await service.NotifyAsync(IngestPayloads.Notification(Camera))).StatusCode);
    }
}
