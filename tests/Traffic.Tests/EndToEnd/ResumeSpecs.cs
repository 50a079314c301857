using System.Net;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// Positions and resume through real sockets (docs/protocol.md, "Positions" and "Resume"): a
/// client that reconnects with the positions it last saw gets exactly what it missed, in order,
/// then live messages; one whose position is too old or of another epoch is told so and gets the
/// state. A "witness" client that stays connected proves each publish was made before the resume.
/// </summary>
public sealed class ResumeSpecs : IAsyncLifetime
{
    private RunningService _service = null!;

    // No simulation: only what the specs publish is on the streams.
    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SIMULATOR_ENABLED"] = "false",
            ["HISTORY_SIZE"] = "20",
        });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private static string Marker(JsonElement message) =>
        message.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object && data.TryGetProperty("marker", out var m)
            ? m.GetString() ?? ""
            : "";

    private static (string Epoch, long Offset) PositionOf(JsonElement message) =>
        (message.GetProperty("epoch").GetString()!, message.GetProperty("offset").GetInt64());

    private static (string Epoch, long Offset) SnapshotPosition(JsonElement snapshot, string stream)
    {
        var position = snapshot.GetProperty("positions").GetProperty(stream);
        return (position.GetProperty("epoch").GetString()!, position.GetProperty("offset").GetInt64());
    }

    /// <summary>Publishes and waits until the witness has it: from then on it is in the history.</summary>
    private async Task<JsonElement> PublishSeenAsync(TestClient witness, string type, string topic, string marker)
    {
        Assert.Equal(HttpStatusCode.Accepted, (await _service.PublishAsync(new { type, topic, data = new { marker } })).StatusCode);
        return await witness.NextAsync(m => Marker(m) == marker);
    }

    [Fact]
    public async Task Every_update_and_alert_carries_its_position_right_after_the_snapshots()
    {
        await using var client = await _service.ConnectAsync("/ws?topics=accidents");
        var (_, snapshot) = await client.ExpectGreetingAsync();
        var (epoch, offset) = SnapshotPosition(snapshot, "accidents");
        Assert.Matches("^[0-9a-z]{1,32}$", epoch);
        foreach (var stream in new[] { "cameras", "weather", "airQuality", "accidents", "patterns", "congestion", "all" })
            Assert.True(snapshot.GetProperty("positions").TryGetProperty(stream, out _), stream);

        var first = await PublishSeenAsync(client, "ALERT", "accidents", "p1");
        var second = await PublishSeenAsync(client, "UPDATE", "accidents", "p2");
        var toAll = await PublishSeenAsync(client, "ALERT", "all", "p3");
        Assert.Equal((epoch, offset + 1), PositionOf(first));
        Assert.Equal((epoch, offset + 2), PositionOf(second));
        Assert.Equal(SnapshotPosition(snapshot, "all").Offset + 1, PositionOf(toAll).Offset); // the "all" stream has its own offsets
    }

    [Fact]
    public async Task A_client_that_reconnects_with_its_positions_gets_exactly_what_it_missed_then_live_messages()
    {
        await using var witness = await _service.ConnectAsync("/ws");
        await witness.ExpectGreetingAsync();
        string since;
        await using (var client = await _service.ConnectAsync("/ws?topics=accidents"))
        {
            var (_, snapshot) = await client.ExpectGreetingAsync();
            var seen = await PublishSeenAsync(witness, "ALERT", "accidents", "before");
            Assert.Equal(PositionOf(seen), PositionOf(await client.NextAsync(m => Marker(m) == "before")));
            var accidents = PositionOf(seen);
            var all = SnapshotPosition(snapshot, "all");
            since = $"accidents:{accidents.Epoch}:{accidents.Offset},all:{all.Epoch}:{all.Offset}";
        }

        // While it is away: accidents alerts and an update, a camera alert (not its topic), one to everyone.
        var missed = new List<JsonElement>
        {
            await PublishSeenAsync(witness, "ALERT", "accidents", "m1"),
            await PublishSeenAsync(witness, "UPDATE", "accidents", "m2"),
        };
        await PublishSeenAsync(witness, "ALERT", "cameras", "not-mine");
        missed.Add(await PublishSeenAsync(witness, "ALERT", "all", "m3"));
        missed.Add(await PublishSeenAsync(witness, "ALERT", "accidents", "m4"));

        await using var back = await _service.ConnectAsync($"/ws?topics=accidents&since={since}");
        Assert.Equal("connection", (await back.NextAsync()).Type());
        var resumed = await back.NextAsync();
        Assert.Equal("RESUMED", resumed.Type());
        var accidentsResult = resumed.GetProperty("topics").GetProperty("accidents");
        Assert.True(accidentsResult.GetProperty("recovered").GetBoolean());
        Assert.Equal(PositionOf(missed[0]).Offset, accidentsResult.GetProperty("from").GetInt64());
        Assert.Equal(PositionOf(missed[3]).Offset, accidentsResult.GetProperty("to").GetInt64());
        Assert.True(resumed.GetProperty("topics").GetProperty("all").GetProperty("recovered").GetBoolean());

        // Exactly the missed ones, in the order they were published: no camera alert, no SNAPSHOT (nothing needs state).
        foreach (var expected in missed)
        {
            var replayed = await back.NextAsync();
            Assert.Equal(Marker(expected), Marker(replayed));
            Assert.Equal(PositionOf(expected), PositionOf(replayed));
        }
        var live = await PublishSeenAsync(witness, "ALERT", "accidents", "live");
        var next = await back.NextAsync();
        Assert.Equal("live", Marker(next)); // nothing between the replay and the live stream
        Assert.Equal(PositionOf(live), PositionOf(next));
        Assert.DoesNotContain(back.Seen, m => m.Type() == "SNAPSHOT");
    }

    [Fact]
    public async Task A_position_older_than_the_history_is_not_recovered_and_the_client_gets_the_state()
    {
        await using var witness = await _service.ConnectAsync("/ws");
        var (_, snapshot) = await witness.ExpectGreetingAsync();
        var (epoch, offset) = SnapshotPosition(snapshot, "weather");
        for (var i = 0; i < 21; i++) await PublishSeenAsync(witness, "ALERT", "weather", $"w{i}"); // HISTORY_SIZE is 20

        await using var back = await _service.ConnectAsync($"/ws?topics=weather&since=weather:{epoch}:{offset}");
        Assert.Equal("connection", (await back.NextAsync()).Type());
        var result = (await back.NextAsync()).GetProperty("topics").GetProperty("weather");
        Assert.False(result.GetProperty("recovered").GetBoolean());
        Assert.Equal("too_old", result.GetProperty("reason").GetString());
        Assert.Equal(offset + 21, result.GetProperty("offset").GetInt64());
        var state = await back.NextAsync();
        Assert.Equal("SNAPSHOT", state.Type());
        Assert.Equal((epoch, offset + 21), SnapshotPosition(state, "weather"));
        Assert.DoesNotContain(back.Seen, m => m.Type() == "ALERT"); // nothing replayed

        // One message later it is within the history again: the newest position recovers with nothing to replay.
        await using var current = await _service.ConnectAsync($"/ws?topics=weather&since=weather:{epoch}:{offset + 21}");
        await current.NextAsync();
        var upToDate = (await current.NextAsync()).GetProperty("topics").GetProperty("weather");
        Assert.True(upToDate.GetProperty("recovered").GetBoolean());
        Assert.False(upToDate.TryGetProperty("from", out _));
    }

    [Fact]
    public async Task A_position_of_another_epoch_is_not_recovered()
    {
        // The stream must have an epoch first (before its first message it has none: "no_history").
        await using var witness = await _service.ConnectAsync("/ws?topics=patterns");
        await witness.ExpectGreetingAsync();
        await PublishSeenAsync(witness, "ALERT", "patterns", "numbered");

        await using var back = await _service.ConnectAsync("/ws?topics=patterns&since=patterns:someotherepoch:5");
        await back.NextAsync();
        var result = (await back.NextAsync()).GetProperty("topics").GetProperty("patterns");
        Assert.False(result.GetProperty("recovered").GetBoolean());
        Assert.Equal("epoch_changed", result.GetProperty("reason").GetString());
        Assert.Equal("SNAPSHOT", (await back.NextAsync()).Type());
    }

    [Fact]
    public async Task A_subscribe_with_positions_resumes_that_topic()
    {
        await using var witness = await _service.ConnectAsync("/ws");
        var (_, snapshot) = await witness.ExpectGreetingAsync();
        var (epoch, offset) = SnapshotPosition(snapshot, "congestion");
        var missed = await PublishSeenAsync(witness, "ALERT", "congestion", "jam");

        await using var client = await _service.ConnectAsync("/ws?topics=cameras");
        await client.ExpectGreetingAsync();
        var since = JsonSerializer.Serialize(new { congestion = new { epoch, offset } });
        await client.SendAsync($$"""{"action":"subscribe","topics":["congestion"],"since":{{since}}}""");
        Assert.Equal("SUBSCRIBED", (await client.NextAsync()).Type());
        var resumed = await client.NextAsync();
        Assert.Equal("RESUMED", resumed.Type());
        Assert.True(resumed.GetProperty("topics").GetProperty("congestion").GetProperty("recovered").GetBoolean());
        var replayed = await client.NextAsync();
        Assert.Equal(("jam", PositionOf(missed)), (Marker(replayed), PositionOf(replayed)));
    }

    [Theory]
    [InlineData("since=accidents:abc")]
    [InlineData("since=accidents:abc:-1")]
    [InlineData("since=accidents:ABC:1")]
    [InlineData("since=parking:abc:1")]
    [InlineData("topics=cameras&since=accidents:abc:1")]
    [InlineData("since=accidents:abc:1,accidents:abc:2")]
    public async Task A_malformed_position_in_the_url_refuses_the_handshake_with_a_problem(string query)
    {
        await using var http = await RawHttp.OpenAsync(_service);
        await http.SendAsync(RawHttp.Upgrade("/ws?" + query));
        var response = await http.ReadResponseAsync();
        Assert.Equal(400, response.Status);
        Assert.Equal("Invalid position", response.Problem.GetProperty("title").GetString());
        Assert.Contains("since", response.Problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("""{"action":"subscribe","topics":["accidents"],"since":[1]}""")]
    [InlineData("""{"action":"subscribe","topics":["accidents"],"since":{"accidents":{"epoch":"abc"}}}""")]
    [InlineData("""{"action":"subscribe","topics":["accidents"],"since":{"accidents":{"epoch":"abc","offset":1.5}}}""")]
    [InlineData("""{"action":"subscribe","topics":["accidents"],"since":{"weather":{"epoch":"abc","offset":1}}}""")]
    [InlineData("""{"action":"subscribe","topics":["accidents"],"since":{"parking":{"epoch":"abc","offset":1}}}""")]
    public async Task A_malformed_position_in_a_subscribe_gets_an_error_and_harms_nothing(string command)
    {
        await using var client = await _service.ConnectAsync("/ws?topics=cameras");
        await client.ExpectGreetingAsync();
        await client.SendAsync(command);
        var error = await client.NextAsync();
        Assert.Equal("invalid_position", error.GetProperty("error").GetString());
        await client.SendAsync("""{"action":"ping"}""");
        Assert.Equal("PONG", (await client.NextAsync()).Type());
        await client.SendAsync("""{"action":"subscribe","topics":["accidents"]}""");
        Assert.Equal(["cameras", "accidents"], (await client.NextOfTypeAsync("SUBSCRIBED")).GetProperty("subscriptions").EnumerateArray().Select(t => t.GetString()));
    }
}
