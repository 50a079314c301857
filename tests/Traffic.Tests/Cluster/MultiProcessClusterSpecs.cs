using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Traffic.Tests.Cluster;

/// <summary>
/// The operator's view, end to end: three host processes (the built Traffic.Host.dll, started with
/// the documented AKKA_* variables) on 127.0.0.1, nginx in front with the repository's own
/// configuration, real WebSocket clients on every node and through nginx. A publish on one node
/// reaches everyone once; the node holding the aggregator is killed (SIGKILL) and the survivors
/// keep getting scheduled UPDATEs, while its clients reconnect through nginx with their positions
/// and get every message published meanwhile, with no gap;
/// then the next holder is stopped with SIGTERM and leaves gracefully (1012, hand-over, exit 0).
/// Every wait is bounded, and every process is ended by its PID.
/// </summary>
[Collection(LocalCluster.Name)]
[Trait("Speed", "Slow")]
public sealed class MultiProcessClusterSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    private const string ApiKey = "e2e-spec-publish-key";
    private static readonly TimeSpan AccidentsInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(2);

    private sealed record Node(int Index, ChildProcess Process, int HttpPort, int AkkaPort, HttpClient Http)
    {
        public string Address => $"akka.tcp://traffic@127.0.0.1:{AkkaPort}";
        public Uri Ws(string query) => new($"ws://127.0.0.1:{HttpPort}/ws{query}");
    }

    private readonly List<Node> _nodes = [];
    private readonly List<TestClient> _clients = [];
    private readonly string _logs = Path.Combine(Path.GetTempPath(), $"traffic-cluster-e2e-{Guid.NewGuid():N}");
    private ChildProcess? _nginx;
    private int _nginxPort;
    private HttpClient _viaNginx = null!;
    private bool _passed;

    public async Task InitializeAsync()
    {
        var root = RepositoryRoot();
        var configuration = Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd('/'))!);
        var dll = Path.Combine(root, "src", "Traffic.Host", "bin", configuration, "net10.0", "Traffic.Host.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution ({configuration}) first");
        Directory.CreateDirectory(_logs);

        var httpPorts = Enumerable.Range(0, 3).Select(_ => ChildProcess.FreePort()).ToList();
        var akkaPorts = Enumerable.Range(0, 3).Select(_ => ChildProcess.FreePort()).ToList();
        var seeds = $"127.0.0.1:{akkaPorts[0]},127.0.0.1:{akkaPorts[1]}";
        for (var i = 0; i < 3; i++)
        {
            var environment = new Dictionary<string, string>
            {
                ["WS_HOST"] = "127.0.0.1",
                ["WS_PORT"] = httpPorts[i].ToString(),
                ["AKKA_HOSTNAME"] = "127.0.0.1",
                ["AKKA_PORT"] = akkaPorts[i].ToString(),
                ["AKKA_SEED_NODES"] = seeds,
                ["AKKA_SBR_STABLE_AFTER_MS"] = ((int)StableAfter.TotalMilliseconds).ToString(),
                ["UPDATE_INTERVALS_MS"] = $"accidents={(int)AccidentsInterval.TotalMilliseconds}",
                ["PUBLISH_API_KEY"] = ApiKey,
                ["SIMULATOR_SEED"] = "7",
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Logging__LogLevel__Default"] = "Warning",
                ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
            };
            var process = ChildProcess.Start($"node{i}", "dotnet", [dll], environment, _logs, Path.GetDirectoryName(dll));
            _nodes.Add(new Node(i, process, httpPorts[i], akkaPorts[i],
                new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPorts[i]}"), Timeout = TimeSpan.FromSeconds(10) }));
        }

        await Poll.UntilAsync(async () =>
        {
            foreach (var node in _nodes)
            {
                if (node.Process.HasExited) throw new Xunit.Sdk.XunitException($"{node.Process.Name} exited at start:\n{node.Process.Tail()}");
                if (!await ReadyAsync(node)) return false;
            }
            return (await ClusterStatsAsync(_nodes[0])).GetProperty("nodes").GetArrayLength() == 3;
        }, "three host processes Up in one cluster and ready", TimeSpan.FromSeconds(90));

        _nginxPort = ChildProcess.FreePort();
        _nginx = Nginx.Start(root, Path.Combine(_logs, "nginx"), _nginxPort, httpPorts);
        _viaNginx = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_nginxPort}"), Timeout = TimeSpan.FromSeconds(10) };
        await Poll.UntilAsync(async () =>
        {
            if (_nginx.HasExited) throw new Xunit.Sdk.XunitException($"nginx exited:\n{_nginx.Tail()}");
            try { return (await _viaNginx.GetAsync("/health")).IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
        }, "nginx answers", TimeSpan.FromSeconds(20));
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        if (_nginx is not null) await _nginx.DisposeAsync();
        foreach (var node in _nodes)
        {
            await node.Process.DisposeAsync();
            node.Http.Dispose();
        }
        _viaNginx?.Dispose();
        if (_passed) Directory.Delete(_logs, recursive: true);
        else output.WriteLine($"process logs (nodes, nginx): {_logs}");
    }

    [Fact]
    public async Task Three_processes_behind_nginx_deliver_once_survive_a_crash_and_leave_gracefully()
    {
        // ---- clients on every node, directly and through nginx (least_conn: one per node)
        var direct = new List<TestClient>();
        foreach (var node in _nodes) direct.Add(await Connect(node.Ws("?topics=accidents")));
        var balanced = new List<TestClient>();
        for (var i = 0; i < 3; i++) balanced.Add(await Connect(new Uri($"ws://127.0.0.1:{_nginxPort}/ws?topics=accidents")));
        var everyone = direct.Concat(balanced).ToList();
        foreach (var client in everyone)
        {
            var (_, snapshot) = await client.ExpectGreetingAsync();
            Assert.True(snapshot.GetProperty("data").GetProperty("cameras").GetArrayLength() > 0, "every node serves the whole SNAPSHOT");
        }
        var perNode = (await ClusterStatsAsync(_nodes[1])).GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("clients").GetInt32()).ToList();
        Assert.Equal([2, 2, 2], perNode);

        // ---- a publish on any node (here: through nginx) reaches every client once
        foreach (var node in _nodes) await WarmUpAsync(node, everyone);
        Assert.Equal(HttpStatusCode.Accepted, (await Publish(_viaNginx, "accidents", "via-nginx")).StatusCode);
        foreach (var node in _nodes) await Publish(node.Http, "accidents", $"end-{node.Index}"); // each after it, whichever node took it
        foreach (var client in everyone)
        {
            foreach (var node in _nodes)
                if (!client.Seen.Any(m => m.Carries($"end-{node.Index}"))) await client.NextAsync(m => m.Carries($"end-{node.Index}"));
            Assert.Equal(1, client.Seen.Count(m => m.Carries("via-nginx")));
        }

        // ---- kill -9 the node that holds the aggregator
        var holder = await HolderAsync(_nodes[0]);
        var survivors = _nodes.Where(n => n != holder).ToList();
        var survivorClient = direct[survivors[0].Index];
        var witness = await Connect(survivors[1].Ws("?topics=accidents")); // sees every message a survivor has
        await witness.ExpectGreetingAsync();
        var current = DateTimeOffset.UtcNow;
        await survivorClient.NextAsync(m => m.IsUpdateOf("accidents") && m.Timestamp() >= current); // a fresh one to measure from
        var killedAt = DateTimeOffset.UtcNow;
        var silence = LongestSilenceAsync(survivorClient, survivors[1], holder.Address, TimeSpan.FromSeconds(90));
        holder.Process.Kill();
        Assert.True(await holder.Process.WaitForExitAsync(TimeSpan.FromSeconds(10)));

        // Alerts published on a survivor while the aggregator and the sequencer move (they wait in the singleton proxy).
        for (var i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.Accepted, (await Publish(survivors[1].Http, "accidents", $"during-{i}")).StatusCode);

        var crashSilence = await silence;
        var crashResumed = survivorClient.Seen.First(m => m.IsUpdateOf("accidents") && m.Timestamp() > killedAt.AddSeconds(1)).Timestamp() - killedAt;
        await direct[survivors[1].Index].NextAsync(m => m.IsUpdateOf("accidents"));
        output.WriteLine($"crash (SIGKILL) of the aggregator's node: scheduled UPDATEs stopped for {crashSilence.TotalSeconds:0.0} s; " +
                         $"resumed on the new holder {crashResumed.TotalSeconds:0.0} s after the kill (stable-after {StableAfter.TotalSeconds} s, accidents every {AccidentsInterval.TotalMilliseconds} ms)");
        var lastDuring = await witness.NextAsync(m => m.Carries("during-4"), TimeSpan.FromSeconds(60));

        // Its clients lost their connection; through nginx they reconnect to a survivor with the positions they last saw,
        // and get every message they missed (the alerts above among them), then live ones: no gap, no duplicate, no SNAPSHOT.
        await direct[holder.Index].Closed.WaitAsync(TimeSpan.FromSeconds(20));
        var cut = balanced.Where(c => c.Closed.IsCompleted).Append(direct[holder.Index]).ToList();
        Assert.True(cut.Count >= 2);
        foreach (var lost in cut)
        {
            await lost.DrainAsync();
            var (epoch, offset) = lost.LastPosition("accidents") ?? throw new Xunit.Sdk.XunitException("the cut client saw no accidents message");
            var again = await ConnectWithRetry(new Uri($"ws://127.0.0.1:{_nginxPort}/ws?topics=accidents&since=accidents:{epoch}:{offset}"));
            Assert.Equal("connection", (await again.NextAsync()).Type());
            var resumed = await again.NextAsync();
            Assert.Equal("RESUMED", resumed.Type());
            Assert.True(resumed.GetProperty("topics").GetProperty("accidents").GetProperty("recovered").GetBoolean(), resumed.ToString());
            await again.NextAsync(m => m.Carries("during-4"), TimeSpan.FromSeconds(30));
            var received = again.Seen.Where(m => m.IsOnStream("accidents")).Select(m => m.Offset()).ToList();
            Assert.Equal(received.Distinct().Order(), received); // in order, none twice
            Assert.All(received, o => Assert.True(o > offset, $"offset {o} was already seen (resumed from {offset})"));
            // Every ALERT a survivor has since that position; of the UPDATEs a resume replays only the newest (each carries the
            // whole list), so the ones it superseded are not expected (docs/protocol.md, "Resume").
            var since = witness.Seen.Where(m => m.IsOnStream("accidents") && m.Offset() > offset && m.Offset() <= lastDuring.Offset()).ToList();
            var missing = since.Where(m => m.Type() == "ALERT").Select(m => m.Offset()).Except(received).ToList();
            Assert.True(missing.Count == 0, $"ALERTs missing after the resume: {string.Join(", ", missing)}; not replayed (superseded UPDATEs): " +
                                            string.Join(", ", since.Where(m => m.Type() != "ALERT").Select(m => m.Offset()).Except(received)));
            Assert.DoesNotContain(again.Seen, m => m.Type() == "SNAPSHOT");
            output.WriteLine($"a client of the killed node resumed from {epoch}:{offset}: {received.Count} messages replayed and live up to during-4, none missing");
        }

        // ---- SIGTERM the new holder: it closes its clients with 1012, hands the singleton over, exits
        var newHolder = await HolderAsync(survivors[0]);
        var last = survivors.Single(n => n != newHolder);
        var lastClient = direct[last.Index];
        current = DateTimeOffset.UtcNow;
        await lastClient.NextAsync(m => m.IsUpdateOf("accidents") && m.Timestamp() >= current); // a fresh one to measure from
        var leaveClock = Stopwatch.StartNew();
        var leaveSilence = LongestSilenceAsync(lastClient, last, newHolder.Address, TimeSpan.FromSeconds(60));
        newHolder.Process.Terminate();
        var status = await direct[newHolder.Index].Closed.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1012, (int?)status);
        Assert.True(await newHolder.Process.WaitForExitAsync(TimeSpan.FromSeconds(30)), $"{newHolder.Process.Name} did not exit after SIGTERM:\n{newHolder.Process.Tail()}");
        var exited = leaveClock.Elapsed;
        Assert.Equal(0, newHolder.Process.ExitCode);
        var handOver = await leaveSilence;
        output.WriteLine($"graceful leave (SIGTERM) of the aggregator's node: clients closed with 1012, process exited after {exited.TotalSeconds:0.0} s, " +
                         $"scheduled UPDATEs paused at most {handOver.TotalSeconds:0.0} s");
        Assert.Equal(last.Address, (await ClusterStatsAsync(last)).GetProperty("aggregator").GetString());
        _passed = true;
    }

    private async Task<TestClient> Connect(Uri uri)
    {
        var client = await TestClient.ConnectAsync(uri);
        _clients.Add(client);
        return client;
    }

    /// <summary>A client reconnecting with a short back-off, as a browser's reconnect loop does.</summary>
    private async Task<TestClient> ConnectWithRetry(Uri uri)
    {
        for (var attempt = 1; ; attempt++)
        {
            try { return await Connect(uri); }
            catch (System.Net.WebSockets.WebSocketException) when (attempt < 20) { await Task.Delay(250); }
        }
    }

    private static Task<HttpResponseMessage> Publish(HttpClient http, string? topic, string marker)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/publish")
        {
            Content = JsonContent.Create(new { type = "ALERT", topic, data = new { marker } }),
        };
        request.Headers.Add("X-Api-Key", ApiKey);
        return http.SendAsync(request);
    }

    private static async Task WarmUpAsync(Node origin, IReadOnlyList<TestClient> clients)
    {
        var n = 0;
        await Poll.UntilAsync(async () =>
        {
            await Publish(origin.Http, "accidents", $"warm-{origin.Index}-{++n}");
            foreach (var client in clients)
            {
                try
                {
                    await client.NextAsync(m => m.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.Object &&
                        d.TryGetProperty("marker", out var mk) && mk.GetString()!.StartsWith($"warm-{origin.Index}-"), TimeSpan.FromMilliseconds(500));
                }
                catch (Xunit.Sdk.XunitException) { return false; }
            }
            return true;
        }, $"a publish from node {origin.Index} reaches every node's clients", TimeSpan.FromSeconds(30));
    }

    private static async Task<bool> ReadyAsync(Node node)
    {
        try { return (await node.Http.GetAsync("/health/ready")).IsSuccessStatusCode; }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
    }

    /// <summary>As the key holder: node addresses and the aggregator's home are shown only to them.</summary>
    private static async Task<JsonElement> ClusterStatsAsync(Node node)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/stats?scope=cluster");
        request.Headers.Add("X-Api-Key", ApiKey);
        using var response = await node.Http.SendAsync(request);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<Node> HolderAsync(Node observer)
    {
        var address = (await ClusterStatsAsync(observer)).GetProperty("aggregator").GetString();
        return _nodes.Single(n => n.Address == address);
    }

    /// <summary>The longest pause of scheduled accidents UPDATEs until <paramref name="observer"/> sees the aggregator away from <paramref name="oldHome"/>.</summary>
    private static Task<TimeSpan> LongestSilenceAsync(TestClient client, Node observer, string oldHome, TimeSpan within) =>
        client.LongestUpdateGapAsync("accidents", async () =>
            (await ClusterStatsAsync(observer)).GetProperty("aggregator").GetString() is { } home && home != oldHome, within);

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Traffic.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Traffic.sln above {AppContext.BaseDirectory}");
    }
}
