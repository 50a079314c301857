using System.Collections.Immutable;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Cluster;
using Traffic.Actors.Protocol;
using Xunit;

namespace Traffic.Tests.Ingest;

/// <summary>The ingest's cross-node messages (a notification at any node, the aggregator singleton elsewhere) round-trip through TrafficSerializer.</summary>
public sealed class IngestSerializationSpecs() : TestKit(BootstrapSetup.Create()
    .WithConfig(ConfigurationFactory.ParseString("akka.actor.provider = local"))
    .And(SerializationSetup.Create(system => ImmutableHashSet.Create(SerializerDetails.Create(ClusterHosting.SerializerName,
        new TrafficSerializer(system), ClusterHosting.CrossNodeMessages.ToImmutableHashSet())))))
{
    private T RoundTrip<T>(T message) where T : notnull
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<TrafficSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        return Assert.IsType<T>(Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest));
    }

    [Fact]
    public void Upserts_with_their_conditional_alerts_removals_and_acknowledgements_round_trip()
    {
        var entity = new EntityJson("urn:ngsi-ld:AirQualityObserved:Q1", Encoding.UTF8.GetBytes("""{"id":"urn:ngsi-ld:AirQualityObserved:Q1","name":"Ngã Sáu","aqi":171}"""));
        var alert = new AggregatorCommands.ConditionalAlert(entity.Id, AggregatorCommands.AlertCondition.CrossedAbove, "aqi", 150.5, Encoding.UTF8.GetBytes("""{"alertType":"airQualityThreshold"}"""));
        var upsert = RoundTrip(new AggregatorCommands.UpsertEntities(Topic.AirQuality, [entity], [alert]));
        Assert.Equal(Topic.AirQuality, upsert.Topic);
        Assert.Equal(entity.Id, upsert.Entities.Single().Id);
        Assert.Equal(entity.Utf8Json, upsert.Entities.Single().Utf8Json);
        var back = upsert.Alerts.Single();
        Assert.Equal((alert.EntityId, alert.Condition, alert.Field, alert.Threshold), (back.EntityId, back.Condition, back.Field, back.Threshold));
        Assert.Equal(alert.DataJson, back.DataJson);

        var plain = RoundTrip(new AggregatorCommands.UpsertEntities(Topic.Cameras, []));
        Assert.Empty(plain.Entities);
        Assert.Empty(plain.Alerts);

        var removal = RoundTrip(new AggregatorCommands.RemoveEntities(Topic.Accidents, ["urn:ngsi-ld:RoadAccident:1", "urn:ngsi-ld:RoadAccident:ü"]));
        Assert.Equal(Topic.Accidents, removal.Topic);
        Assert.Equal(["urn:ngsi-ld:RoadAccident:1", "urn:ngsi-ld:RoadAccident:ü"], removal.Ids);

        Assert.Same(AggregatorCommands.EntitiesApplied.Instance, RoundTrip(AggregatorCommands.EntitiesApplied.Instance));
        Assert.Same(AggregatorCommands.ConfirmKept.Instance, RoundTrip(AggregatorCommands.ConfirmKept.Instance));
        Assert.Same(AggregatorCommands.Kept.Instance, RoundTrip(AggregatorCommands.Kept.Instance));
        Assert.Equal("the database is unreachable (ü)", RoundTrip(new AggregatorCommands.NotKept("the database is unreachable (ü)")).Reason);
    }
}
