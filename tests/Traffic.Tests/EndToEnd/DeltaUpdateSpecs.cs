using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// Opt-in delta UPDATEs (docs/protocol.md, "Delta UPDATEs"): a client that asked gets the whole list
/// first, then only what changed since its last UPDATE of the topic; applying them gives exactly the
/// list a client without deltas gets at the same offset. Clients that did not ask see no change.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class DeltaUpdateSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    // Air quality is sent every 300 ms; the simulated city takes new readings every 15 s, so most deltas are
    // empty and one in about fifty carries the new readings.
    public async Task InitializeAsync() => _service = await RunningService.StartAsync(new Dictionary<string, string?>
    {
        ["SIMULATOR_STEP_MS"] = "100",
        ["UPDATE_INTERVALS_MS"] = "airQuality=300",
    });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private static bool IsAirQualityUpdate(JsonElement m) => m.Type() == "UPDATE" && m.GetProperty("topic").GetString() == "airQuality";

    private static Dictionary<string, string> ById(JsonElement list) =>
        list.EnumerateArray().ToDictionary(e => e.GetProperty("id").GetString()!, e => e.GetRawText());

    [Theory]
    [InlineData("/ws?topics=airQuality&delta=true", null)]
    [InlineData("/ws?topics=airQuality", """{"action":"subscribe","topics":["airQuality"],"delta":true}""")]
    public async Task Applying_the_deltas_gives_the_same_lists_as_the_whole_updates(string path, string? subscribe)
    {
        await using var plain = await _service.ConnectAsync("/ws?topics=airQuality");
        await using var deltas = await _service.ConnectAsync(path);
        await plain.ExpectGreetingAsync();
        await deltas.ExpectGreetingAsync();
        if (subscribe is not null)
        {
            await deltas.SendAsync(subscribe);
            await deltas.NextOfTypeAsync("SUBSCRIBED");
        }

        var first = await deltas.NextAsync(IsAirQualityUpdate);
        Assert.True(first.TryGetProperty("data", out var data), "the first UPDATE after connecting is the whole list");
        var state = ById(data);
        var last = first.Offset();
        var changed = 0;
        var deadline = DateTime.UtcNow.AddSeconds(45);
        for (var i = 0; changed == 0 || i < 3; i++)
        {
            Assert.True(DateTime.UtcNow < deadline, "no delta carried a change within 45 s (air quality readings change every 15 s)");
            var update = await deltas.NextAsync(IsAirQualityUpdate);
            Assert.False(update.TryGetProperty("data", out _), "later UPDATEs are deltas");
            var delta = update.GetProperty("delta");
            Assert.Equal(last, delta.GetProperty("base").GetInt64());
            foreach (var entity in delta.GetProperty("upserted").EnumerateArray())
            {
                state[entity.GetProperty("id").GetString()!] = entity.GetRawText();
                changed++;
            }
            foreach (var id in delta.GetProperty("removed").EnumerateArray()) state.Remove(id.GetString()!);
            last = update.Offset();

            var whole = await plain.NextAsync(m => IsAirQualityUpdate(m) && m.Offset() == update.Offset());
            Assert.Equal(ById(whole.GetProperty("data")), state);
        }
        Assert.All(plain.Seen.Where(IsAirQualityUpdate), m => Assert.True(m.TryGetProperty("data", out _))); // no deltas unasked
    }

    [Fact]
    public async Task A_bad_delta_option_is_refused()
    {
        await using var http = await RawHttp.OpenAsync(_service);
        await http.SendAsync(RawHttp.Upgrade("/ws?delta=maybe"));
        Assert.Equal(400, (await http.ReadResponseAsync()).Status);

        await using var client = await _service.ConnectAsync("/ws?topics=cameras");
        await client.ExpectGreetingAsync();
        await client.SendAsync("""{"action":"subscribe","topics":["weather"],"delta":"yes"}""");
        Assert.Equal("invalid_delta", (await client.NextOfTypeAsync("ERROR")).GetProperty("error").GetString());
    }
}
