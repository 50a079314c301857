using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Routing;

namespace Traffic.Actors.Cluster;

/// <summary>
/// The <see cref="FanOutEntry"/> of a cluster node (the broker, in pub/sub server terms): hands
/// each publish to DistributedPubSub once, which sends it once to every node that has a
/// subscriber (this one included); there each node's <see cref="ClusterFanOutActor"/> gives it to
/// the local registry. The frame stays the one encoded at the origin: its bytes travel as they are
/// (<see cref="TrafficSerializer"/>). The aggregator's changes of state go the same way, on their own topic.
/// </summary>
public sealed class ClusterPublisherActor : ReceiveActor
{
    public ClusterPublisherActor(IActorRef mediator)
    {
        Receive<RegistryCommands.PublishToTopic>(p => mediator.Tell(new Publish(ClusterTopics.Frames, p)));
        Receive<RegistryCommands.PublishToAll>(p => mediator.Tell(new Publish(ClusterTopics.Frames, p)));
        Receive<RegistryCommands.AnnounceHeads>(a => mediator.Tell(new Publish(ClusterTopics.Frames, a)));
        Receive<StateReplication.IStateEvent>(e => mediator.Tell(new Publish(ClusterTopics.State, e)));
    }

    public static Props Props(IActorRef mediator) => Akka.Actor.Props.Create(() => new ClusterPublisherActor(mediator));
}
