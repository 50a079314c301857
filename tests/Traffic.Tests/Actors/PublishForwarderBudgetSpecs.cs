using Akka.Actor;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Cluster;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// The cluster forwarder keeps what the sequencer has not acknowledged within a byte budget too
/// (issue 23: bounds in bytes, not only counts): past it the oldest are dropped, logged once per outage.
/// </summary>
public sealed class PublishForwarderBudgetSpecs : TestKit
{
    public PublishForwarderBudgetSpecs() : base(VirtualTime.Config) { }

    private static SequencerCommands.PublishData Publish(int bytes) =>
        new(ServerMessageType.Alert, Topic.Accidents, new byte[bytes]);

    [Fact]
    public void Unacknowledged_publishes_are_bounded_in_bytes_the_oldest_dropped_and_logged_once()
    {
        var sequencer = CreateTestProbe(); // never acknowledges: a sequencer away
        var forwarder = Sys.ActorOf(PublishForwarderActor.Props(sequencer.Ref, maxPendingBytes: 1000));

        EventFilter.Warning(contains: "dropping the oldest").ExpectOne(() =>
        {
            for (var i = 0; i < 5; i++) forwarder.Tell(Publish(300));
            for (var i = 0; i < 5; i++) sequencer.ExpectMsg<SequencerCommands.Forwarded>();
        });
        forwarder.Tell(PublishForwarderActor.GetPending.Instance);
        Assert.Equal(new PublishForwarderActor.Pending(3, 900), ExpectMsg<PublishForwarderActor.Pending>());

        // What waits is the newest: the next send names number 3 as the oldest unacknowledged.
        forwarder.Tell(Publish(100));
        Assert.Equal(3, sequencer.ExpectMsg<SequencerCommands.Forwarded>().OldestUnacknowledged);

        // Acknowledged publishes free their bytes.
        var origin = sequencer.LastMessage is SequencerCommands.Forwarded f ? f.Origin : throw new InvalidOperationException();
        forwarder.Tell(new SequencerCommands.ForwardedUpTo(origin, 5));
        forwarder.Tell(PublishForwarderActor.GetPending.Instance);
        Assert.Equal(new PublishForwarderActor.Pending(1, 100), ExpectMsg<PublishForwarderActor.Pending>());
    }

    [Fact]
    public void A_single_publish_larger_than_the_budget_still_waits_alone()
    {
        var sequencer = CreateTestProbe();
        var forwarder = Sys.ActorOf(PublishForwarderActor.Props(sequencer.Ref, maxPendingBytes: 1000));
        forwarder.Tell(Publish(300));
        forwarder.Tell(Publish(2000));
        forwarder.Tell(PublishForwarderActor.GetPending.Instance);
        Assert.Equal(new PublishForwarderActor.Pending(1, 2000), ExpectMsg<PublishForwarderActor.Pending>());
    }
}
