using System.Collections.Immutable;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Cluster;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Actors.Sources;
using Xunit;

namespace Traffic.Tests.Cluster;

/// <summary>Every message that crosses between nodes goes through the binary serializer bound to ClusterHosting.CrossNodeMessages, and comes back the same.</summary>
public sealed class TrafficSerializerSpecs() : TestKit(BootstrapSetup.Create()
    .WithConfig(ConfigurationFactory.ParseString("akka.actor.provider = local")) // no remoting needed to serialize
    .And(SerializationSetup.Create(system => ImmutableHashSet.Create(SerializerDetails.Create(ClusterHosting.SerializerName,
        new TrafficSerializer(system), ClusterHosting.CrossNodeMessages.ToImmutableHashSet())))))
{
    private static EntityJson Entity(string id) => new(id, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","name":"Nguyễn Huệ"}"""));

    private T RoundTrip<T>(T message) where T : notnull
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<TrafficSerializer>(serializer); // bound to it, not the default JSON serializer
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        var bytes = serializer.ToBinary(message);
        return Assert.IsType<T>(Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest));
    }

    [Fact]
    public void A_published_frame_travels_as_its_encoded_bytes()
    {
        var frame = ServerMessages.Published(ServerMessageType.Alert, Topic.Accidents, """{"severity":"high"}"""u8, DateTimeOffset.UtcNow);
        var toTopic = RoundTrip(new RegistryCommands.PublishToTopic(Topic.Accidents, frame));
        Assert.Equal(Topic.Accidents, toTopic.Topic);
        Assert.Equal(ServerMessageType.Alert, toTopic.Frame.Type);
        Assert.Equal(Topic.Accidents, toTopic.Frame.Topic);
        Assert.Equal(frame.Utf8Json, toTopic.Frame.Utf8Json);

        var toAll = RoundTrip(new RegistryCommands.PublishToAll(ServerMessages.Published(ServerMessageType.Update, null, "[1,2]"u8, DateTimeOffset.UtcNow)));
        Assert.Null(toAll.Frame.Topic);
        Assert.Equal(ServerMessageType.Update, toAll.Frame.Type);
        Assert.Contains("[1,2]", Encoding.UTF8.GetString(toAll.Frame.Utf8Json));

        // The envelope around an unnumbered frame's bytes is four bytes.
        var serializer = Sys.Serialization.FindSerializerFor(toAll);
        Assert.Equal(frame.Utf8Json.Length + 4, serializer.ToBinary(new RegistryCommands.PublishToTopic(Topic.Accidents, frame)).Length);
    }

    [Fact]
    public void A_numbered_frame_keeps_its_position_and_its_delta()
    {
        var sequence = new FrameSequence("k3x9ab12", 1_000_042, 41);
        var frame = ServerMessages.Update(Topic.Cameras, [Entity("c1"), Entity("c2")], DateTimeOffset.UtcNow, sequence,
            new EntityChanges(40, [Entity("c2")], ["c9"]));
        var copy = RoundTrip(new RegistryCommands.PublishToTopic(Topic.Cameras, frame)).Frame;
        Assert.Equal(sequence, copy.Sequence);
        Assert.Equal(frame.Utf8Json, copy.Utf8Json);
        Assert.Equal(40, copy.Delta!.BaseOffset);
        Assert.Equal(frame.Delta!.Utf8Json, copy.Delta.Utf8Json);
        Assert.Equal(Topic.Cameras, copy.ConflationTopic);

        var heads = RoundTrip(new RegistryCommands.AnnounceHeads([new StreamPosition("k3x9ab12", 7), null, null, null, null, null, new StreamPosition("zz", 0)]));
        Assert.Equal(new StreamPosition?[] { new("k3x9ab12", 7), null, null, null, null, null, new("zz", 0) }, heads.Heads);

        var data = RoundTrip(new SequencerCommands.PublishData(ServerMessageType.Alert, null, """{"a":1}"""u8.ToArray()));
        Assert.Equal((ServerMessageType.Alert, (Topic?)null, """{"a":1}"""), (data.Type, data.Topic, Encoding.UTF8.GetString(data.DataJson)));
        var entities = RoundTrip(new SequencerCommands.PublishEntities(Topic.Weather, [Entity("w1")]));
        Assert.Equal((Topic.Weather, "w1"), (entities.Topic, entities.Entities.Single().Id));

        var forwarded = RoundTrip(new SequencerCommands.Forwarded("origin1", 42, 40, new SequencerCommands.PublishEntities(Topic.Weather, [Entity("w2")]), TestActor));
        Assert.Equal(("origin1", 42L, 40L, TestActor), (forwarded.Origin, forwarded.Number, forwarded.OldestUnacknowledged, forwarded.ReplyTo));
        Assert.Equal("w2", ((SequencerCommands.PublishEntities)forwarded.Publish).Entities.Single().Id);
        Assert.Equal(new SequencerCommands.ForwardedUpTo("origin1", 42), RoundTrip(new SequencerCommands.ForwardedUpTo("origin1", 42)));
    }

    [Fact]
    public void State_messages_keep_every_entity()
    {
        var state = RoundTrip(new StateReplication.TopicState(42, 7, Topic.Cameras, [Entity("c1"), Entity("c2")]));
        Assert.Equal((42L, 7L, Topic.Cameras), (state.Incarnation, state.Version, state.Topic));
        Assert.Equal(["c1", "c2"], state.Entities.Select(e => e.Id));
        Assert.Equal(Entity("c2").Utf8Json, state.Entities[1].Utf8Json);

        var full = RoundTrip(new StateReplication.FullState(42, 9, new Dictionary<Topic, IReadOnlyList<EntityJson>>
        {
            [Topic.Weather] = [Entity("w1")],
            [Topic.Accidents] = [],
        }));
        Assert.Equal(9, full.Version);
        Assert.Equal("w1", Assert.Single(full.Topics[Topic.Weather]).Id);
        Assert.Empty(full.Topics[Topic.Accidents]);

        Assert.Equal(new StateReplication.StateVersion(3, 4), RoundTrip(new StateReplication.StateVersion(3, 4)));
        Assert.Same(StateReplication.GetFullState.Instance, RoundTrip(StateReplication.GetFullState.Instance));
        var replace = RoundTrip(new AggregatorCommands.ReplaceTopic(Topic.Patterns, [Entity("p1")]));
        Assert.Equal("p1", Assert.Single(replace.Entities).Id);
        var alert = RoundTrip(new AggregatorCommands.RaiseAlert(Topic.AirQuality, """{"aqi":180}"""u8.ToArray()));
        Assert.Equal(Topic.AirQuality, alert.Topic);
        Assert.Equal("""{"aqi":180}""", Encoding.UTF8.GetString(alert.DataJson));
    }

    [Fact]
    public void Stats_travel_for_the_cluster_wide_answer()
    {
        Assert.Same(RegistryCommands.GetStats.Instance, RoundTrip(RegistryCommands.GetStats.Instance));
        var stats = RoundTrip(new RegistryCommands.Stats(5, Topics.Every.ToDictionary(t => t, t => (int)t + 1)));
        Assert.Equal(5, stats.Clients);
        Assert.Equal(4, stats.Subscribers[Topic.Accidents]);
        Assert.Equal(new ClusterFanOutActor.Hello("akka.tcp://traffic@10.0.0.1:4053"),
            RoundTrip(new ClusterFanOutActor.Hello("akka.tcp://traffic@10.0.0.1:4053")));
    }

    [Fact]
    public void An_upsert_keeps_its_mode_and_an_escalation_alert_its_set_of_values()
    {
        var escalation = new AggregatorCommands.ConditionalAlert("a1", AggregatorCommands.AlertCondition.EnteredSet, "severity", 0,
            """{"alertType":"accidentEscalated"}"""u8.ToArray(), ["critical", "high", "sévère"]);
        var crossing = new AggregatorCommands.ConditionalAlert("q1", AggregatorCommands.AlertCondition.CrossedAbove, "aqi", 150, "{}"u8.ToArray());
        var merged = RoundTrip(new AggregatorCommands.UpsertEntities(Topic.Accidents, [Entity("a1")], [escalation, crossing],
            AggregatorCommands.UpsertMode.MergeFields));
        Assert.Equal(AggregatorCommands.UpsertMode.MergeFields, merged.Mode);
        Assert.Equal(["critical", "high", "sévère"], merged.Alerts[0].Values!);
        Assert.Equal(AggregatorCommands.AlertCondition.EnteredSet, merged.Alerts[0].Condition);
        Assert.Null(merged.Alerts[1].Values); // none sent, none back
        Assert.Equal(AggregatorCommands.UpsertMode.Replace, RoundTrip(new AggregatorCommands.UpsertEntities(Topic.Cameras, [Entity("c1")])).Mode);
    }

    [Fact]
    public void The_simulation_clock_travels_in_sixteen_bytes()
    {
        var clock = new SimulationClock(new DateTimeOffset(2026, 11, 29, 21, 0, 0, TimeSpan.Zero).UtcTicks, 17_280);
        Assert.Equal(clock, RoundTrip(clock));
        Assert.Equal(16, Sys.Serialization.FindSerializerFor(clock).ToBinary(clock).Length);
    }
}
