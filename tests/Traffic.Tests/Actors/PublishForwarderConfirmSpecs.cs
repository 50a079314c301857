using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Cluster;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// A node's forwarder and <see cref="SequencerCommands.PublishAndConfirm"/>: confirmed when the sequencer
/// acknowledges the publish (with persistence: once written), refused when it is dropped unacknowledged.
/// </summary>
public sealed class PublishForwarderConfirmSpecs : TestKit
{
    private readonly TestProbe _sequencer;
    private readonly IActorRef _forwarder;

    public PublishForwarderConfirmSpecs() : base(VirtualTime.Config)
    {
        _sequencer = CreateTestProbe();
        _forwarder = Sys.ActorOf(PublishForwarderActor.Props(_sequencer.Ref));
    }

    private static SequencerCommands.PublishData Alert(string marker) =>
        new(ServerMessageType.Alert, Topic.Accidents, Encoding.UTF8.GetBytes($$"""{"marker":"{{marker}}"}"""));

    [Fact]
    public void A_publish_is_confirmed_when_the_sequencer_acknowledges_it_and_not_before()
    {
        var publisher = CreateTestProbe();
        var other = CreateTestProbe();
        _forwarder.Tell(new SequencerCommands.PublishAndConfirm(Alert("p1")), publisher.Ref);
        _forwarder.Tell(Alert("p2")); // no confirmation asked
        _forwarder.Tell(new SequencerCommands.PublishAndConfirm(Alert("p3")), other.Ref);
        var first = _sequencer.ExpectMsg<SequencerCommands.Forwarded>();
        Assert.Equal((1L, 1L), (first.Number, first.OldestUnacknowledged));
        Assert.Equal(Alert("p1").DataJson, ((SequencerCommands.PublishData)first.Publish).DataJson);
        Assert.Equal(_forwarder, first.ReplyTo);
        Assert.Equal((2L, 1L), (_sequencer.ExpectMsg<SequencerCommands.Forwarded>() is var f2 ? (f2.Number, f2.OldestUnacknowledged) : default));
        Assert.Equal(3L, _sequencer.ExpectMsg<SequencerCommands.Forwarded>().Number);
        publisher.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        _forwarder.Tell(new SequencerCommands.ForwardedUpTo("another-node", 3)); // not this forwarder's
        _forwarder.Tell(new SequencerCommands.ForwardedUpTo(first.Origin, 0));
        publisher.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        _forwarder.Tell(new SequencerCommands.ForwardedUpTo(first.Origin, 2));
        publisher.ExpectMsg<SequencerCommands.PublishConfirmed>();
        other.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        _forwarder.Tell(new SequencerCommands.ForwardedUpTo(first.Origin, 3));
        other.ExpectMsg<SequencerCommands.PublishConfirmed>();
        _forwarder.Tell(new SequencerCommands.ForwardedUpTo(first.Origin, 3)); // again: confirmed once
        publisher.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        other.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void A_barrier_is_answered_once_every_publish_before_it_is_acknowledged_and_at_once_when_none_waits()
    {
        var asker = CreateTestProbe();
        _forwarder.Tell(new SequencerCommands.ConfirmWritten(1), asker.Ref);
        asker.ExpectMsg(new SequencerCommands.Written(1)); // nothing waits for the sequencer

        _forwarder.Tell(Alert("p1"));
        _forwarder.Tell(Alert("p2"));
        _forwarder.Tell(new SequencerCommands.ConfirmWritten(2), asker.Ref);
        _forwarder.Tell(Alert("p3")); // after the barrier: not waited for
        var first = _sequencer.ExpectMsg<SequencerCommands.Forwarded>();
        _sequencer.ReceiveN(2);
        _forwarder.Tell(new SequencerCommands.ForwardedUpTo(first.Origin, 1));
        asker.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        _forwarder.Tell(new SequencerCommands.ForwardedUpTo(first.Origin, 2));
        asker.ExpectMsg(new SequencerCommands.Written(2));
    }

    [Fact]
    public void A_barrier_over_publishes_dropped_unacknowledged_is_refused()
    {
        var asker = CreateTestProbe();
        _forwarder.Tell(Alert("first"));
        _forwarder.Tell(new SequencerCommands.ConfirmWritten(9), asker.Ref);
        for (var i = 1; i < PublishForwarderActor.MaxPending; i++) _forwarder.Tell(Alert($"p{i}"));
        _sequencer.ReceiveN(PublishForwarderActor.MaxPending, TimeSpan.FromSeconds(30));
        asker.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        _forwarder.Tell(Alert("overflow")); // the oldest, which the barrier covers, is dropped
        var refused = asker.ExpectMsg<SequencerCommands.NotWritten>(TimeSpan.FromSeconds(15));
        Assert.Equal(9, refused.Id);
        Assert.Contains("sequencer", refused.Reason);
    }

    [Fact]
    public void A_publish_dropped_unacknowledged_is_refused()
    {
        var publisher = CreateTestProbe();
        _forwarder.Tell(new SequencerCommands.PublishAndConfirm(Alert("first")), publisher.Ref);
        for (var i = 1; i < PublishForwarderActor.MaxPending; i++) _forwarder.Tell(Alert($"p{i}"));
        _sequencer.ReceiveN(PublishForwarderActor.MaxPending, TimeSpan.FromSeconds(30));
        publisher.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // still waiting: not dropped yet

        _forwarder.Tell(Alert("overflow")); // one more: the oldest, the confirmed one, is dropped
        var refused = publisher.ExpectMsg<SequencerCommands.PublishRefused>(TimeSpan.FromSeconds(15));
        Assert.Contains("sequencer", refused.Reason);
        var overflow = _sequencer.ExpectMsg<SequencerCommands.Forwarded>();
        Assert.Equal((PublishForwarderActor.MaxPending + 1L, 2L), (overflow.Number, overflow.OldestUnacknowledged));

        // Its acknowledgement, if it comes after all, confirms nothing.
        _forwarder.Tell(new SequencerCommands.ForwardedUpTo(overflow.Origin, overflow.Number));
        publisher.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }
    [Fact]
    public void What_is_unacknowledged_is_sent_again_in_order_from_the_oldest_until_acknowledged()
    {
        _forwarder.Tell(Alert("p1"));
        _forwarder.Tell(Alert("p2"));
        _forwarder.Tell(Alert("p3"));
        var origin = _sequencer.ExpectMsg<SequencerCommands.Forwarded>().Origin;
        _sequencer.ReceiveN(2);
        _forwarder.Tell(new SequencerCommands.ForwardedUpTo(origin, 1));

        // Resent once the sequencer has acknowledged nothing for a second (of real time: the timer ticks every
        // virtual second, the forwarder checks the clock); 2 and 3, each saying 2 is the oldest it waits for.
        SequencerCommands.Forwarded? resent = null;
        AwaitAssert(() =>
        {
            Scheduler.Advance(PublishForwarderActor.ResendInterval);
            resent = _sequencer.ExpectMsg<SequencerCommands.Forwarded>(TimeSpan.FromSeconds(2)); // long enough that a resend is never taken twice
        }, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100));
        Assert.Equal((2L, 2L, origin), (resent!.Number, resent.OldestUnacknowledged, resent.Origin));
        var third = _sequencer.ExpectMsg<SequencerCommands.Forwarded>();
        Assert.Equal((3L, 2L), (third.Number, third.OldestUnacknowledged));
        Assert.Equal(Alert("p3").DataJson, ((SequencerCommands.PublishData)third.Publish).DataJson);

        _forwarder.Tell(new SequencerCommands.ForwardedUpTo(origin, 3));
        _forwarder.Tell(new Identify(null));
        ExpectMsg<ActorIdentity>();
        for (var i = 0; i < 3; i++) Scheduler.Advance(PublishForwarderActor.ResendInterval); // nothing left to send
        _sequencer.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;
}
