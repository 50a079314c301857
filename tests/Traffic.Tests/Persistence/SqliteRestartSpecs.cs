using System.Net;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Traffic.Tests.Persistence;

/// <summary>
/// A single node on its default SQLite file, as an operator runs it (the built host, stopped by its
/// PID): across a graceful stop (SIGTERM) and a crash (SIGKILL right after a publish was answered
/// 202), the epoch stays, offsets continue densely, and a client that resumes from its last position
/// gets <c>recovered: true</c> and exactly what it missed, in order, none twice, then live messages.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class SqliteRestartSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    // No simulated feed and no scheduled UPDATE within the spec: the streams hold only what it publishes.
    private static readonly Dictionary<string, string> Quiet = new()
    {
        ["SIMULATOR_ENABLED"] = "false",
        ["UPDATE_INTERVALS_MS"] = "cameras=3600000,weather=3600000,airQuality=3600000,accidents=3600000,patterns=3600000,congestion=3600000",
    };

    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"traffic-sqlite-{Guid.NewGuid():N}");
    private readonly List<IAsyncDisposable> _owned = [];
    private bool _passed;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var owned in _owned) await owned.DisposeAsync();
        if (_passed) Directory.Delete(_directory, recursive: true);
        else output.WriteLine($"database and process logs: {_directory}");
    }

    [Fact]
    public async Task A_resume_older_than_the_memory_history_is_served_from_the_journal()
    {
        // Memory keeps 3 messages per stream; the journal keeps them all (within HISTORY_TTL_MS).
        var settings = new Dictionary<string, string>(Quiet) { ["PERSISTENCE_PATH"] = Path.Combine(_directory, "traffic.db"), ["HISTORY_SIZE"] = "3" };
        var service = Own(await HostProcess.StartAsync("service", settings, _directory));
        var client = Own(await TestClient.ConnectAsync(service.Ws("?topics=accidents")));
        await client.ExpectGreetingAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await service.PublishAsync("accidents", "m1")).StatusCode);
        var m1 = await client.NextAsync(m => m.Carries("m1"));
        await client.DisposeAsync();
        var away = Enumerable.Range(2, 7).Select(i => $"m{i}").ToList();
        foreach (var marker in away) Assert.Equal(HttpStatusCode.Accepted, (await service.PublishAsync("accidents", marker)).StatusCode);

        var back = Own(await TestClient.ConnectAsync(service.Ws($"?topics=accidents&since=accidents:{m1.GetProperty("epoch").GetString()}:{m1.Offset()}")));
        Assert.Equal("connection", (await back.NextAsync()).Type());
        var resumed = await back.NextAsync();
        Assert.Equal("RESUMED", resumed.Type());
        Assert.True(resumed.GetProperty("topics").GetProperty("accidents").GetProperty("recovered").GetBoolean(), resumed.ToString());
        var replayed = new List<JsonElement>();
        for (var i = 0; i < away.Count; i++) replayed.Add(await back.NextAsync());
        Assert.Equal(away, replayed.Select(m => m.Marker()));
        Assert.Equal(Enumerable.Range(1, away.Count).Select(i => m1.Offset() + i), replayed.Select(m => m.Offset()));
        _passed = true;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_resumes_across_a_restart_with_exactly_what_it_missed(bool crash)
    {
        var settings = new Dictionary<string, string>(Quiet) { ["PERSISTENCE_PATH"] = Path.Combine(_directory, "traffic.db") };
        var first = Own(await HostProcess.StartAsync("first", settings, _directory));

        // ---- a client sees two ALERTs, notes its positions after the first, and goes away
        var client = Own(await TestClient.ConnectAsync(first.Ws("?topics=accidents")));
        var (_, snapshot) = await client.ExpectGreetingAsync();
        var allBefore = snapshot.GetProperty("positions").GetProperty("all");
        Assert.Equal(HttpStatusCode.Accepted, (await first.PublishAsync("accidents", "m1")).StatusCode);
        var m1 = await client.NextAsync(m => m.Carries("m1"));
        Assert.Equal(HttpStatusCode.Accepted, (await first.PublishAsync("accidents", "m2")).StatusCode);
        await client.NextAsync(m => m.Carries("m2"));
        await client.DisposeAsync();

        // ---- published while it is away, then the service stops (a crash: right after the 202)
        Assert.Equal(HttpStatusCode.Accepted, (await first.PublishAsync(null, "to-everyone")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await first.PublishAsync("accidents", "m3")).StatusCode);
        await first.StopAsync(crash);

        var second = Own(await HostProcess.StartAsync("second", settings, _directory));
        Assert.Equal(HttpStatusCode.Accepted, (await second.PublishAsync("accidents", "m4")).StatusCode);

        // ---- it resumes from after m1 and from before the publish to everyone
        var epoch = m1.GetProperty("epoch").GetString();
        var since = $"accidents:{epoch}:{m1.Offset()},all:{allBefore.GetProperty("epoch").GetString()}:{allBefore.GetProperty("offset").GetInt64()}";
        var back = Own(await TestClient.ConnectAsync(second.Ws($"?topics=accidents&since={since}")));
        Assert.Equal("connection", (await back.NextAsync()).Type());
        var resumed = await back.NextAsync();
        Assert.Equal("RESUMED", resumed.Type());
        var accidents = resumed.GetProperty("topics").GetProperty("accidents");
        Assert.True(accidents.GetProperty("recovered").GetBoolean(), resumed.ToString());
        Assert.Equal(epoch, accidents.GetProperty("epoch").GetString());
        Assert.True(resumed.GetProperty("topics").GetProperty("all").GetProperty("recovered").GetBoolean(), resumed.ToString());

        // Exactly what it missed, in the order published, then live: no SNAPSHOT (every stream recovered), nothing twice.
        var replayed = new List<JsonElement>();
        for (var i = 0; i < 4; i++) replayed.Add(await back.NextAsync());
        Assert.Equal(["m2", "to-everyone", "m3", "m4"], replayed.Select(m => m.Marker()));
        var accidentOffsets = replayed.Where(m => m.IsOnStream("accidents")).Select(m => m.Offset()).ToList();
        Assert.Equal(Enumerable.Range(1, 3).Select(i => m1.Offset() + i), accidentOffsets); // dense: no jump across the restart
        Assert.All(replayed, m => Assert.Equal(epoch, m.GetProperty("epoch").GetString()));
        Assert.Equal(HttpStatusCode.Accepted, (await second.PublishAsync("accidents", "m5")).StatusCode);
        var live = await back.NextAsync();
        Assert.Equal("m5", live.Marker());
        Assert.Equal(m1.Offset() + 4, live.Offset());
        _passed = true;
    }

    /// <summary>
    /// An NGSI-LD notification answered 200 is kept: the process killed right after the answer (no save interval
    /// passes) comes back with the entities in its SNAPSHOT, and a client that resumes from before it gets the
    /// ALERT it raised (a new high-severity accident), recovered.
    /// </summary>
    [Fact]
    public async Task A_notification_answered_200_survives_a_kill_right_after_the_answer()
    {
        var settings = new Dictionary<string, string>(Quiet) { ["PERSISTENCE_PATH"] = Path.Combine(_directory, "traffic.db"), ["SOURCES"] = "ngsi-ld" };
        var first = Own(await HostProcess.StartAsync("first", settings, _directory));
        var client = Own(await TestClient.ConnectAsync(first.Ws("?topics=accidents")));
        var (_, snapshot) = await client.ExpectGreetingAsync();
        var before = snapshot.GetProperty("positions").GetProperty("accidents");
        await client.DisposeAsync();

        var request = new HttpRequestMessage(HttpMethod.Post, "/ngsi-ld/notify")
        {
            Content = new StringContent(Ingest.IngestPayloads.Read("notification-normalized.json"), System.Text.Encoding.UTF8, "application/ld+json"),
        };
        request.Headers.Add("X-Api-Key", HostProcess.ApiKey);
        var answer = await first.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        await first.StopAsync(crash: true);

        var second = Own(await HostProcess.StartAsync("second", settings, _directory));
        var fresh = Own(await TestClient.ConnectAsync(second.Ws("?topics=cameras,accidents")));
        var (_, saved) = await fresh.ExpectGreetingAsync();
        var ids = saved.GetProperty("data").EnumerateObject()
            .Where(topic => topic.Value.ValueKind == JsonValueKind.Array)
            .SelectMany(topic => topic.Value.EnumerateArray().Select(e => e.GetProperty("id").GetString())).ToList();
        Assert.Contains("urn:ngsi-ld:Camera:CAM-D1-017", ids);
        Assert.Contains("urn:ngsi-ld:RoadAccident:HCMC-20261129-0042", ids);

        var since = $"accidents:{before.GetProperty("epoch").GetString()}:{before.GetProperty("offset").GetInt64()}";
        var back = Own(await TestClient.ConnectAsync(second.Ws($"?topics=accidents&since={since}")));
        Assert.Equal("connection", (await back.NextAsync()).Type());
        var resumed = await back.NextAsync();
        Assert.Equal("RESUMED", resumed.Type());
        Assert.True(resumed.GetProperty("topics").GetProperty("accidents").GetProperty("recovered").GetBoolean(), resumed.ToString());
        var alert = await back.NextAsync(m => m.Type() == "ALERT");
        Assert.Contains("HCMC-20261129-0042", alert.ToString());
        _passed = true;
    }

    private T Own<T>(T owned) where T : IAsyncDisposable
    {
        _owned.Insert(0, owned); // disposed newest first
        return owned;
    }
}
