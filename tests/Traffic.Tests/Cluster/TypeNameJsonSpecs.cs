using System.Runtime.Serialization;
using System.Text;
using Traffic.Actors.Cluster;
using Traffic.Actors.Routing;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Cluster;

/// <summary>
/// A cluster node builds no type a peer names: a frame that names Akka's type-name JSON serializer
/// (id 1) is refused, whatever the type, and nothing of ours is sent through it.
/// </summary>
[Collection(LocalCluster.Name)]
[Trait("Speed", "Slow")]
public sealed class TypeNameJsonSpecs
{
    [Fact]
    public async Task A_cluster_node_refuses_a_frame_in_type_name_JSON_and_still_serializes_every_cross_node_message_with_ours()
    {
        await using var cluster = await LocalCluster.StartAsync(1);
        var serialization = cluster[0].System.Serialization;

        // What a peer could send: serializer 1 and a type of its choosing.
        var forged = Encoding.UTF8.GetBytes("""{"Path":"/tmp/anything"}""");
        var refused = Assert.Throws<SerializationException>(() =>
            serialization.Deserialize(forged, TypeNameJsonRefused.JsonSerializerId, typeof(Dictionary<string, object>).AssemblyQualifiedName!));
        Assert.Contains("refused", refused.Message);

        // Ours: every message that crosses nodes has our serializer, not the fallback.
        foreach (var type in ClusterHosting.CrossNodeMessages)
            Assert.Equal(TrafficSerializer.SerializerId, serialization.FindSerializerForType(type).Identifier);
        // A type nobody bound is not sent at all.
        Assert.ThrowsAny<Exception>(() => serialization.FindSerializerForType(typeof(FileInfo)).ToBinary(new FileInfo("/tmp/x")));
    }
}
