using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Xunit;

namespace Traffic.Tests.Support;

/// <summary>
/// Several real hosts in this process, each with its own actor system, clustered over Akka.Remote
/// on 127.0.0.1 (ports chosen by the OS): the first node joins itself, the others join it, so the
/// first is the oldest and holds the singletons. Timings are shortened for specs: the split brain
/// resolver decides after <see cref="StableAfter"/>.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LocalCluster : IAsyncDisposable
{
    /// <summary>Cluster specs run alone: on two shared cores, parallel specs could starve a node's heartbeats.</summary>
    public const string Name = "cluster";

    public static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(2);

    private LocalCluster(List<RunningService> nodes) => Nodes = nodes;

    public List<RunningService> Nodes { get; }

    public RunningService this[int index] => Nodes[index];

    /// <summary>
    /// Akka settings of every spec node: a crash is simulated by terminating the actor system
    /// without leaving the cluster (<see cref="Crash"/>), which this makes possible.
    /// </summary>
    private static void SpecAkka(AkkaConfigurationBuilder akka) =>
        akka.AddHocon("""
            akka.coordinated-shutdown.run-by-actor-system-terminate = off
            akka.loglevel = WARNING
            """, HoconAddMode.Prepend);

    public static async Task<LocalCluster> StartAsync(int size, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var nodes = new List<RunningService>();
        try
        {
            for (var i = 0; i < size; i++)
            {
                var all = new Dictionary<string, string?>
                {
                    ["AKKA_HOSTNAME"] = "127.0.0.1",
                    ["AKKA_PORT"] = "0",
                    ["AKKA_SBR_STABLE_AFTER_MS"] = ((int)StableAfter.TotalMilliseconds).ToString(),
                    // Nodes that stop log association errors with stack traces: expected here, noise in CI's output.
                    ["Logging:LogLevel:Akka"] = "Critical",
                };
                if (i > 0) all["AKKA_SEED_NODES"] = AddressOf(nodes[0]).ToString();
                foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
                nodes.Add(await RunningService.StartAsync(all, SpecAkka));
            }
            var cluster = new LocalCluster(nodes);
            await cluster.WaitUntilReadyAsync();
            return cluster;
        }
        catch
        {
            foreach (var node in nodes) await node.DisposeAsync();
            throw;
        }
    }

    public static Address AddressOf(RunningService node) => Akka.Cluster.Cluster.Get(node.System).SelfAddress;

    /// <summary>Every node sees every node Up and answers /health/ready.</summary>
    public Task WaitUntilReadyAsync() =>
        Poll.UntilAsync(async () =>
        {
            foreach (var node in Nodes)
            {
                var state = Akka.Cluster.Cluster.Get(node.System).State;
                if (state.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) != Nodes.Count || !state.Unreachable.IsEmpty) return false;
                if (!(await node.Http.GetAsync("/health/ready")).IsSuccessStatusCode) return false;
            }
            return true;
        }, $"{Nodes.Count} nodes Up and ready", TimeSpan.FromSeconds(60));

    /// <summary>The node's view of where the aggregator singleton runs (GET /api/stats?scope=cluster).</summary>
    public static async Task<string?> AggregatorSeenByAsync(RunningService node) =>
        (await node.StatsAsync("?scope=cluster")).GetProperty("aggregator").GetString();

    /// <summary>
    /// The node vanishes as a crashed process would, as far as the cluster can tell: its actor
    /// system stops without leaving (no Leave gossip, no hand-over), so the others find it
    /// unreachable and the split brain resolver downs it.
    /// </summary>
    public async Task Crash(RunningService node)
    {
        await node.System.Terminate();
        Nodes.Remove(node);
        _crashed.Add(node);
    }

    private readonly List<RunningService> _crashed = [];

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes.AsEnumerable().Reverse()) await node.DisposeAsync();
        foreach (var node in _crashed) await node.DisposeAsync();
    }
}

public static class ClusterMessages
{
    public static bool Carries(this JsonElement message, string marker) =>
        message.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object &&
        data.TryGetProperty("marker", out var m) && m.GetString() == marker;

    /// <summary>A published message's <c>data.marker</c>, or its type in brackets (to show in a failed assertion).</summary>
    public static string Marker(this JsonElement message) =>
        message.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object && data.TryGetProperty("marker", out var marker)
            ? marker.GetString()!
            : $"({message.Type()})";

    public static bool IsUpdateOf(this JsonElement message, string topic) =>
        message.Type() == "UPDATE" && message.TryGetProperty("topic", out var t) && t.GetString() == topic;

    public static DateTimeOffset Timestamp(this JsonElement message) =>
        DateTimeOffset.Parse(message.GetProperty("timestamp").GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads a client's scheduled UPDATEs of <paramref name="topic"/> until <paramref name="moved"/>
    /// holds (checked after each) and three more have arrived; returns the longest gap between the
    /// timestamps of two consecutive ones (stamped by the aggregator when it sent them, so a slow
    /// reader does not stretch it): how long scheduled UPDATEs stopped while the singleton moved.
    /// </summary>
    public static async Task<TimeSpan> LongestUpdateGapAsync(this TestClient client, string topic, Func<Task<bool>> moved, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        // From the last one already taken, if any: the pause may have begun before this call.
        DateTimeOffset? last = client.Seen.Where(m => m.IsUpdateOf(topic)).Select(m => (DateTimeOffset?)m.Timestamp()).LastOrDefault();
        var longest = TimeSpan.Zero;
        var afterMove = 0;
        while (afterMove < 3)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new Xunit.Sdk.XunitException($"scheduled {topic} UPDATEs did not resume within {within.TotalSeconds} s");
            var stamp = (await client.NextAsync(m => m.IsUpdateOf(topic), left)).Timestamp();
            if (last is { } previous && stamp - previous > longest) longest = stamp - previous;
            last = stamp;
            if (afterMove > 0 || await moved()) afterMove++;
        }
        return longest;
    }
}
