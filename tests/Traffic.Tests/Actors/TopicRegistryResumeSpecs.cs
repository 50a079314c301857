using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// The registry's history side: where each stream stands, a resume served in the registering turn
/// (RESUMED, the missed frames across streams in arrival order, the state only when needed), the
/// SNAPSHOT's positions, and what it counts.
/// </summary>
public sealed class TopicRegistryResumeSpecs : TestKit, IDisposable
{
    private const string Epoch = "k3x9ab12";
    private readonly Meter _meter = new("registry-resume-spec");
    private readonly IActorRef _registry;

    public TopicRegistryResumeSpecs() : base(VirtualTime.Config) =>
        _registry = Sys.ActorOf(TopicRegistryActor.Props(new TrafficMetrics(_meter), new HistorySettings(3, TimeSpan.FromMinutes(1))));

    void IDisposable.Dispose()
    {
        _meter.Dispose();
        Dispose();
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private static readonly ServerFrame State = ServerMessages.Snapshot(new Dictionary<Topic, IReadOnlyList<EntityJson>>(), DateTimeOffset.UnixEpoch);

    /// <summary>A numbered frame of <paramref name="topic"/> (null: the "all" stream), as the sequencer makes it.</summary>
    private static ServerFrame Numbered(Topic? topic, long offset, string marker) =>
        ServerMessages.Published(ServerMessageType.Alert, topic, Encoding.UTF8.GetBytes($$"""{"m":"{{marker}}"}"""), DateTimeOffset.UnixEpoch,
            new FrameSequence(Epoch, offset, offset - 1));

    private void Publish(Topic? topic, long offset, string marker) =>
        _registry.Tell(topic is { } t
            ? new RegistryCommands.PublishToTopic(t, Numbered(t, offset, marker))
            : new RegistryCommands.PublishToAll(Numbered(null, offset, marker)));

    private static ResumeRequest Since(string query)
    {
        Assert.True(ResumeRequest.TryParseQuery(query, out var since, out var problem), problem);
        return since!;
    }

    private ProbeSocket Register(TopicSet topics, ResumeRequest? since, TopicSet needState, ServerFrame? thenSend = null)
    {
        var socket = new ProbeSocket(CreateTestProbe());
        _registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, socket, topics, thenSend, State, since, needState));
        return socket;
    }

    private StreamPosition?[] Heads()
    {
        _registry.Tell(RegistryCommands.GetHeads.Instance);
        return ExpectMsg<RegistryCommands.Heads>().Positions.ToArray();
    }

    private static string? Marker(JsonElement frame) => frame.GetProperty("data").GetProperty("m").GetString();

    [Fact]
    public void The_heads_are_the_last_numbered_frame_of_each_stream_and_announcements_move_them()
    {
        Assert.All(Heads(), head => Assert.Null(head));
        Assert.Equal(Streams.Count, Heads().Length);
        Publish(Topic.Cameras, 1, "c1");
        Publish(Topic.Cameras, 2, "c2");
        Publish(null, 7, "all");
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Weather, ServerMessages.Published(ServerMessageType.Alert, Topic.Weather, "{}"u8, DateTimeOffset.UnixEpoch)));

        var heads = Heads();
        Assert.Equal(new StreamPosition(Epoch, 2), heads[(int)Topic.Cameras]);
        Assert.Equal(new StreamPosition(Epoch, 7), heads[Streams.All]);
        Assert.Null(heads[(int)Topic.Weather]); // a frame without a number is not history

        var announced = new StreamPosition?[Streams.Count];
        announced[(int)Topic.Accidents] = new StreamPosition("other1", 40);
        announced[(int)Topic.Cameras] = new StreamPosition(Epoch, 1); // behind this node: no change
        _registry.Tell(new RegistryCommands.AnnounceHeads(announced));
        heads = Heads();
        Assert.Equal(new StreamPosition("other1", 40), heads[(int)Topic.Accidents]);
        Assert.Equal(new StreamPosition(Epoch, 2), heads[(int)Topic.Cameras]);

        _registry.Tell(new RegistryCommands.AnnounceHeads([new StreamPosition(Epoch, 9)])); // a shorter list: only the first stream
        Assert.Equal(new StreamPosition(Epoch, 9), Heads()[0]);
    }

    [Fact]
    public void A_gap_in_the_live_stream_is_told_to_the_streams_subscribers_before_the_next_message_never_silently()
    {
        Publish(Topic.Accidents, 1, "a1");
        var accidents = Register(TopicSet.Of(Topic.Accidents), null, TopicSet.None);
        var cameras = Register(TopicSet.Of(Topic.Cameras), null, TopicSet.None);
        accidents.ExpectFrame("SNAPSHOT");
        cameras.ExpectFrame("SNAPSHOT");

        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Accidents,
            ServerMessages.Published(ServerMessageType.Alert, Topic.Accidents, """{"m":"a4"}"""u8, DateTimeOffset.UnixEpoch,
                new FrameSequence(Epoch, 4, 3)))); // 2 and 3 never reached this node

        var notice = accidents.ExpectFrame("RESUMED").GetProperty("topics").GetProperty("accidents");
        Assert.False(notice.GetProperty("recovered").GetBoolean());
        Assert.Equal(ResumeOutcome.Gap, notice.GetProperty("reason").GetString());
        Assert.Equal(3, notice.GetProperty("offset").GetInt64()); // where the live stream continues from
        Assert.Equal("a4", Marker(accidents.ExpectFrame("ALERT")));

        // The same from an announcement: the sequencer's head is past this node's.
        var announced = new StreamPosition?[Streams.Count];
        announced[(int)Topic.Accidents] = new StreamPosition(Epoch, 6);
        _registry.Tell(new RegistryCommands.AnnounceHeads(announced));
        Assert.Equal(6, accidents.ExpectFrame("RESUMED").GetProperty("topics").GetProperty("accidents").GetProperty("offset").GetInt64());

        // Subscribers of other topics hear nothing of it.
        Publish(Topic.Cameras, 1, "c1");
        Assert.Equal("c1", Marker(cameras.ExpectFrame("ALERT")));
    }

    [Fact]
    public void A_resume_sends_RESUMED_then_what_was_missed_on_every_stream_in_arrival_order_and_no_state_when_all_is_recovered()
    {
        Publish(Topic.Cameras, 1, "c1");
        Publish(Topic.Accidents, 1, "a1");
        Publish(Topic.Cameras, 2, "c2");
        Publish(null, 1, "x1");
        Publish(Topic.Accidents, 2, "a2");

        var ack = ServerMessages.SubscriptionAck(true, TopicSet.Of(Topic.Cameras), TopicSet.Of(Topic.Cameras, Topic.Accidents), DateTimeOffset.UnixEpoch);
        var socket = Register(TopicSet.Of(Topic.Cameras, Topic.Accidents), Since($"cameras:{Epoch}:1,accidents:{Epoch}:0,all:{Epoch}:0"),
            TopicSet.Of(Topic.Cameras, Topic.Accidents), ack);

        Assert.Same(ack, socket.Probe.ExpectMsg<ServerFrame>()); // the follow-up first
        var resumed = socket.ExpectFrame("RESUMED").GetProperty("topics");
        Assert.Equal(["cameras", "accidents", "all"], resumed.EnumerateObject().Select(p => p.Name));
        var cameras = resumed.GetProperty("cameras");
        Assert.True(cameras.GetProperty("recovered").GetBoolean());
        Assert.Equal(Epoch, cameras.GetProperty("epoch").GetString());
        Assert.Equal(2, cameras.GetProperty("offset").GetInt64());
        Assert.Equal((2L, 2L), (cameras.GetProperty("from").GetInt64(), cameras.GetProperty("to").GetInt64()));
        Assert.Equal((1L, 2L), (resumed.GetProperty("accidents").GetProperty("from").GetInt64(), resumed.GetProperty("accidents").GetProperty("to").GetInt64()));

        Assert.Equal(["a1", "c2", "x1", "a2"], Enumerable.Range(0, 4).Select(_ => Marker(socket.ExpectFrame("ALERT"))));

        // Every named topic was recovered: no SNAPSHOT; the next frame is the next publish.
        Publish(Topic.Cameras, 3, "c3");
        Assert.Equal("c3", Marker(socket.ExpectFrame("ALERT")));

        Assert.Equal(3, MeterReader.Read(_meter, "traffic.resumes", "result", "recovered"));
        Assert.Equal(0, MeterReader.Read(_meter, "traffic.resumes", "result", "not_recovered"));
        Assert.Equal(4, MeterReader.Read(_meter, "traffic.messages.replayed"));
    }

    [Fact]
    public void A_topic_that_cannot_be_recovered_or_was_not_named_gets_the_state_with_the_positions_after_the_missed_frames()
    {
        Publish(Topic.Cameras, 1, "c1");
        Publish(Topic.Cameras, 2, "c2");

        var tooOld = Register(TopicSet.Of(Topic.Cameras), Since($"cameras:otherep:1"), TopicSet.Of(Topic.Cameras));
        var outcome = tooOld.ExpectFrame("RESUMED").GetProperty("topics").GetProperty("cameras");
        Assert.False(outcome.GetProperty("recovered").GetBoolean());
        Assert.Equal(ResumeOutcome.EpochChanged, outcome.GetProperty("reason").GetString());
        var snapshot = tooOld.ExpectFrame("SNAPSHOT");
        Assert.Equal(2, snapshot.GetProperty("positions").GetProperty("cameras").GetProperty("offset").GetInt64());
        Assert.Equal(1, MeterReader.Read(_meter, "traffic.resumes", "result", "not_recovered"));

        // cameras recovered, but weather (also needing state) was not named: the state too.
        var unnamed = Register(TopicSet.Of(Topic.Cameras, Topic.Weather), Since($"cameras:{Epoch}:2"), TopicSet.Of(Topic.Cameras, Topic.Weather));
        Assert.True(unnamed.ExpectFrame("RESUMED").GetProperty("topics").GetProperty("cameras").GetProperty("recovered").GetBoolean());
        unnamed.ExpectFrame("SNAPSHOT");
    }

    [Fact]
    public void The_all_stream_not_recovered_needs_no_state_and_a_resume_for_topics_that_need_none_gets_none()
    {
        Publish(null, 1, "x1");
        var socket = Register(TopicSet.Of(Topic.Cameras), Since($"all:otherep:1"), TopicSet.None);
        Assert.False(socket.ExpectFrame("RESUMED").GetProperty("topics").GetProperty("all").GetProperty("recovered").GetBoolean());
        Publish(Topic.Cameras, 1, "c1");
        Assert.Equal("c1", Marker(socket.ExpectFrame("ALERT"))); // no SNAPSHOT in between

        var named = Register(TopicSet.Of(Topic.Cameras), Since($"all:otherep:1"), TopicSet.Of(Topic.Cameras));
        named.ExpectFrame("RESUMED");
        named.ExpectFrame("SNAPSHOT"); // cameras needs state and was not named
    }

    [Fact]
    public void A_resume_from_before_what_the_history_keeps_is_too_old()
    {
        for (var offset = 1; offset <= 5; offset++) Publish(Topic.Accidents, offset, $"a{offset}"); // the history keeps 3
        var socket = Register(TopicSet.Of(Topic.Accidents), Since($"accidents:{Epoch}:1"), TopicSet.Of(Topic.Accidents));
        Assert.Equal(ResumeOutcome.TooOld, socket.ExpectFrame("RESUMED").GetProperty("topics").GetProperty("accidents").GetProperty("reason").GetString());
        socket.ExpectFrame("SNAPSHOT");

        var recent = Register(TopicSet.Of(Topic.Accidents), Since($"accidents:{Epoch}:2"), TopicSet.Of(Topic.Accidents));
        Assert.True(recent.ExpectFrame("RESUMED").GetProperty("topics").GetProperty("accidents").GetProperty("recovered").GetBoolean());
        Assert.Equal(["a3", "a4", "a5"], Enumerable.Range(0, 3).Select(_ => Marker(recent.ExpectFrame("ALERT"))));
    }

    [Fact]
    public void Frames_older_than_the_time_to_live_are_not_replayed()
    {
        Publish(Topic.Accidents, 1, "a1");
        Heads(); // the publish has been taken in
        Scheduler.Advance(TimeSpan.FromSeconds(61));
        Publish(Topic.Accidents, 2, "a2");
        var socket = Register(TopicSet.Of(Topic.Accidents), Since($"accidents:{Epoch}:0"), TopicSet.Of(Topic.Accidents));
        Assert.Equal(ResumeOutcome.TooOld, socket.ExpectFrame("RESUMED").GetProperty("topics").GetProperty("accidents").GetProperty("reason").GetString());
    }

    [Fact]
    public void Without_a_resume_the_state_goes_out_with_every_streams_position_made_once_until_something_moves()
    {
        Publish(Topic.Cameras, 4, "c4");
        var first = Register(TopicSet.Of(Topic.Cameras), null, TopicSet.Of(Topic.Cameras));
        var second = Register(TopicSet.Of(Topic.Cameras), null, TopicSet.Of(Topic.Cameras));
        var a = first.Probe.ExpectMsg<ServerFrame>();
        var b = second.Probe.ExpectMsg<ServerFrame>();
        Assert.Same(a, b); // spliced once for both
        var positions = JsonDocument.Parse(a.Utf8Json).RootElement.GetProperty("positions");
        Assert.Equal(["cameras"], positions.EnumerateObject().Select(p => p.Name));
        Assert.Equal(4, positions.GetProperty("cameras").GetProperty("offset").GetInt64());

        Publish(Topic.Weather, 1, "w1");
        var third = Register(TopicSet.Of(Topic.Cameras), null, TopicSet.Of(Topic.Cameras));
        var c = third.Probe.ExpectMsg<ServerFrame>();
        Assert.NotSame(a, c);
        Assert.Equal(1, JsonDocument.Parse(c.Utf8Json).RootElement.GetProperty("positions").GetProperty("weather").GetProperty("offset").GetInt64());

        var announced = new StreamPosition?[Streams.Count];
        announced[(int)Topic.Patterns] = new StreamPosition(Epoch, 8);
        _registry.Tell(new RegistryCommands.AnnounceHeads(announced));
        var fourth = Register(TopicSet.Of(Topic.Cameras), null, TopicSet.Of(Topic.Cameras));
        var d = fourth.Probe.ExpectMsg<ServerFrame>();
        Assert.NotSame(c, d);
        Assert.Equal(8, JsonDocument.Parse(d.Utf8Json).RootElement.GetProperty("positions").GetProperty("patterns").GetProperty("offset").GetInt64());

        var otherState = ServerMessages.Snapshot(new Dictionary<Topic, IReadOnlyList<EntityJson>>(), DateTimeOffset.UnixEpoch.AddSeconds(1));
        var fifth = new ProbeSocket(CreateTestProbe());
        _registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, fifth, TopicSet.Of(Topic.Cameras), null, otherState, null, TopicSet.Of(Topic.Cameras)));
        var e = fifth.Probe.ExpectMsg<ServerFrame>();
        Assert.NotSame(d, e); // a new state: spliced again
        Assert.StartsWith(Encoding.UTF8.GetString(otherState.Utf8Json)[..^1], Encoding.UTF8.GetString(e.Utf8Json));
    }

    [Fact]
    public void A_registration_without_state_sends_no_snapshot()
    {
        var socket = new ProbeSocket(CreateTestProbe());
        _registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, socket, TopicSet.Of(Topic.Cameras), null));
        Publish(Topic.Cameras, 1, "c1");
        Assert.Equal("c1", Marker(socket.ExpectFrame("ALERT")));
    }
}
