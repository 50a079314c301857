using System.Net;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Traffic.Tests.Persistence;

/// <summary>
/// Three host processes in one cluster on one real PostgreSQL (PERSISTENCE=postgres): the whole
/// cluster stopped at once and started again, then restarted node by node, keeps its epoch and
/// dense offsets, and a client that resumes on any node, one that did not number the messages
/// included, gets <c>recovered: true</c> and exactly what it missed.
/// </summary>
[Collection(LocalCluster.Name)]
[Trait("Speed", "Slow")]
public sealed class ClusterPostgresSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _logs = Path.Combine(Path.GetTempPath(), $"traffic-pg-cluster-{Guid.NewGuid():N}");
    private readonly HostProcess?[] _nodes = new HostProcess?[3];
    private readonly List<TestClient> _clients = [];
    private readonly int[] _httpPorts = Enumerable.Range(0, 3).Select(_ => ChildProcess.FreePort()).ToArray();
    private readonly int[] _akkaPorts = Enumerable.Range(0, 3).Select(_ => ChildProcess.FreePort()).ToArray();
    private Postgres _database = null!;
    private bool _passed;
    private int _started;

    public async Task InitializeAsync() => _database = await Postgres.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        foreach (var node in _nodes) if (node is not null) await node.DisposeAsync();
        await _database.DisposeAsync();
        if (_passed) Directory.Delete(_logs, recursive: true);
        else output.WriteLine($"process logs: {_logs}");
    }

    [Fact]
    public async Task Stopped_all_at_once_and_rolled_node_by_node_clients_resume_on_any_node()
    {
        await Task.WhenAll(Enumerable.Range(0, 3).Select(StartAsync));
        var first = await ConnectAsync(2, "");
        await first.ExpectGreetingAsync();
        await PublishAsync(0, "m1");
        var m1 = await first.NextAsync(m => m.Carries("m1"));
        var epoch = m1.GetProperty("epoch").GetString()!;
        await PublishAsync(1, "m2");

        // ---- the whole cluster stops at once (SIGTERM) and starts again
        await Task.WhenAll(_nodes.Select(n => n!.StopAsync(crash: false)));
        foreach (var node in _nodes) await node!.DisposeAsync();
        await Task.WhenAll(Enumerable.Range(0, 3).Select(StartAsync));
        await PublishAsync(0, "m3");
        foreach (var node in Enumerable.Range(0, 3))
            await ExpectResumeAsync(node, epoch, m1.Offset(), ["m2", "m3"]);

        // ---- every node stopped and started again in turn, a publish while each is away
        var published = new List<string> { "m2", "m3" };
        for (var i = 0; i < 3; i++)
        {
            await _nodes[i]!.StopAsync(crash: false);
            await _nodes[i]!.DisposeAsync();
            var marker = $"while-{i}-away";
            await PublishAsync((i + 1) % 3, marker);
            published.Add(marker);
            await StartAsync(i);
        }
        await PublishAsync(1, "last");
        published.Add("last");
        foreach (var node in Enumerable.Range(0, 3))
            await ExpectResumeAsync(node, epoch, m1.Offset(), published);
        _passed = true;
    }

    /// <summary>A client resuming on <paramref name="node"/> from <paramref name="since"/>: recovered, exactly <paramref name="markers"/>, dense offsets.</summary>
    private async Task ExpectResumeAsync(int node, string epoch, long since, IReadOnlyList<string> markers)
    {
        var client = await ConnectAsync(node, $"&since=accidents:{epoch}:{since}");
        Assert.Equal("connection", (await client.NextAsync()).Type());
        var resumed = await client.NextAsync();
        var accidents = resumed.GetProperty("topics").GetProperty("accidents");
        Assert.True(accidents.GetProperty("recovered").GetBoolean(), $"node {node}: {resumed}");
        Assert.Equal(epoch, accidents.GetProperty("epoch").GetString());
        var replayed = new List<JsonElement>();
        for (var i = 0; i < markers.Count; i++) replayed.Add(await client.NextAsync());
        Assert.Equal(markers, replayed.Select(m => m.Marker()));
        Assert.Equal(Enumerable.Range(1, markers.Count).Select(i => since + i), replayed.Select(m => m.Offset()));
        await client.DisposeAsync();
    }

    private async Task StartAsync(int i)
    {
        var seeds = $"127.0.0.1:{_akkaPorts[0]},127.0.0.1:{_akkaPorts[1]}";
        var settings = new Dictionary<string, string>
        {
            ["AKKA_HOSTNAME"] = "127.0.0.1",
            ["AKKA_PORT"] = _akkaPorts[i].ToString(),
            ["AKKA_SEED_NODES"] = seeds,
            ["AKKA_SBR_STABLE_AFTER_MS"] = "2000",
            ["PERSISTENCE"] = "postgres",
            ["PERSISTENCE_CONNECTION_STRING"] = _database.ConnectionString,
            ["SIMULATOR_ENABLED"] = "false",
            ["UPDATE_INTERVALS_MS"] = "cameras=3600000,weather=3600000,airQuality=3600000,accidents=3600000,patterns=3600000,congestion=3600000",
        };
        _nodes[i] = await HostProcess.StartAsync($"node{i}-{Interlocked.Increment(ref _started)}", settings, _logs, _httpPorts[i]);
    }

    private async Task<TestClient> ConnectAsync(int node, string since)
    {
        var client = await TestClient.ConnectAsync(_nodes[node]!.Ws($"?topics=accidents{since}"));
        _clients.Add(client);
        return client;
    }

    /// <summary>Published once, answered 202 (while a node leaves, the sequencer may be moving: a 503 is asked again, bounded).</summary>
    private async Task PublishAsync(int node, string marker)
    {
        HttpStatusCode status = 0;
        await Poll.UntilAsync(async () =>
        {
            status = (await _nodes[node]!.PublishAsync("accidents", marker)).StatusCode;
            return status == HttpStatusCode.Accepted;
        }, $"{marker} answered 202 by node {node} (last: {(int)status})", TimeSpan.FromSeconds(60));
    }

}
