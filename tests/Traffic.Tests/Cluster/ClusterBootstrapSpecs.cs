using System.Net.Http.Json;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Traffic.Tests.Cluster;

/// <summary>
/// A cluster that forms by itself (docs/operations.md, "Discovery"): host processes (the built
/// Traffic.Host.dll) on 127.0.0.1 with config discovery and no seed list. Three started together
/// form one cluster with one aggregator; a fourth started later joins it; one killed with SIGKILL
/// and started again on the same ports joins again. Every wait is bounded; every process is ended by its PID.
/// </summary>
[Collection(LocalCluster.Name)]
[Trait("Speed", "Slow")]
public sealed class ClusterBootstrapSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>Generous: four .NET processes start on two shared cores, beside other work.</summary>
    private static readonly TimeSpan FormsWithin = TimeSpan.FromSeconds(150);

    private sealed record Ports(int Http, int Akka, int Management)
    {
        public string Address => $"akka.tcp://traffic@127.0.0.1:{Akka}";
        public string Endpoint => $"127.0.0.1:{Management}";
    }

    private sealed class Node(string name, Ports ports, ChildProcess process) : IAsyncDisposable
    {
        public string Name { get; } = name;
        public Ports Ports { get; } = ports;
        public ChildProcess Process { get; set; } = process;
        public HttpClient Http { get; } = new() { BaseAddress = new Uri($"http://127.0.0.1:{ports.Http}"), Timeout = TimeSpan.FromSeconds(10) };
        public HttpClient Management { get; } = new() { BaseAddress = new Uri($"http://127.0.0.1:{ports.Management}"), Timeout = TimeSpan.FromSeconds(10) };

        public async ValueTask DisposeAsync()
        {
            await Process.DisposeAsync();
            Http.Dispose();
            Management.Dispose();
        }
    }

    private readonly List<Node> _nodes = [];
    private readonly string _logs = Path.Combine(Path.GetTempPath(), $"traffic-bootstrap-{Guid.NewGuid():N}");
    private bool _passed;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_logs);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes) await node.DisposeAsync();
        if (_passed) Directory.Delete(_logs, recursive: true);
        else output.WriteLine($"process logs: {_logs}");
    }

    [Fact]
    public async Task Nodes_with_config_discovery_form_one_cluster_and_a_later_or_restarted_node_joins_it()
    {
        // ---- three started together, no seed list: one cluster, one aggregator
        var first = Enumerable.Range(0, 3).Select(_ => FreePorts()).ToList();
        var endpoints = string.Join(",", first.Select(p => p.Endpoint));
        for (var i = 0; i < 3; i++) _nodes.Add(new Node($"node{i}", first[i], Start($"node{i}", first[i], endpoints)));
        var formed = await OneClusterAsync(_nodes, "three nodes started together");
        output.WriteLine($"three nodes: one cluster ({string.Join(", ", formed.Members)}), aggregator on {formed.Aggregator}");

        // The contact point answers on the management port, with the members as Akka.Management's route does; the service's port does not serve it.
        var seeds = await _nodes[1].Management.GetFromJsonAsync<JsonElement>("/bootstrap/seed-nodes");
        Assert.Equal(first[1].Akka, seeds.GetProperty("SelfNode").GetProperty("Port").GetInt32());
        Assert.Equal(3, seeds.GetProperty("Nodes").GetArrayLength());
        Assert.Equal(404, (int)(await _nodes[1].Http.GetAsync("/bootstrap/seed-nodes")).StatusCode);
        Assert.Equal(404, (int)(await _nodes[1].Management.GetAsync("/api/stats")).StatusCode);

        // ---- a fourth, started later (its list names every node, itself too): it joins the cluster that is there
        var fourth = FreePorts();
        var withFourth = endpoints + "," + fourth.Endpoint;
        _nodes.Add(new Node("node3", fourth, Start("node3", fourth, withFourth)));
        var grown = await OneClusterAsync(_nodes, "a fourth node started later");
        Assert.Equal(formed.Aggregator, grown.Aggregator); // the cluster it joined, not a new one
        output.WriteLine($"a fourth node joined: {grown.Members.Count} members, aggregator still on {grown.Aggregator}");

        // ---- one killed (SIGKILL) and started again on the same ports: it joins again
        var victim = _nodes[1];
        victim.Process.Kill();
        Assert.True(await victim.Process.WaitForExitAsync(TimeSpan.FromSeconds(20)), $"{victim.Name} did not die");
        await victim.Process.DisposeAsync();
        victim.Process = Start(victim.Name + "-again", victim.Ports, endpoints);
        var rejoined = await OneClusterAsync(_nodes, $"{victim.Name} killed and started again on the same ports");
        Assert.Contains(victim.Ports.Address, rejoined.Members);
        output.WriteLine($"{victim.Name} killed and started again: {rejoined.Members.Count} members, aggregator on {rejoined.Aggregator}");
        _passed = true;
    }

    private sealed record ClusterView(IReadOnlyList<string> Members, string Aggregator);

    /// <summary>
    /// Waits until every node is ready and sees the same members, exactly <paramref name="nodes"/>, all up,
    /// and the same aggregator: one cluster. Two clusters never pass (a node would see only its own members).
    /// </summary>
    private async Task<ClusterView> OneClusterAsync(IReadOnlyList<Node> nodes, string what)
    {
        var expected = nodes.Select(n => n.Ports.Address).Order().ToList();
        ClusterView? agreed = null;
        var last = "";
        try
        {
            await Poll.UntilAsync(async () =>
            {
                var views = new List<ClusterView>();
                foreach (var node in nodes)
                {
                    if (node.Process.HasExited)
                        throw new Xunit.Sdk.XunitException($"{node.Process.Name} exited ({node.Process.ExitCode}):\n{node.Process.Tail()}");
                    var view = await ViewAsync(node);
                    if (view is null) { last = $"{node.Name} not ready"; await Task.Delay(250); return false; }
                    views.Add(view);
                }
                last = string.Join("; ", nodes.Zip(views, (n, v) => $"{n.Name}: [{string.Join(", ", v.Members)}] aggregator {v.Aggregator}"));
                if (views.Any(v => !v.Members.SequenceEqual(expected)) || views.Select(v => v.Aggregator).Distinct().Count() != 1)
                {
                    await Task.Delay(250);
                    return false;
                }
                agreed = views[0];
                return true;
            }, $"{what}: one cluster of {nodes.Count} ({string.Join(", ", nodes.Select(n => n.Name))})", FormsWithin);
        }
        catch (Xunit.Sdk.XunitException)
        {
            output.WriteLine($"last seen: {last}");
            throw;
        }
        return agreed!;
    }

    /// <summary>What one node sees: the members that are up, and where the aggregator runs; null while it is not ready.</summary>
    private static async Task<ClusterView?> ViewAsync(Node node)
    {
        try
        {
            if (!(await node.Http.GetAsync("/health/ready")).IsSuccessStatusCode) return null;
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/stats?scope=cluster");
            request.Headers.Add("X-Api-Key", HostProcess.ApiKey);
            using var response = await node.Http.SendAsync(request);
            if (!response.IsSuccessStatusCode) return null;
            var stats = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (stats.GetProperty("aggregator").GetString() is not { } aggregator) return null;
            var members = stats.GetProperty("nodes").EnumerateArray()
                .Where(n => n.GetProperty("status").GetString() == "up")
                .Select(n => n.GetProperty("node").GetString()!).Order().ToList();
            return new ClusterView(members, aggregator);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return null; }
    }

    private static Ports FreePorts() => new(ChildProcess.FreePort(), ChildProcess.FreePort(), ChildProcess.FreePort());

    /// <summary>A node as an operator starts it with config discovery (bootstrap timings shortened for the spec).</summary>
    private ChildProcess Start(string name, Ports ports, string endpoints)
    {
        var dll = HostProcess.Dll();
        var environment = new Dictionary<string, string>
        {
            ["WS_HOST"] = "127.0.0.1",
            ["WS_PORT"] = ports.Http.ToString(),
            ["AKKA_HOSTNAME"] = "127.0.0.1",
            ["AKKA_PORT"] = ports.Akka.ToString(),
            ["AKKA_DISCOVERY"] = "config",
            ["AKKA_DISCOVERY_ENDPOINTS"] = endpoints,
            ["AKKA_MANAGEMENT_PORT"] = ports.Management.ToString(),
            ["AKKA_BOOTSTRAP_STABLE_MARGIN_MS"] = "2000",
            ["AKKA_BOOTSTRAP_PROBE_INTERVAL_MS"] = "1000",
            // The split brain resolver keeps its default (7 s): with 3 s, on a loaded machine, a node whose heartbeats were late
            // saw the kill as instability and downed every node (SBR's DownAll) before the killed node was back.
            ["PUBLISH_API_KEY"] = HostProcess.ApiKey,
            ["PERSISTENCE"] = "none",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Akka"] = "Information",
        };
        return ChildProcess.Start(name, "dotnet", [dll], environment, _logs, Path.GetDirectoryName(dll));
    }
}
