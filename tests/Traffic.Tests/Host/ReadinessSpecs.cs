using System.Net;
using System.Text.Json;
using Traffic.Actors.Cluster;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Host;

/// <summary>
/// A cluster node wired as in production (a cluster of its own: AKKA_PORT set, no seed nodes):
/// the readiness health check's body and status, and the serializer bound to what crosses nodes.
/// </summary>
[Collection(LocalCluster.Name)]
[Trait("Speed", "Slow")]
public sealed class ReadinessSpecs : IAsyncLifetime
{
    private RunningService _node = null!;

    public async Task InitializeAsync() => _node = await RunningService.StartAsync(new Dictionary<string, string?>
    {
        ["SIMULATOR_ENABLED"] = "false",
        ["AKKA_HOSTNAME"] = "127.0.0.1",
        ["AKKA_PORT"] = "0",
    });

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task A_cluster_node_is_ready_once_up_synced_and_reached_by_every_member()
    {
        // Joining and syncing take a moment: 503 "not ready" with the same fields until then.
        HttpResponseMessage? ready = null;
        await Poll.UntilAsync(async () =>
        {
            ready = await _node.Http.GetAsync("/health/ready");
            var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(ready.StatusCode == HttpStatusCode.OK ? "ready" : "not ready", body.GetProperty("status").GetString());
            Assert.Contains(ready.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable });
            return ready.StatusCode == HttpStatusCode.OK;
        }, "the node becomes ready");

        Assert.Equal("""{"status":"ready","member":"up","snapshot":"synced","publishesFrom":"1/1","persistence":"none"}""",
            await ready!.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_cluster_nodes_akka_address_is_shown_only_to_the_holder_of_the_publish_key()
    {
        var address = Akka.Cluster.Cluster.Get(_node.System).SelfAddress.ToString(); // akka.tcp://traffic@127.0.0.1:PORT
        foreach (var query in new[] { "", "?scope=cluster" })
        {
            var open = await _node.Http.GetStringAsync("/api/stats" + query);
            Assert.DoesNotContain("akka", open);
            Assert.Contains("\"clients\"", open); // the counts stay public
            var keyed = await _node.StatsAsync(query);
            Assert.Contains(address, keyed.GetRawText());
        }
    }

    [Fact]
    public void What_crosses_between_nodes_is_bound_to_the_traffic_serializer()
    {
        var frame = ServerMessages.Published(ServerMessageType.Alert, Topic.Accidents, """{"severity":"high"}"""u8, DateTimeOffset.UtcNow);
        var serialization = _node.System.Serialization;
        Assert.IsType<TrafficSerializer>(serialization.FindSerializerFor(new RegistryCommands.PublishToTopic(Topic.Accidents, frame)));
        Assert.All(ClusterHosting.CrossNodeMessages, type => Assert.IsType<TrafficSerializer>(serialization.FindSerializerForType(type)));
    }
}
