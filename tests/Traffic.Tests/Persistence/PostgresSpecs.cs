using System.Net;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Traffic.Tests.Persistence;

/// <summary>
/// A node on a real PostgreSQL (a throwaway server the spec starts): with the database stopped
/// mid-run publishes are answered 503 with Retry-After and readiness says why, nothing refused is
/// ever delivered, and once the database is back it recovers by itself with offsets still dense;
/// after a crash of the node (SIGKILL) a client resumes from the database's history.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class PostgresSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _logs = Path.Combine(Path.GetTempPath(), $"traffic-pg-spec-{Guid.NewGuid():N}");
    private readonly List<IAsyncDisposable> _owned = [];
    private Postgres _database = null!;
    private bool _passed;

    public async Task InitializeAsync() => _database = await Postgres.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var owned in _owned) await owned.DisposeAsync();
        await _database.DisposeAsync();
        if (_passed) Directory.Delete(_logs, recursive: true);
        else output.WriteLine($"process logs: {_logs}");
    }

    [Fact]
    public async Task The_database_away_gives_503_then_recovery_and_a_crash_loses_nothing()
    {
        var settings = new Dictionary<string, string>
        {
            ["PERSISTENCE"] = "postgres",
            ["PERSISTENCE_CONNECTION_STRING"] = _database.ConnectionString,
            ["SIMULATOR_ENABLED"] = "false",
            ["UPDATE_INTERVALS_MS"] = "cameras=3600000,weather=3600000,airQuality=3600000,accidents=3600000,patterns=3600000,congestion=3600000",
        };
        var node = Own(await HostProcess.StartAsync("node", settings, _logs));
        var client = Own(await TestClient.ConnectAsync(node.Ws("?topics=accidents")));
        await client.ExpectGreetingAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await node.PublishAsync("accidents", "m1")).StatusCode);
        var m1 = await client.NextAsync(m => m.Carries("m1"));

        // ---- the database goes away: 503 with Retry-After, and readiness says why
        await _database.StopServerAsync();
        var refused = new List<string>();
        HttpResponseMessage answer = null!;
        await Poll.UntilAsync(async () =>
        {
            var marker = $"refused-{refused.Count}";
            refused.Add(marker);
            answer = await node.PublishAsync("accidents", marker);
            return answer.StatusCode == HttpStatusCode.ServiceUnavailable;
        }, "a publish answered 503", TimeSpan.FromSeconds(60));
        Assert.Equal("1", answer.Headers.GetValues("Retry-After").Single());
        var ready = await node.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("the database is unreachable", await ready.Content.ReadAsStringAsync());

        // ---- it comes back by itself: the first publish answered 202 is the next offset after m1
        await _database.StartServerAsync();
        var accepted = "";
        await Poll.UntilAsync(async () =>
        {
            var marker = $"after-{refused.Count}";
            var response = await node.PublishAsync("accidents", marker);
            if (response.StatusCode != HttpStatusCode.Accepted) { refused.Add(marker); return false; }
            accepted = marker;
            return true;
        }, "a publish answered 202 once the database is back", TimeSpan.FromSeconds(90));
        var next = await client.NextAsync(m => m.Type() == "ALERT");
        Assert.Equal(accepted, next.Marker());
        Assert.Equal(m1.Offset() + 1, next.Offset());
        Assert.DoesNotContain(client.Seen, m => refused.Contains(m.Marker()));
        Assert.Equal(HttpStatusCode.OK, (await node.Http.GetAsync("/health/ready")).StatusCode);

        // ---- a crash right after a 202: the restarted node serves the resume from the database
        Assert.Equal(HttpStatusCode.Accepted, (await node.PublishAsync("accidents", "last")).StatusCode);
        await node.StopAsync(crash: true);
        var again = Own(await HostProcess.StartAsync("node-again", settings, _logs));
        var back = Own(await TestClient.ConnectAsync(again.Ws($"?topics=accidents&since=accidents:{m1.GetProperty("epoch").GetString()}:{m1.Offset()}")));
        Assert.Equal("connection", (await back.NextAsync()).Type());
        var resumed = await back.NextAsync();
        Assert.True(resumed.GetProperty("topics").GetProperty("accidents").GetProperty("recovered").GetBoolean(), resumed.ToString());
        Assert.Equal([accepted, "last"], [(await back.NextAsync()).Marker(), (await back.NextAsync()).Marker()]);
        _passed = true;
    }


    private T Own<T>(T owned) where T : IAsyncDisposable
    {
        _owned.Insert(0, owned);
        return owned;
    }
}
