using System.Net;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;
using Xunit.Abstractions;
using static Traffic.Tests.Ingest.IngestPayloads;

namespace Traffic.Tests.Ingest;

/// <summary>
/// MAX_ENTITIES_PER_TOPIC and MAX_STATE_BYTES through the real path: NGSI-LD notifications over HTTP,
/// SNAPSHOTs on real WebSocket clients, /metrics; and in a cluster, a state at its byte bound still
/// reaches every node (the bound keeps it under Akka.Remote's 4 MiB frame: no silent divergence).
/// </summary>
public sealed class StateLimitSpecs(ITestOutputHelper output)
{
    private static string Camera(int i, int nameLength = 10) =>
        $$"""{"id":"urn:ngsi-ld:Camera:LIM-{{i}}","type":"Camera","name":"{{new string('n', nameLength)}}","status":"active"}""";

    private static string[] CameraIds(JsonElement snapshot) =>
        snapshot.GetProperty("data").GetProperty("cameras").EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToArray();

    [Fact]
    public async Task A_state_at_its_byte_bound_reaches_the_other_node_whole()
    {
        // 100 cameras of ~48 KB: 4.8 MB offered, more than the 3 MiB bound and than the 4 MiB frame.
        await using var cluster = await LocalCluster.StartAsync(2, new Dictionary<string, string?>
        {
            ["SOURCES"] = "ngsi-ld",
            ["OUTBOUND_QUEUE_BYTES"] = (16 * 1024 * 1024).ToString(), // room for a SNAPSHOT over 4 MiB: what is pinned here is replication
        });
        for (var batch = 0; batch < 5; batch++)
        {
            var cameras = Enumerable.Range(batch * 20, 20).Select(i => Camera(i, nameLength: 48 * 1024)).ToArray();
            var response = await cluster[0].NotifyAsync(Notification(cameras));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // A notification is answered once the singleton aggregator has applied it (and the barrier behind it came back),
        // and the aggregator takes them in order: once a weather station sent after the cameras is in node 1's SNAPSHOT, all five batches are in.
        // (Not /metrics: in-process nodes share one process's meters, so the counters are not per node here.)
        const string Marker = "urn:ngsi-ld:WeatherObserved:LIM-MARKER";
        Assert.Equal(HttpStatusCode.OK, (await cluster[0].NotifyAsync(Notification(
            $$"""{"id":"{{Marker}}","type":"WeatherObserved","temperature":30}"""))).StatusCode);
        await Poll.UntilAsync(async () =>
        {
            await using var client = await cluster[0].ConnectAsync("/ws?topics=weather");
            var snapshot = (await client.ExpectGreetingAsync()).Snapshot;
            return snapshot.GetProperty("data").GetProperty("weather").EnumerateArray().Any(e => e.GetProperty("id").GetString() == Marker);
        }, "node 1's aggregator to have taken every notification", TimeSpan.FromSeconds(60));
        string[] held;
        await using (var first = await cluster[0].ConnectAsync("/ws?topics=weather"))
            held = CameraIds((await first.ExpectGreetingAsync()).Snapshot);
        output.WriteLine($"node 1 holds {held.Length} of 100 cameras");
        Assert.InRange(held.Length, 50, 99); // cut at the bound, not empty

        // The other node serves SNAPSHOTs from its replica: it must come to hold the very same list.
        await Poll.UntilAsync(async () =>
        {
            await using var second = await cluster[1].ConnectAsync("/ws?topics=weather");
            return CameraIds((await second.ExpectGreetingAsync()).Snapshot).SequenceEqual(held);
        }, "node 2's SNAPSHOT to hold node 1's cameras", TimeSpan.FromSeconds(60));
    }
}
