using System.Text;
using System.Text.Json;
using Traffic.Actors.Protocol;
using Xunit;

namespace Traffic.Tests.Protocol;

/// <summary>
/// The encoder reuses one buffer and JSON writer per thread: every frame must still be whole, its
/// own copy, and unharmed by the frames encoded before it on the same thread (a big one included).
/// (Threads never share an encoder: it is [ThreadStatic]. A spec that had threads race for one
/// shared encoder did not fail on this machine when the attribute was removed, so there is none.)
/// </summary>
public sealed class FrameEncodingSpecs
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 10, 30, 0, TimeSpan.Zero);

    private static JsonElement Json(ServerFrame frame) => JsonDocument.Parse(frame.Utf8Json).RootElement;

    [Fact]
    public void Frames_encoded_one_after_another_are_each_whole_and_their_own_copy()
    {
        var first = ServerMessages.Connection("client-a", TopicSet.Of(Topic.Cameras), TimeSpan.FromSeconds(10), Now);
        var second = ServerMessages.Connection("client-b", TopicSet.All, TimeSpan.FromSeconds(10), Now);

        Assert.NotSame(first.Utf8Json, second.Utf8Json);
        Array.Fill(first.Utf8Json, (byte)'x'); // a frame is handed to many sockets: no later encoding may write into it
        var json = Json(second);
        Assert.Equal("client-b", json.GetProperty("clientId").GetString());
        Assert.Equal(6, json.GetProperty("topics").GetArrayLength());
    }

    [Fact]
    public void A_small_frame_after_a_snapshot_bigger_than_the_kept_buffer_is_exact()
    {
        var big = Enumerable.Range(0, 2_000)
            .Select(i => new EntityJson($"cam-{i}", Encoding.UTF8.GetBytes($$"""{"id":"cam-{{i}}","note":"{{new string('n', 40)}}"}""")))
            .ToList();
        var snapshot = ServerMessages.Snapshot(new Dictionary<Topic, IReadOnlyList<EntityJson>> { [Topic.Cameras] = big }, Now);
        Assert.True(snapshot.Utf8Json.Length > 64 * 1024);
        Assert.Equal(2_000, Json(snapshot).GetProperty("data").GetProperty("cameras").GetArrayLength());

        var error = ServerMessages.Error("bad", "nope", Now);
        Assert.Equal("""{"type":"ERROR","error":"bad","message":"nope","timestamp":"2026-12-07T10:30:00.000Z"}""",
            Encoding.UTF8.GetString(error.Utf8Json));
    }
}
