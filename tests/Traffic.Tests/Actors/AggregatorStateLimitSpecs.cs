using System.Diagnostics.Metrics;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>The aggregator keeps its state within MAX_ENTITIES_PER_TOPIC and MAX_STATE_BYTES, and says so when it refuses.</summary>
public sealed class AggregatorStateLimitSpecs : TestKit
{
    private readonly TestProbe _sequencer;
    private readonly TestProbe _replicas;
    private readonly TrafficMetrics _metrics = new(new Meter("state-limit-specs"));
    private readonly IActorRef _aggregator;

    public AggregatorStateLimitSpecs() : base(VirtualTime.Config)
    {
        _sequencer = CreateTestProbe();
        _replicas = CreateTestProbe();
        _aggregator = Sys.ActorOf(AggregatorActor.Props(_sequencer.Ref, TopicSchedule.Default, _replicas.Ref, _metrics,
            limits: new StateLimits(MaxEntitiesPerTopic: 2, MaxStateBytes: 64 * 1024)));
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private static EntityJson Entity(string id) => new(id, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}"}"""));

    private string[] HeldIds(Topic topic)
    {
        _aggregator.Tell(StateReplication.GetFullState.Instance);
        return ExpectMsg<StateReplication.FullState>().Topics[topic].Select(e => e.Id).ToArray();
    }

    [Fact]
    public void New_entities_past_the_bound_are_refused_counted_and_never_replicated()
    {
        _aggregator.Tell(new AggregatorCommands.UpsertEntities(Topic.Cameras, [Entity("c1"), Entity("c2"), Entity("c3")]));
        ExpectMsg<AggregatorCommands.EntitiesApplied>();

        Assert.Equal(["c1", "c2"], HeldIds(Topic.Cameras));
        var replicated = _replicas.FishForMessage<StateReplication.TopicState>(m => m is StateReplication.TopicState);
        Assert.Equal(["c1", "c2"], replicated.Entities.Select(e => e.Id));
        Assert.Equal(1, _metrics.StateRefusedOf(Topic.Cameras));
        Assert.Equal(0, _metrics.StateRefusedOf(Topic.Weather));
    }

    [Fact]
    public void A_whole_list_from_a_source_is_cut_to_the_bound_and_the_snapshot_shows_what_is_held()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Weather, [Entity("w1"), Entity("w2"), Entity("w3"), Entity("w4")]));

        Assert.Equal(["w1", "w2"], HeldIds(Topic.Weather));
        Assert.Equal(2, _metrics.StateRefusedOf(Topic.Weather));
    }

    [Fact]
    public void Held_entities_keep_changing_while_the_topic_is_full()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Cameras, [Entity("c1"), Entity("c2")]));
        var changed = new EntityJson("c2", Encoding.UTF8.GetBytes("""{"id":"c2","status":"offline"}"""));

        _aggregator.Tell(new AggregatorCommands.UpsertEntities(Topic.Cameras, [changed, Entity("c9")]));
        ExpectMsg<AggregatorCommands.EntitiesApplied>();

        _aggregator.Tell(StateReplication.GetFullState.Instance);
        var cameras = ExpectMsg<StateReplication.FullState>().Topics[Topic.Cameras];
        Assert.Equal(["c1", "c2"], cameras.Select(e => e.Id));
        Assert.Equal(changed.Utf8Json, cameras[1].Utf8Json);
    }

    [Fact]
    public void A_full_topic_is_logged_at_its_first_refusal_then_at_most_once_a_minute_with_the_count_since()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Cameras, [Entity("c1"), Entity("c2")]));
        EventFilter.Warning(contains: "Topic cameras is full").ExpectOne(() =>
        {
            _aggregator.Tell(new AggregatorCommands.UpsertEntities(Topic.Cameras, [Entity("c3")]));
            ExpectMsg<AggregatorCommands.EntitiesApplied>();
        });
        EventFilter.Warning(contains: "is full").Expect(0, () =>
        {
            for (var i = 4; i < 10; i++)
            {
                _aggregator.Tell(new AggregatorCommands.UpsertEntities(Topic.Cameras, [Entity($"c{i}")]));
                ExpectMsg<AggregatorCommands.EntitiesApplied>();
            }
        });

        Scheduler.Advance(RefusalLog.Interval);
        EventFilter.Warning(contains: "): 7 new entities or growing changes refused").ExpectOne(() =>
        {
            _aggregator.Tell(new AggregatorCommands.UpsertEntities(Topic.Cameras, [Entity("c10")]));
            ExpectMsg<AggregatorCommands.EntitiesApplied>();
        });
        Assert.Equal(8, _metrics.StateRefusedOf(Topic.Cameras));
    }

    [Fact]
    public void Removing_entities_lets_new_ones_in()
    {
        _aggregator.Tell(new AggregatorCommands.ReplaceTopic(Topic.Accidents, [Entity("a1"), Entity("a2")]));
        _aggregator.Tell(new AggregatorCommands.RemoveEntities(Topic.Accidents, ["a1"]));
        ExpectMsg<AggregatorCommands.EntitiesApplied>();

        _aggregator.Tell(new AggregatorCommands.UpsertEntities(Topic.Accidents, [Entity("a3")]));
        ExpectMsg<AggregatorCommands.EntitiesApplied>();

        Assert.Equal(["a2", "a3"], HeldIds(Topic.Accidents));
    }
}
