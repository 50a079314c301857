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

/// <summary>
/// The sequencer's deltas (what changed since the topic's previous UPDATE), its announcements of
/// where each stream stands, how it starts without an answer from its registry, and forwarded
/// publishes of every kind.
/// </summary>
public sealed class TopicSequencerDeltaSpecs : TestKit
{
    private readonly TestProbe _publisher;
    private readonly TestProbe _registry;

    public TopicSequencerDeltaSpecs() : base(VirtualTime.Config)
    {
        _publisher = CreateTestProbe();
        _registry = CreateTestProbe();
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    /// <summary>A sequencer whose registry answers with <paramref name="heads"/>; its first announcement is taken.</summary>
    private IActorRef Started(params StreamPosition?[] heads)
    {
        var sequencer = Sys.ActorOf(TopicSequencerActor.Props(_publisher.Ref, _registry.Ref));
        _registry.ExpectMsg<RegistryCommands.GetHeads>();
        var answer = new StreamPosition?[Streams.Count];
        heads.CopyTo(answer, 0);
        _registry.Reply(new RegistryCommands.Heads(answer));
        _publisher.ExpectMsg<RegistryCommands.AnnounceHeads>();
        return sequencer;
    }

    private static EntityJson Entity(string id, int value) => new(id, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","value":{{value}}}"""));

    private ServerFrame ExpectFrame(Topic topic)
    {
        var publish = _publisher.ExpectMsg<RegistryCommands.PublishToTopic>();
        Assert.Equal(topic, publish.Topic);
        return publish.Frame;
    }

    [Fact]
    public void The_first_update_of_a_topic_has_no_delta_and_the_next_one_carries_what_changed_since_it()
    {
        var sequencer = Started();
        sequencer.Tell(new SequencerCommands.PublishEntities(Topic.Cameras, [Entity("c1", 1), Entity("c2", 2), Entity("c3", 3)]));
        var first = ExpectFrame(Topic.Cameras);
        Assert.Null(first.Delta);

        sequencer.Tell(new SequencerCommands.PublishEntities(Topic.Cameras, [Entity("c1", 1), Entity("c3", 30), Entity("c4", 4)]));
        var second = ExpectFrame(Topic.Cameras);
        var delta = Assert.IsType<FrameDelta>(second.Delta);
        Assert.Equal(first.Sequence!.Offset, delta.BaseOffset);
        var json = JsonDocument.Parse(delta.Utf8Json).RootElement;
        Assert.Equal("UPDATE", json.Type());
        Assert.Equal(second.Sequence!.Offset, json.GetProperty("offset").GetInt64());
        var changes = json.GetProperty("delta");
        Assert.Equal(first.Sequence.Offset, changes.GetProperty("base").GetInt64());
        Assert.Equal(["c3", "c4"], changes.GetProperty("upserted").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
        Assert.Equal(["c2"], changes.GetProperty("removed").Strings());
        // The whole list still travels for everyone else.
        Assert.Equal(3, JsonDocument.Parse(second.Utf8Json).RootElement.GetProperty("data").GetArrayLength());

        // Deltas are per topic: another topic's first UPDATE has none.
        sequencer.Tell(new SequencerCommands.PublishEntities(Topic.Weather, [Entity("w1", 1)]));
        Assert.Null(ExpectFrame(Topic.Weather).Delta);
    }

    [Fact]
    public void An_unchanged_list_gives_an_empty_delta()
    {
        var sequencer = Started();
        sequencer.Tell(new SequencerCommands.PublishEntities(Topic.Cameras, [Entity("c1", 1)]));
        ExpectFrame(Topic.Cameras);
        sequencer.Tell(new SequencerCommands.PublishEntities(Topic.Cameras, [Entity("c1", 1)]));
        var changes = JsonDocument.Parse(ExpectFrame(Topic.Cameras).Delta!.Utf8Json).RootElement.GetProperty("delta");
        Assert.Equal(0, changes.GetProperty("upserted").GetArrayLength());
        Assert.Equal(0, changes.GetProperty("removed").GetArrayLength());
    }

    [Fact]
    public void A_raw_update_breaks_the_chain_of_deltas_and_an_alert_does_not()
    {
        var sequencer = Started();
        sequencer.Tell(new SequencerCommands.PublishEntities(Topic.Cameras, [Entity("c1", 1)]));
        ExpectFrame(Topic.Cameras);
        sequencer.Tell(new SequencerCommands.PublishData(ServerMessageType.Alert, Topic.Cameras, "{}"u8.ToArray()));
        ExpectFrame(Topic.Cameras);
        sequencer.Tell(new SequencerCommands.PublishEntities(Topic.Cameras, [Entity("c1", 2)]));
        Assert.NotNull(ExpectFrame(Topic.Cameras).Delta);

        sequencer.Tell(new SequencerCommands.PublishData(ServerMessageType.Update, Topic.Cameras, """[{"id":"x"}]"""u8.ToArray()));
        Assert.Null(ExpectFrame(Topic.Cameras).Delta);
        sequencer.Tell(new SequencerCommands.PublishEntities(Topic.Cameras, [Entity("c1", 3)]));
        Assert.Null(ExpectFrame(Topic.Cameras).Delta); // its base would be the raw list, which no delta can start from

        // A raw UPDATE to every topic at once touches no topic's chain.
        sequencer.Tell(new SequencerCommands.PublishEntities(Topic.Weather, [Entity("w1", 1)]));
        ExpectFrame(Topic.Weather);
        sequencer.Tell(new SequencerCommands.PublishData(ServerMessageType.Update, null, "[]"u8.ToArray()));
        Assert.Null(_publisher.ExpectMsg<RegistryCommands.PublishToAll>().Frame.Delta);
        sequencer.Tell(new SequencerCommands.PublishEntities(Topic.Weather, [Entity("w1", 1)]));
        Assert.NotNull(ExpectFrame(Topic.Weather).Delta);
    }

    [Fact]
    public void The_heads_are_announced_at_start_and_every_five_seconds_with_the_last_offset_of_each_stream()
    {
        var sequencer = Sys.ActorOf(TopicSequencerActor.Props(_publisher.Ref, _registry.Ref));
        _registry.ExpectMsg<RegistryCommands.GetHeads>();
        var heads = new StreamPosition?[Streams.Count];
        heads[(int)Topic.Accidents] = new StreamPosition("k3x9ab12", 41);
        _registry.Reply(new RegistryCommands.Heads(heads));

        var start = _publisher.ExpectMsg<RegistryCommands.AnnounceHeads>().Heads;
        Assert.Equal(Streams.Count, start.Count);
        Assert.Equal(new StreamPosition("k3x9ab12", 41), start[(int)Topic.Accidents]); // the last known, not the jump
        var fresh = start[(int)Topic.Cameras]!.Value;
        Assert.Equal(0, fresh.Offset);
        Assert.All(start, head => Assert.NotNull(head));

        sequencer.Tell(new SequencerCommands.PublishData(ServerMessageType.Alert, Topic.Cameras, "{}"u8.ToArray()));
        ExpectFrame(Topic.Cameras);
        Assert.Equal(TimeSpan.FromSeconds(5), TopicSequencerActor.AnnounceInterval);
        Scheduler.Advance(TopicSequencerActor.AnnounceInterval);
        var later = _publisher.ExpectMsg<RegistryCommands.AnnounceHeads>().Heads;
        Assert.Equal(new StreamPosition(fresh.Epoch, 1), later[(int)Topic.Cameras]);
        Scheduler.Advance(TopicSequencerActor.AnnounceInterval);
        _publisher.ExpectMsg<RegistryCommands.AnnounceHeads>();
    }

    [Fact]
    public void Publishes_wait_for_the_registrys_answer_and_without_one_in_three_seconds_every_stream_starts_a_new_epoch()
    {
        Assert.Equal(TimeSpan.FromSeconds(3), TopicSequencerActor.HeadsWait);
        var sequencer = Sys.ActorOf(TopicSequencerActor.Props(_publisher.Ref, _registry.Ref));
        _registry.ExpectMsg<RegistryCommands.GetHeads>();
        sequencer.Tell(new SequencerCommands.PublishData(ServerMessageType.Alert, Topic.Accidents, "{}"u8.ToArray()));
        Scheduler.Advance(TimeSpan.FromSeconds(2.9));
        _publisher.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        Scheduler.Advance(TimeSpan.FromSeconds(0.1));
        var heads = _publisher.ExpectMsg<RegistryCommands.AnnounceHeads>().Heads;
        Assert.Single(heads.Select(h => h!.Value.Epoch).Distinct());
        var frame = ExpectFrame(Topic.Accidents); // the publish that waited
        Assert.Equal(new FrameSequence(heads[0]!.Value.Epoch, 1, 0), frame.Sequence);

        // A late answer changes nothing.
        sequencer.Tell(new RegistryCommands.Heads([new StreamPosition("late1", 99)]));
        sequencer.Tell(new SequencerCommands.PublishData(ServerMessageType.Alert, Topic.Accidents, "{}"u8.ToArray()));
        Assert.Equal(2, ExpectFrame(Topic.Accidents).Sequence!.Offset);
    }

    [Fact]
    public void An_answer_in_time_cancels_the_wait()
    {
        var sequencer = Started();
        Scheduler.Advance(TopicSequencerActor.HeadsWait);
        sequencer.Tell(new SequencerCommands.PublishData(ServerMessageType.Alert, Topic.Accidents, "{}"u8.ToArray()));
        Assert.Equal(1, ExpectFrame(Topic.Accidents).Sequence!.Offset);
        _publisher.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // no second start, no second announcement
    }

    [Fact]
    public void Forwarded_entity_lists_and_alerts_to_every_topic_are_numbered_like_direct_ones_and_each_origin_counts_apart()
    {
        var sequencer = Started();
        var forwarder = CreateTestProbe();
        sequencer.Tell(new SequencerCommands.Forwarded("node-a", 1, 1, new SequencerCommands.PublishEntities(Topic.Cameras, [Entity("c1", 1)]), forwarder.Ref));
        Assert.Equal(1, ExpectFrame(Topic.Cameras).Sequence!.Offset);
        Assert.Equal(new SequencerCommands.ForwardedUpTo("node-a", 1), forwarder.ExpectMsg<SequencerCommands.ForwardedUpTo>());

        sequencer.Tell(new SequencerCommands.Forwarded("node-b", 1, 1, new SequencerCommands.PublishData(ServerMessageType.Alert, null, "{}"u8.ToArray()), forwarder.Ref));
        Assert.Equal(1, _publisher.ExpectMsg<RegistryCommands.PublishToAll>().Frame.Sequence!.Offset);
        Assert.Equal(new SequencerCommands.ForwardedUpTo("node-b", 1), forwarder.ExpectMsg<SequencerCommands.ForwardedUpTo>());

        // One past a gap waits for the resend: not taken, not acknowledged.
        sequencer.Tell(new SequencerCommands.Forwarded("node-a", 3, 2, new SequencerCommands.PublishEntities(Topic.Cameras, []), forwarder.Ref));
        _publisher.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        forwarder.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void How_the_sequencer_started_is_logged()
    {
        EventFilter.Info(start: "Sequencer continues accidents k3x9ab12:41").ExpectOne(() =>
        {
            var heads = new StreamPosition?[Streams.Count];
            heads[(int)Topic.Accidents] = new StreamPosition("k3x9ab12", 41);
            Sys.ActorOf(TopicSequencerActor.Props(_publisher.Ref, _registry.Ref));
            _registry.ExpectMsg<RegistryCommands.GetHeads>();
            _registry.Reply(new RegistryCommands.Heads(heads));
            _publisher.ExpectMsg<RegistryCommands.AnnounceHeads>();
        });
        EventFilter.Info(start: "Sequencer starts epoch ").ExpectOne(() => Started());
        EventFilter.Warning("No answer from this node's registry within 3.0 s; the sequencer starts new epochs").ExpectOne(() =>
        {
            Sys.ActorOf(TopicSequencerActor.Props(_publisher.Ref, _registry.Ref));
            _registry.ExpectMsg<RegistryCommands.GetHeads>();
            Scheduler.Advance(TopicSequencerActor.HeadsWait);
            _publisher.ExpectMsg<RegistryCommands.AnnounceHeads>();
        });
    }

    [Fact]
    public void A_registry_answer_naming_fewer_streams_continues_those_and_starts_the_rest_in_a_new_epoch()
    {
        var sequencer = Sys.ActorOf(TopicSequencerActor.Props(_publisher.Ref, _registry.Ref));
        _registry.ExpectMsg<RegistryCommands.GetHeads>();
        _registry.Reply(new RegistryCommands.Heads([new StreamPosition("k3x9ab12", 7)])); // cameras only
        var heads = _publisher.ExpectMsg<RegistryCommands.AnnounceHeads>().Heads;
        Assert.Equal(new StreamPosition("k3x9ab12", 7), heads[(int)Topic.Cameras]);
        Assert.Equal(0, heads[(int)Topic.Weather]!.Value.Offset);

        sequencer.Tell(new SequencerCommands.PublishData(ServerMessageType.Alert, Topic.Weather, "{}"u8.ToArray()));
        Assert.Equal(1, ExpectFrame(Topic.Weather).Sequence!.Offset);
    }
}
