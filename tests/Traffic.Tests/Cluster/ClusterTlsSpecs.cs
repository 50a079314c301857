using System.Net.Http.Json;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Traffic.Tests.Cluster;

/// <summary>
/// Mutual TLS between nodes, as an operator runs it: host processes (the built Traffic.Host.dll)
/// with AKKA_TLS_* pointing at certificates this spec makes (a cluster CA, node certificates it
/// signed, and one signed by another CA). Nodes with the cluster's certificates form one cluster
/// over akka.ssl.tcp; a node whose certificate another CA signed is refused at the handshake and
/// never becomes a member, while a node with a right certificate still joins. Every wait is a
/// condition with a bound; every process is ended by its PID.
/// </summary>
[Collection(LocalCluster.Name)]
[Trait("Speed", "Slow")]
public sealed class ClusterTlsSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    private const string ApiKey = "tls-spec-publish-key";

    private sealed record Node(string Name, ChildProcess Process, int HttpPort, int AkkaPort, HttpClient Http)
    {
        public string Address => $"akka.ssl.tcp://traffic@127.0.0.1:{AkkaPort}";
    }

    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"traffic-cluster-tls-{Guid.NewGuid():N}");
    private readonly List<Node> _nodes = [];
    private readonly List<TestClient> _clients = [];
    private bool _passed;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        foreach (var node in Enumerable.Reverse(_nodes))
        {
            await node.Process.DisposeAsync();
            node.Http.Dispose();
        }
        if (_passed) Directory.Delete(_directory, recursive: true);
        else output.WriteLine($"process logs and certificates: {_directory}");
    }

    [Fact]
    public async Task Nodes_with_the_cluster_CA_s_certificates_form_a_cluster_and_a_node_signed_by_another_CA_never_joins()
    {
        var cluster = new TestCertificates(Path.Combine(_directory, "cluster-ca"), "traffic-cluster-ca");
        var other = new TestCertificates(Path.Combine(_directory, "other-ca"), "some-other-ca");

        // ---- two nodes with the cluster's certificates: one cluster, over TLS
        var a = Start("node-a", cluster.Node("node-a"), cluster.AuthorityPath, seed: null);
        var b = Start("node-b", cluster.Node("node-b"), cluster.AuthorityPath, seed: a);
        await Poll.UntilAsync(async () => await ReadyAsync(a) && await ReadyAsync(b) && await MembersAsync(a) == 2 && await MembersAsync(b) == 2,
            "two TLS nodes Up in one cluster and ready", TimeSpan.FromSeconds(90));
        Assert.Equal(new[] { a.Address, b.Address }.Order(), (await NodesAsync(a)).Order()); // akka.ssl.tcp: remoting runs over TLS

        // A publish on one node reaches a client of the other.
        var client = await TestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{b.HttpPort}/ws?topics=accidents"));
        _clients.Add(client);
        await client.ExpectGreetingAsync();
        var n = 0;
        await Poll.UntilAsync(async () =>
        {
            var marker = $"over-tls-{++n}";
            await PublishAsync(a, marker);
            try { await client.NextAsync(m => m.Carries(marker), TimeSpan.FromSeconds(1)); return true; }
            catch (Xunit.Sdk.XunitException) { return false; }
        }, "a publish on node a reaches a client of node b", TimeSpan.FromSeconds(30));

        // ---- a node whose certificate another CA signed, trusting the cluster's CA, seeded at the cluster
        var intruder = Start("intruder", other.Node("intruder"), cluster.AuthorityPath, seed: a);
        // It has tried: a good node refused its certificate at the handshake (logged once, with the reason).
        // (Or it got in: then the spec fails below, on the membership, not on a timeout.)
        await Poll.UntilAsync(async () => RefusalsOfIntruder(a).Count > 0 || (await NodesAsync(a)).Contains(intruder.Address),
            "node a logs the intruder's refused handshake", TimeSpan.FromSeconds(60));
        Assert.DoesNotContain(intruder.Address, await NodesAsync(a));
        Assert.Equal(2, await MembersAsync(a));
        Assert.Equal(2, await MembersAsync(b));
        var refusal = RefusalsOfIntruder(a)[0];
        output.WriteLine(refusal);
        Assert.Contains("does not chain to the cluster CA", refusal);
        Assert.Contains("CN=some-other-ca", refusal);
        Assert.DoesNotContain("PRIVATE KEY", Log(a));

        // ---- a node with the cluster's certificate still joins, while the intruder keeps trying
        var c = Start("node-c", cluster.Node("node-c"), cluster.AuthorityPath, seed: a);
        await Poll.UntilAsync(async () => await ReadyAsync(c) && await MembersAsync(a) == 3 && await MembersAsync(c) == 3,
            "node c (the cluster's certificate) joins", TimeSpan.FromSeconds(90));

        // The intruder, still running and still trying, is no member on any good node, and not ready itself.
        Assert.False(intruder.Process.HasExited, "the intruder exited:\n" + intruder.Process.Tail());
        foreach (var node in new[] { a, b, c })
        {
            var nodes = await NodesAsync(node);
            Assert.Equal(3, nodes.Count);
            Assert.DoesNotContain(intruder.Address, nodes);
        }
        Assert.False(await ReadyAsync(intruder), "the intruder says it is Up in a cluster");
        // It kept trying meanwhile (its join is retried every few seconds): still one line per node.
        Assert.Single(RefusalsOfIntruder(a));
        Assert.True(RefusalsOfIntruder(b).Count <= 1);
        _passed = true;
    }

    private Node Start(string name, string certificate, string authority, Node? seed)
    {
        var httpPort = ChildProcess.FreePort();
        var akkaPort = ChildProcess.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["WS_HOST"] = "127.0.0.1",
            ["WS_PORT"] = httpPort.ToString(),
            ["AKKA_HOSTNAME"] = "127.0.0.1",
            ["AKKA_PORT"] = akkaPort.ToString(),
            ["AKKA_TLS_CERT_PATH"] = certificate,
            ["AKKA_TLS_CERT_PASSWORD"] = TestCertificates.Password,
            ["AKKA_TLS_CA_PATH"] = authority,
            ["AKKA_SBR_STABLE_AFTER_MS"] = "2000",
            ["PUBLISH_API_KEY"] = ApiKey,
            ["SIMULATOR_ENABLED"] = "false",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        // No seed: this node starts the cluster (joins itself).
        if (seed is not null) environment["AKKA_SEED_NODES"] = $"127.0.0.1:{seed.AkkaPort}";
        var dll = HostDll();
        var process = ChildProcess.Start(name, "dotnet", [dll], environment, _directory, Path.GetDirectoryName(dll));
        var node = new Node(name, process, httpPort, akkaPort,
            new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(10) });
        _nodes.Add(node);
        return node;
    }

    private static string Log(Node node)
    {
        using var stream = new FileStream(node.Process.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }

    private static List<string> RefusalsOfIntruder(Node node) =>
        Log(node).Split('\n').Where(line => line.Contains("Refused a cluster peer") && line.Contains("CN=intruder")).Select(line => line.Trim()).ToList();

    private static async Task<bool> ReadyAsync(Node node)
    {
        if (node.Process.HasExited) throw new Xunit.Sdk.XunitException($"{node.Name} exited with {node.Process.ExitCode}:\n{node.Process.Tail()}");
        try { return (await node.Http.GetAsync("/health/ready")).IsSuccessStatusCode; }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
    }

    /// <summary>The members this node lists in GET /api/stats?scope=cluster.</summary>
    private static async Task<List<string>> NodesAsync(Node node)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/stats?scope=cluster");
        request.Headers.Add("X-Api-Key", ApiKey); // node addresses are shown only to the key holder
        using var response = await node.Http.SendAsync(request);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("nodes").EnumerateArray()
            .Select(n => n.GetProperty("node").GetString()!).ToList();
    }

    private static async Task<int> MembersAsync(Node node)
    {
        try { return (await NodesAsync(node)).Count; }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException) { return 0; }
    }

    private static Task<HttpResponseMessage> PublishAsync(Node node, string marker)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/publish")
        {
            Content = JsonContent.Create(new { type = "ALERT", topic = "accidents", data = new { marker } }),
        };
        request.Headers.Add("X-Api-Key", ApiKey);
        return node.Http.SendAsync(request);
    }

    internal static string HostDll()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Traffic.sln")))
            {
                var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/<configuration>/net10.0
                var dll = Path.Combine(dir.FullName, "src", "Traffic.Host", "bin", configuration, "net10.0", "Traffic.Host.dll");
                Assert.True(File.Exists(dll), $"{dll} is missing: build the solution first");
                return dll;
            }
        throw new InvalidOperationException($"no Traffic.sln above {AppContext.BaseDirectory}");
    }
}
