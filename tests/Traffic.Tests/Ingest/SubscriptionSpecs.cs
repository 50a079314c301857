using System.Text.Json;
using Akka.Hosting;
using Traffic.Tests.Support;
using Xunit;
using static Traffic.Tests.Ingest.IngestPayloads;
using Flavour = Traffic.Tests.Ingest.FakeNgsiLdBroker.BrokerFlavour;

namespace Traffic.Tests.Ingest;

/// <summary>
/// The subscription makes itself (NGSI_LD_SUBSCRIBE=true): created at the broker at start, updated (not duplicated) when the
/// service starts again, shown in /health/ready; a broker that refuses says why, in one line. Against the fake broker playing
/// Orion-LD and Stellio.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class SubscriptionSpecs : IAsyncLifetime
{
    private const string NotifyKey = "spec-notify-key-0001";
    private FakeNgsiLdBroker _broker = null!;

    public async Task InitializeAsync() => _broker = await FakeNgsiLdBroker.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    private Task<RunningService> StartAsync(string notifyUrl, ErrorLines? errors = null) =>
        RunningService.StartAsync(NgsiLdOnly(new Dictionary<string, string?>
        {
            ["NGSI_LD_BROKER_URL"] = _broker.BaseAddress.ToString(),
            ["NGSI_LD_TENANT"] = "hcmc",
            ["NGSI_LD_SUBSCRIBE"] = "true",
            ["NGSI_LD_NOTIFY_URL"] = notifyUrl,
            ["NGSI_LD_NOTIFY_KEY"] = NotifyKey,
            ["NGSI_LD_BACKOFF_MIN_MS"] = "100",
            ["NGSI_LD_BACKOFF_MAX_MS"] = "400",
        }), errors is null ? null : akka => akka.WithActors((system, _) => errors.Attach(system)));

    private static async Task<JsonElement> SubscriptionStateAsync(RunningService service, string state)
    {
        JsonElement seen = default;
        await Poll.UntilAsync(async () =>
        {
            seen = JsonDocument.Parse(await service.Http.GetStringAsync("/health/ready")).RootElement.GetProperty("ngsiLdSubscription");
            return seen.GetProperty("state").GetString() == state;
        }, $"the subscription {state}", TimeSpan.FromSeconds(30));
        return seen;
    }

    [Theory]
    [InlineData(Flavour.OrionLd)]
    [InlineData(Flavour.Stellio)]
    public async Task The_subscription_is_created_at_start_then_updated_on_restart_never_duplicated(Flavour flavour)
    {
        _broker.Flavour = flavour;
        await using (var first = await StartAsync("http://traffic-a.example:5000/ngsi-ld/notify"))
        {
            var state = await SubscriptionStateAsync(first, "created");
            Assert.Equal("urn:ngsi-ld:Subscription:hcmc-traffic-realtime", state.GetProperty("id").GetString());
        }
        var (id, json) = Assert.Single(_broker.Subscriptions);
        Assert.Equal("urn:ngsi-ld:Subscription:hcmc-traffic-realtime", id);
        var created = JsonDocument.Parse(json).RootElement;
        Assert.Equal(["AirQualityObserved", "Camera", "CongestionZone", "RoadAccident", "TrafficFlowObserved", "WeatherObserved"],
            created.GetProperty("entities").EnumerateArray().Select(e => e.GetProperty("type").GetString()));
        var endpoint = created.GetProperty("notification").GetProperty("endpoint");
        Assert.Equal("http://traffic-a.example:5000/ngsi-ld/notify", endpoint.GetProperty("uri").GetString());
        var receiverInfo = Assert.Single(endpoint.GetProperty("receiverInfo").EnumerateArray());
        Assert.Equal(("X-Api-Key", NotifyKey), (receiverInfo.GetProperty("key").GetString(), receiverInfo.GetProperty("value").GetString()));
        Assert.True(created.TryGetProperty("@context", out _));
        var post = Assert.Single(_broker.SubscriptionRequests);
        Assert.Equal(("POST", "application/ld+json", "hcmc"), (post.Method, post.ContentType, post.Tenant));

        // Started again (a restart, or another node of the cluster), now reached at another address: made to match.
        await using (var second = await StartAsync("http://traffic-b.example:5000/ngsi-ld/notify"))
        {
            var state = await SubscriptionStateAsync(second, "updated");
            Assert.Contains("409", state.GetProperty("detail").GetString());
        }
        (id, json) = Assert.Single(_broker.Subscriptions);
        Assert.Equal("http://traffic-b.example:5000/ngsi-ld/notify",
            JsonDocument.Parse(json).RootElement.GetProperty("notification").GetProperty("endpoint").GetProperty("uri").GetString());
        Assert.Equal(["POST", "POST", "PATCH"], _broker.SubscriptionRequests.Select(r => r.Method));
        Assert.Equal("/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:hcmc-traffic-realtime", _broker.SubscriptionRequests.Last().Path);
    }

    [Fact]
    public async Task A_broker_that_refuses_the_subscription_says_why_in_one_line_and_readiness_shows_it()
    {
        _broker.RefuseSubscriptions = "Notification endpoint uri is not reachable from the broker";
        var errors = new ErrorLines();
        await using var service = await StartAsync("http://traffic-a.example:5000/ngsi-ld/notify", errors);

        var state = await SubscriptionStateAsync(service, "refused");
        Assert.Equal("POST answered 400 Bad Request: The request includes input data which does not meet the requirements of the operation: " +
                     "Notification endpoint uri is not reachable from the broker", state.GetProperty("detail").GetString());
        var line = Assert.Single(errors.Lines, l => l.Contains("subscription"));
        Assert.Contains("refused the subscription urn:ngsi-ld:Subscription:hcmc-traffic-realtime: POST answered 400", line);
        Assert.DoesNotContain('\n', line);
        Assert.Single(_broker.SubscriptionRequests); // a refusal is not retried
        Assert.Empty(_broker.Subscriptions);
    }
}
