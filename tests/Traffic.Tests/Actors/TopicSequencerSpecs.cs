using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>The sequencer: positions per stream, where a new one continues, and each forwarded publish taken once and in order.</summary>
public sealed class TopicSequencerSpecs : TestKit
{
    private readonly TestProbe _publisher;

    public TopicSequencerSpecs() : base(VirtualTime.Config)
    {
        _publisher = CreateTestProbe();
        _publisher.IgnoreMessages(m => m is RegistryCommands.AnnounceHeads);
    }

    /// <summary>A sequencer whose node's registry answers with <paramref name="heads"/> (none: a fresh start).</summary>
    private IActorRef Sequencer(params StreamPosition?[] heads)
    {
        var registry = CreateTestProbe();
        var answer = new StreamPosition?[Streams.Count];
        heads.CopyTo(answer, 0);
        registry.SetAutoPilot(new DelegateAutoPilot((sender, _) =>
        {
            sender.Tell(new RegistryCommands.Heads(answer));
            return AutoPilot.KeepRunning;
        }));
        return Sys.ActorOf(TopicSequencerActor.Props(_publisher.Ref, registry.Ref));
    }

    private static SequencerCommands.PublishData Alert(Topic? topic, string marker) =>
        new(ServerMessageType.Alert, topic, Encoding.UTF8.GetBytes($$"""{"marker":"{{marker}}"}"""));

    private (string Marker, FrameSequence Sequence) ExpectPublished()
    {
        var frame = _publisher.ExpectMsg<object>() switch
        {
            RegistryCommands.PublishToTopic p => p.Frame,
            RegistryCommands.PublishToAll p => p.Frame,
            var other => throw new Xunit.Sdk.XunitException($"unexpected {other}"),
        };
        var json = JsonDocument.Parse(frame.Utf8Json).RootElement;
        Assert.Equal(frame.Sequence!.Epoch, json.GetProperty("epoch").GetString());
        Assert.Equal(frame.Sequence.Offset, json.GetProperty("offset").GetInt64());
        return (json.GetProperty("data").GetProperty("marker").GetString()!, frame.Sequence);
    }

    [Fact]
    public void Each_stream_counts_its_own_messages_from_one_in_a_new_epoch()
    {
        var sequencer = Sequencer();
        sequencer.Tell(Alert(Topic.Accidents, "a1"));
        sequencer.Tell(Alert(Topic.Weather, "w1"));
        sequencer.Tell(Alert(Topic.Accidents, "a2"));
        sequencer.Tell(Alert(null, "all1"));
        var a1 = ExpectPublished().Sequence;
        Assert.Equal(1, a1.Offset);
        Assert.Equal(0, a1.PreviousOffset);
        Assert.Equal(1, ExpectPublished().Sequence.Offset);
        Assert.Equal(new FrameSequence(a1.Epoch, 2, 1), ExpectPublished().Sequence);
        Assert.Equal(1, ExpectPublished().Sequence.Offset); // "all" is a stream of its own
    }

    [Fact]
    public void A_sequencer_that_takes_over_continues_the_epoch_after_a_jump()
    {
        var sequencer = Sequencer(null, null, null, new StreamPosition("k3x9ab12", 41));
        sequencer.Tell(Alert(Topic.Accidents, "a"));
        sequencer.Tell(Alert(Topic.Accidents, "b"));
        Assert.Equal(new FrameSequence("k3x9ab12", 41 + TopicSequencerActor.TakeOverJump, 41), ExpectPublished().Sequence);
        Assert.Equal(new FrameSequence("k3x9ab12", 42 + TopicSequencerActor.TakeOverJump, 41 + TopicSequencerActor.TakeOverJump), ExpectPublished().Sequence);
        sequencer.Tell(Alert(Topic.Cameras, "c")); // a stream its node knew nothing of: a new epoch
        Assert.NotEqual("k3x9ab12", ExpectPublished().Sequence.Epoch);
    }

    [Fact]
    public void Forwarded_publishes_are_taken_once_and_in_order_even_when_a_new_one_overtakes_the_resent_ones()
    {
        var sequencer = Sequencer();
        var forwarder = CreateTestProbe();
        SequencerCommands.Forwarded Forwarded(long number, long oldest) => new("node-a", number, oldest, Alert(Topic.Accidents, $"p{number}"), forwarder.Ref);

        // A new sequencer: publish 6 arrives before the resent 3, 4, 5 (the forwarder still waits to hear of 3).
        sequencer.Tell(Forwarded(6, 3));
        sequencer.Tell(Forwarded(3, 3));
        sequencer.Tell(Forwarded(4, 3));
        sequencer.Tell(Forwarded(5, 3));
        Assert.Equal(["p3", "p4", "p5"], [ExpectPublished().Marker, ExpectPublished().Marker, ExpectPublished().Marker]);
        Assert.Equal(5, forwarder.FishForMessage<SequencerCommands.ForwardedUpTo>(a => a.Number == 5).Number);

        sequencer.Tell(Forwarded(6, 6)); // the resend
        Assert.Equal("p6", ExpectPublished().Marker);
        sequencer.Tell(Forwarded(4, 4)); // a repeat: acknowledged again, not published twice
        Assert.Equal(6, forwarder.FishForMessage<SequencerCommands.ForwardedUpTo>(a => a.Number == 6).Number);
        _publisher.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }
}
