using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;

namespace Traffic.Actors.Sources;

/// <summary>
/// Every node's copy of the simulated feed's <see cref="SimulationClock"/> (heard over
/// DistributedPubSub), so that the feed singleton, when it starts on this node after a fail-over,
/// continues the city where the previous one left it instead of starting it again from its seed.
/// </summary>
public sealed class SimulationClockReplicaActor : ReceiveActor
{
    private SimulationClock? _latest;

    public SimulationClockReplicaActor(IActorRef mediator)
    {
        mediator.Tell(new Subscribe(SimulationClockCommands.Topic, Self));
        Receive<SimulationClock>(clock =>
        {
            // One origin per cluster; a later step of it is newer. Another origin (a cluster that
            // lost every copy and started afresh) replaces it.
            if (_latest is null || clock.OriginUtcTicks != _latest.OriginUtcTicks || clock.Step > _latest.Step) _latest = clock;
        });
        Receive<SimulationClockCommands.GetLatest>(_ => Sender.Tell(new SimulationClockCommands.Latest(_latest)));
        Receive<SubscribeAck>(_ => { });
    }

    public static Props Props(IActorRef mediator) => Akka.Actor.Props.Create(() => new SimulationClockReplicaActor(mediator));
}
