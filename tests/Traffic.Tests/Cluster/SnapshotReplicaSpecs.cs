using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Cluster;
using Traffic.Actors.Protocol;
using Xunit;

namespace Traffic.Tests.Cluster;

/// <summary>A node's copy of the aggregator's state, driven with probes for the pub/sub mediator and the singleton proxy.</summary>
public sealed class SnapshotReplicaSpecs : TestKit
{
    private readonly TestProbe _mediator;
    private readonly TestProbe _aggregator;

    public SnapshotReplicaSpecs()
    {
        _mediator = CreateTestProbe();
        _aggregator = CreateTestProbe();
    }

    private static EntityJson Entity(string id) => new(id, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}"}"""));

    private static Dictionary<Topic, IReadOnlyList<EntityJson>> State(params (Topic Topic, string[] Ids)[] topics) =>
        topics.ToDictionary(t => t.Topic, t => (IReadOnlyList<EntityJson>)t.Ids.Select(Entity).ToList());

    private IActorRef StartReplica(TimeSpan? waitLimit = null)
    {
        var replica = Sys.ActorOf(SnapshotReplicaActor.Props(_mediator.Ref, _aggregator.Ref, waitLimit ?? TimeSpan.FromMinutes(1)));
        Assert.Equal(ClusterTopics.State, _mediator.ExpectMsg<Subscribe>().Topic);
        _aggregator.ExpectMsg<StateReplication.GetFullState>();
        return replica;
    }

    private string[] SnapshotIds(IActorRef replica, Topic topic)
    {
        replica.Tell(AggregatorQueries.GetSnapshot.Instance);
        var frame = ExpectMsg<AggregatorQueries.SnapshotReady>().Frame;
        var data = JsonDocument.Parse(frame.Utf8Json).RootElement.GetProperty("data").GetProperty(topic.WireName());
        return data.EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToArray();
    }

    [Fact]
    public void A_snapshot_request_waits_for_the_first_state_then_every_client_gets_the_same_frame()
    {
        var replica = StartReplica();
        replica.Tell(AggregatorQueries.GetSnapshot.Instance);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // nothing to serve yet

        replica.Tell(new StateReplication.FullState(1, 5, State((Topic.Cameras, ["c1", "c2"]))), _aggregator.Ref);
        var first = ExpectMsg<AggregatorQueries.SnapshotReady>().Frame;
        Assert.Equal(["c1", "c2"], JsonDocument.Parse(first.Utf8Json).RootElement.GetProperty("data").GetProperty("cameras")
            .EnumerateArray().Select(e => e.GetProperty("id").GetString()));

        replica.Tell(AggregatorQueries.GetSnapshot.Instance);
        Assert.Same(first, ExpectMsg<AggregatorQueries.SnapshotReady>().Frame); // encoded once per change, not per client

        replica.Tell(new SnapshotReplicaActor.GetStatus());
        Assert.Equal(new SnapshotReplicaActor.Status(true, 1, 5), ExpectMsg<SnapshotReplicaActor.Status>());
    }

    [Fact]
    public void Changes_in_sequence_apply_without_asking_again()
    {
        var replica = StartReplica();
        replica.Tell(new StateReplication.FullState(1, 5, State((Topic.Cameras, ["c1"]))));
        replica.Tell(new StateReplication.TopicState(1, 6, Topic.Weather, [Entity("w1")]));
        replica.Tell(new StateReplication.TopicState(1, 7, Topic.Cameras, [Entity("c9")]));
        replica.Tell(new StateReplication.StateVersion(1, 7));

        Assert.Equal(["w1"], SnapshotIds(replica, Topic.Weather));
        Assert.Equal(["c9"], SnapshotIds(replica, Topic.Cameras));
        _aggregator.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void A_missed_change_or_a_new_aggregator_makes_it_fetch_the_whole_state()
    {
        var replica = StartReplica();
        replica.Tell(new StateReplication.FullState(1, 5, State((Topic.Cameras, ["c1"]))));

        // Change 6 was missed: 7 is applied at once (a topic's whole list), and the rest is fetched.
        replica.Tell(new StateReplication.TopicState(1, 7, Topic.Accidents, [Entity("a7")]));
        _aggregator.ExpectMsg<StateReplication.GetFullState>();
        Assert.Equal(["a7"], SnapshotIds(replica, Topic.Accidents));
        replica.Tell(new StateReplication.FullState(1, 7, State((Topic.Cameras, ["c1"]), (Topic.Weather, ["w6"]), (Topic.Accidents, ["a7"]))));
        Assert.Equal(["w6"], SnapshotIds(replica, Topic.Weather));

        // A version mark it does not match (a change published before this node subscribed).
        replica.Tell(new StateReplication.StateVersion(1, 8));
        _aggregator.ExpectMsg<StateReplication.GetFullState>();
        replica.Tell(new StateReplication.FullState(1, 8, State((Topic.Cameras, ["c8"]))));
        Assert.Equal(["c8"], SnapshotIds(replica, Topic.Cameras));

        // The singleton moved: a new epoch, numbered from the start again.
        replica.Tell(new StateReplication.TopicState(2, 1, Topic.Patterns, [Entity("p1")]));
        _aggregator.ExpectMsg<StateReplication.GetFullState>();
        replica.Tell(new StateReplication.FullState(2, 6, State((Topic.Patterns, ["p1"]), (Topic.Cameras, ["new-city"]))));
        Assert.Equal(["new-city"], SnapshotIds(replica, Topic.Cameras));
        replica.Tell(new SnapshotReplicaActor.GetStatus());
        Assert.Equal(new SnapshotReplicaActor.Status(true, 2, 6), ExpectMsg<SnapshotReplicaActor.Status>());
    }

    [Fact]
    public void Without_an_aggregator_it_keeps_asking_and_after_the_wait_limit_serves_what_it_has()
    {
        var replica = StartReplica(waitLimit: TimeSpan.FromMilliseconds(500));
        replica.Tell(AggregatorQueries.GetSnapshot.Instance);
        var frame = ExpectMsg<AggregatorQueries.SnapshotReady>(TimeSpan.FromSeconds(5)).Frame;
        Assert.Equal(0, JsonDocument.Parse(frame.Utf8Json).RootElement.GetProperty("data").GetProperty("cameras").GetArrayLength());
        _aggregator.ExpectMsg<StateReplication.GetFullState>(SnapshotReplicaActor.RetryInterval + TimeSpan.FromSeconds(3)); // asks again
        replica.Tell(new SnapshotReplicaActor.GetStatus());
        Assert.False(ExpectMsg<SnapshotReplicaActor.Status>().Synced);
    }
}
