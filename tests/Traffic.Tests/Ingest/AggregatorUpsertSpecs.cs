using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Actors.Sources;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Ingest;

/// <summary>The aggregator's per-entity changes: merged by id, replicated per change, alerts judged against the state before.</summary>
public sealed class AggregatorUpsertSpecs : TestKit
{
    private readonly TestProbe _registry;
    private readonly TestProbe _replicas;
    private readonly IActorRef _aggregator;

    public AggregatorUpsertSpecs() : base(VirtualTime.Config)
    {
        _registry = CreateTestProbe();
        _replicas = CreateTestProbe();
        _aggregator = Sys.ActorOf(AggregatorActor.Props(_registry.Ref, TopicSchedule.Default, _replicas.Ref));
    }

    private static EntityJson Entity(string id, int aqi) => new(id, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","aqi":{{aqi}}}"""));

    private static AggregatorCommands.ConditionalAlert Crossing(string id) =>
        new(id, AggregatorCommands.AlertCondition.CrossedAbove, "aqi", 150, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","alertType":"airQualityThreshold"}"""));

    private static AggregatorCommands.ConditionalAlert IfNew(string id) =>
        new(id, AggregatorCommands.AlertCondition.NewEntity, "", 0, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","alertType":"severeAccident"}"""));

    private string[] SnapshotIds(Topic topic)
    {
        _aggregator.Tell(AggregatorQueries.GetSnapshot.Instance);
        var frame = ExpectMsg<AggregatorQueries.SnapshotReady>().Frame;
        return JsonDocument.Parse(frame.Utf8Json).RootElement.GetProperty("data").GetProperty(topic.WireName())
            .EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToArray();
    }

    private void Upsert(Topic topic, IReadOnlyList<EntityJson> entities, params AggregatorCommands.ConditionalAlert[] alerts)
    {
        _aggregator.Tell(new AggregatorCommands.UpsertEntities(topic, entities, alerts));
        ExpectMsg<AggregatorCommands.EntitiesApplied>();
    }

    [Fact]
    public void Upserts_replace_by_id_in_place_append_new_ids_and_every_change_reaches_the_replicas()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.AirQuality, [Entity("a", 1), Entity("b", 2)]));
        _replicas.ExpectMsg<StateReplication.TopicState>();

        Upsert(Topic.AirQuality, [Entity("b", 20), Entity("c", 3)]);
        var state = _replicas.ExpectMsg<StateReplication.TopicState>();
        Assert.Equal(Topic.AirQuality, state.Topic);
        Assert.Equal(["a", "b", "c"], state.Entities.Select(e => e.Id));
        Assert.Contains("\"aqi\":20", Encoding.UTF8.GetString(state.Entities[1].Utf8Json));
        Assert.Equal(["a", "b", "c"], SnapshotIds(Topic.AirQuality));

        _aggregator.Tell(new AggregatorCommands.RemoveEntities(Topic.AirQuality, ["a", "unknown"]));
        ExpectMsg<AggregatorCommands.EntitiesApplied>();
        var removed = _replicas.ExpectMsg<StateReplication.TopicState>();
        Assert.Equal(["b", "c"], removed.Entities.Select(e => e.Id));
        Assert.Equal(state.Version + 1, removed.Version); // numbered like every other change: replicas see no gap

        _aggregator.Tell(new AggregatorCommands.RemoveEntities(Topic.AirQuality, ["unknown"])); // nothing changes: nothing replicated
        ExpectMsg<AggregatorCommands.EntitiesApplied>();
        _replicas.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void An_AQI_alert_is_raised_only_when_the_previous_value_was_at_or_below_the_threshold()
    {
        Upsert(Topic.AirQuality, [Entity("s", 160)], Crossing("s")); // first sight: no crossing seen
        Upsert(Topic.AirQuality, [Entity("s", 150)]);
        Upsert(Topic.AirQuality, [Entity("s", 170)], Crossing("s")); // 150 -> 170: crossed
        var alert = _registry.ExpectMsg<SequencerCommands.PublishData>(); // to the sequencer, which numbers it
        Assert.Equal(ServerMessageType.Alert, alert.Type);
        Assert.Equal(Topic.AirQuality, alert.Topic);
        Assert.Contains("airQualityThreshold", Encoding.UTF8.GetString(alert.DataJson));
        Upsert(Topic.AirQuality, [Entity("s", 180)], Crossing("s")); // still above: no second alert
        _registry.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_new_entity_alert_is_raised_once_per_id()
    {
        Upsert(Topic.Accidents, [Entity("x", 0)], IfNew("x"));
        Assert.Equal(Topic.Accidents, _registry.ExpectMsg<SequencerCommands.PublishData>().Topic);
        Upsert(Topic.Accidents, [Entity("x", 1)], IfNew("x"));
        _registry.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    private static EntityJson Json(string id, string json) => new(id, Encoding.UTF8.GetBytes(json));

    [Fact]
    public void A_merging_upsert_replaces_the_fields_it_carries_removes_those_it_nulls_and_keeps_the_others_in_their_order()
    {
        _aggregator.Tell(new AggregatorCommands.UpsertEntities(Topic.Cameras,
            [Json("c", """{"id":"c","type":"Camera","name":"Ben Thanh","imageUrl":"http://i","status":"active","location":{"latitude":10.7,"longitude":106.7}}""")],
            [], AggregatorCommands.UpsertMode.MergeFields));
        ExpectMsg<AggregatorCommands.EntitiesApplied>();
        _replicas.ExpectMsg<StateReplication.TopicState>();

        _aggregator.Tell(new AggregatorCommands.UpsertEntities(Topic.Cameras,
            [Json("c", """{"id":"c","type":"Camera","status":"offline","imageUrl":null,"roadName":"Le Loi"}""")], [], AggregatorCommands.UpsertMode.MergeFields));
        ExpectMsg<AggregatorCommands.EntitiesApplied>();
        var merged = Encoding.UTF8.GetString(_replicas.ExpectMsg<StateReplication.TopicState>().Entities.Single().Utf8Json);
        Assert.Equal("""{"id":"c","type":"Camera","name":"Ben Thanh","status":"offline","location":{"latitude":10.7,"longitude":106.7},"roadName":"Le Loi"}""", merged);

        Upsert(Topic.Cameras, [Json("c", """{"id":"c","status":"active"}""")]); // Replace (a poll's whole entity): replaces
        Assert.Equal("""{"id":"c","status":"active"}""", Encoding.UTF8.GetString(_replicas.ExpectMsg<StateReplication.TopicState>().Entities.Single().Utf8Json));
    }

    [Fact]
    public void An_escalation_alert_is_raised_when_a_known_entity_enters_the_set_not_when_it_stays_in_it_or_leaves_it()
    {
        AggregatorCommands.ConditionalAlert Escalated(string id) =>
            new(id, AggregatorCommands.AlertCondition.EnteredSet, "severity", 0, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","alertType":"accidentEscalated"}"""),
                ["high", "critical"]);
        EntityJson Accident(string id, string severity) => Json(id, $$"""{"id":"{{id}}","severity":"{{severity}}"}""");

        Upsert(Topic.Accidents, [Accident("x", "high")], Escalated("x"));     // unknown before: the new-accident rule's case, not this one
        Upsert(Topic.Accidents, [Accident("x", "medium")]);
        Upsert(Topic.Accidents, [Accident("x", "High")], Escalated("x"));     // medium -> high: escalated
        Assert.Contains("accidentEscalated", Encoding.UTF8.GetString(_registry.ExpectMsg<SequencerCommands.PublishData>().DataJson));
        Upsert(Topic.Accidents, [Accident("x", "critical")], Escalated("x")); // high -> critical: already severe
        Upsert(Topic.Accidents, [Accident("x", "high")], Escalated("x"));     // critical -> high
        _registry.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void With_both_sources_the_simulations_lists_leave_the_notified_entities_in_place()
    {
        Upsert(Topic.Cameras, [Entity("notified", 0)]);
        var simulation = new SharedTopicWriter();
        foreach (var command in simulation.Commands(Topic.Cameras, [Entity("sim-1", 0), Entity("sim-2", 0)])) _aggregator.Tell(command, ActorRefs.NoSender);
        foreach (var command in simulation.Commands(Topic.Cameras, [Entity("sim-1", 1)])) _aggregator.Tell(command, ActorRefs.NoSender); // sim-2 is gone
        Assert.Equal(["notified", "sim-1"], SnapshotIds(Topic.Cameras));
    }
}
