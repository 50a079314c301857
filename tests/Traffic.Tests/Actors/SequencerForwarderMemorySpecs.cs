using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>The sequencer remembers a count per forwarder (one per node incarnation): only while that forwarder is heard from.</summary>
public sealed class SequencerForwarderMemorySpecs : TestKit
{
    public SequencerForwarderMemorySpecs() : base(VirtualTime.Config) { }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    [Fact]
    public void A_forwarder_silent_for_ten_minutes_is_forgotten_and_one_that_keeps_sending_is_not()
    {
        var publisher = CreateTestProbe();
        var registry = CreateTestProbe();
        registry.SetAutoPilot(new DelegateAutoPilot((sender, _) =>
        {
            sender.Tell(new RegistryCommands.Heads(new StreamPosition?[Streams.Count]));
            return AutoPilot.KeepRunning;
        }));
        var sequencer = Sys.ActorOf(TopicSequencerActor.Props(publisher.Ref, registry.Ref));
        var forwarder = CreateTestProbe();
        SequencerCommands.Forwarded Forwarded(string origin, long number) =>
            new(origin, number, number, new SequencerCommands.PublishData(ServerMessageType.Alert, Topic.Accidents, Encoding.UTF8.GetBytes("{}")), forwarder.Ref);

        sequencer.Tell(Forwarded("gone-node", 1));
        sequencer.Tell(Forwarded("busy-node", 1));
        forwarder.ExpectMsg<SequencerCommands.ForwardedUpTo>();
        forwarder.ExpectMsg<SequencerCommands.ForwardedUpTo>();

        // Twelve minutes pass; the busy node publishes every minute, the other never again.
        EventFilter.Info(contains: "forgets forwarder gone-node").ExpectOne(() =>
        {
            for (var minute = 2; minute <= 12; minute++)
            {
                Scheduler.Advance(TimeSpan.FromMinutes(1));
                sequencer.Tell(Forwarded("busy-node", minute));
                forwarder.ExpectMsg<SequencerCommands.ForwardedUpTo>(a => a.Origin == "busy-node" && a.Number == minute);
            }
        });
        EventFilter.Info(contains: "forgets forwarder busy-node").Expect(0, () =>
        {
            Scheduler.Advance(TopicSequencerActor.AnnounceInterval);
            sequencer.Tell(Forwarded("busy-node", 13));
            forwarder.ExpectMsg<SequencerCommands.ForwardedUpTo>(a => a.Number == 13);
        });
    }
}
