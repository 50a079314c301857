using System.Net;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;
using static Traffic.Tests.Ingest.IngestPayloads;

namespace Traffic.Tests.Ingest;

/// <summary>
/// Polling a broker whose listing changes while it is paged, and the start-up load followed by notifications, against
/// the fake NGSI-LD broker on a real Kestrel, seen by real WebSocket clients.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class PollingChangesSpecs : IAsyncLifetime
{
    private const string Type = "RoadAccident";
    private FakeNgsiLdBroker _broker = null!;
    private readonly List<RunningService> _services = [];

    public async Task InitializeAsync() => _broker = await FakeNgsiLdBroker.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var service in _services) await service.DisposeAsync();
        await _broker.DisposeAsync();
    }

    private async Task<RunningService> StartAsync(Dictionary<string, string?> more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["NGSI_LD_BROKER_URL"] = _broker.BaseAddress.ToString(),
            ["NGSI_LD_PAGE_SIZE"] = "2",
            ["NGSI_LD_TIMEOUT_MS"] = "5000",
            ["NGSI_LD_BACKOFF_MIN_MS"] = "100",
            ["NGSI_LD_BACKOFF_MAX_MS"] = "400",
        };
        foreach (var (key, value) in more) settings[key] = value;
        var service = await RunningService.StartAsync(NgsiLdOnly(settings));
        _services.Add(service);
        return service;
    }

    private static string Id(int i) => $"urn:ngsi-ld:RoadAccident:S{i}";

    private static string Accident(int i, string severity) =>
        $$$"""{"id":"{{{Id(i)}}}","type":"RoadAccident","severity":"{{{severity}}}","status":"onGoing","description":"Accident {{{i}}}","location":{"type":"Point","coordinates":[106.7,10.7{{{i}}}]}}""";

    private static string[] Ids(JsonElement update) => update.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToArray();

    private static bool IsAccidents(JsonElement m) => m.Type() == "UPDATE" && m.GetProperty("topic").GetString() == "accidents";

    private static bool IsAlertFor(JsonElement m, string id) => m.Type() == "ALERT" && m.GetProperty("data").GetProperty("id").GetString() == id;

    /// <summary>Offsets 0, 2, 4 of the accidents' listing were asked this many more times than now: complete polls done.</summary>
    private Task CompletePollsAsync(int polls)
    {
        var before = _broker.Requests.Count(r => r.Type == Type && r.Offset == 0);
        return Poll.UntilAsync(() => Task.FromResult(_broker.Requests.Count(r => r.Type == Type && r.Offset == 0) >= before + polls + 1),
            $"{polls} more complete polls", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_listing_that_shifts_between_pages_removes_nothing_still_listed_and_alerts_no_accident_twice()
    {
        _broker.Put(Type, Id(1), Accident(1, "medium"));
        _broker.Put(Type, Id(2), Accident(2, "medium"));
        var service = await StartAsync(new Dictionary<string, string?>());
        await using var client = await service.ConnectAsync("/ws?topics=accidents");
        await client.ExpectGreetingAsync();
        await client.NextAsync(m => IsAccidents(m) && Ids(m).Length == 2);

        // A new severe accident: one ALERT.
        _broker.Put(Type, Id(3), Accident(3, "high"));
        await client.NextAsync(m => IsAlertFor(m, Id(3)), TimeSpan.FromSeconds(30));
        _broker.Put(Type, Id(4), Accident(4, "medium"));
        _broker.Put(Type, Id(5), Accident(5, "medium"));
        await client.NextAsync(m => IsAccidents(m) && Ids(m).Length == 5, TimeSpan.FromSeconds(30));
        var armed = client.Seen.Count;

        // S1 is deleted between the first and the second page of a poll: offset 2 then starts at S4, and S3 is in no page
        // of that listing although the broker still has it.
        var shifted = new TaskCompletionSource();
        _broker.BeforePage(Type, 2, () =>
        {
            _broker.Delete(Type, Id(1));
            shifted.TrySetResult();
        });
        await shifted.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // S1 leaves (it is missing from two complete listings); every UPDATE until then and for two more polls holds S3.
        var gone = await client.NextAsync(m => IsAccidents(m) && !Ids(m).Contains(Id(1)), TimeSpan.FromSeconds(30));
        Assert.Equal([Id(2), Id(3), Id(4), Id(5)], Ids(gone));
        await CompletePollsAsync(2);
        await client.NextAsync(m => IsAccidents(m) && Ids(m).SequenceEqual([Id(2), Id(3), Id(4), Id(5)]));
        Assert.All(client.Seen.Skip(armed).Where(IsAccidents), update => Assert.Contains(Id(3), Ids(update)));
        Assert.Single(client.Seen, m => IsAlertFor(m, Id(3)));
        Assert.DoesNotContain(client.Seen, m => m.Type() == "ALERT" && !IsAlertFor(m, Id(3)));
    }

    [Fact]
    public async Task At_start_the_broker_is_loaded_once_without_alerts_then_notifications_are_followed()
    {
        _broker.Put(Type, Id(1), Accident(1, "high"));
        _broker.Put(Type, Id(2), Accident(2, "critical"));
        _broker.Put(Type, Id(3), Accident(3, "medium"));
        var service = await StartAsync(new Dictionary<string, string?> { ["NGSI_LD_POLL"] = "start" });
        await using var client = await service.ConnectAsync("/ws?topics=accidents");
        await client.ExpectGreetingAsync();

        // Loaded: what was there before the service started reaches clients, as state, not as news.
        var loaded = await client.NextAsync(m => IsAccidents(m) && Ids(m).Length == 3);
        Assert.Equal([Id(1), Id(2), Id(3)], Ids(loaded));
        await Poll.UntilAsync(async () =>
                JsonDocument.Parse(await service.Http.GetStringAsync("/health/ready")).RootElement.GetProperty("ngsiLdIngest")
                    .GetProperty("polling").GetProperty("state").GetString() == "done", "the start-up load done");
        var listed = _broker.Requests.Count(r => r.Type == Type);
        Assert.Equal(2, listed); // offsets 0 and 2 (a short page ends it), once

        // Then notifications: a change merged in, a new severe accident alerted once, an escalation alerted once.
        Assert.Equal(HttpStatusCode.OK, (await service.NotifyAsync(Notification(
            $$$"""{"id":"{{{Id(3)}}}","type":"RoadAccident","severity":{"type":"Property","value":"high"}}""",
            Accident(4, "severe")))).StatusCode);
        var after = await client.NextAsync(m => IsAccidents(m) && Ids(m).Length == 4);
        Assert.Single(client.Seen, m => IsAlertFor(m, Id(4)) && m.GetProperty("data").GetProperty("alertType").GetString() == "severeAccident");
        Assert.Single(client.Seen, m => IsAlertFor(m, Id(3)) && m.GetProperty("data").GetProperty("alertType").GetString() == "accidentEscalated");
        Assert.Equal("Accident 3", EntityIn(after, Id(3))!.Value.GetProperty("description").GetString()); // merged, not replaced

        // Several UPDATE intervals later the broker was not listed again, and nothing it held at start alerted.
        for (var i = 0; i < 3; i++) await client.NextAsync(IsAccidents);
        Assert.Equal(listed, _broker.Requests.Count(r => r.Type == Type));
        Assert.DoesNotContain(client.Seen, m => IsAlertFor(m, Id(1)) || IsAlertFor(m, Id(2)));
        Assert.Equal(2, client.Seen.Count(m => m.Type() == "ALERT"));
    }
}
