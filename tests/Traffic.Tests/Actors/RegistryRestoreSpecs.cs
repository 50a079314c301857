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
/// A registry started with <c>awaitRestore</c> (persistence): subscriptions, and their resumes, wait for
/// the journal's history (at most <see cref="TopicRegistryActor.RestoreWait"/>); the restored entries are
/// replayed across streams in the journal's order, before anything live.
/// </summary>
public sealed class RegistryRestoreSpecs : TestKit
{
    private const string Epoch = "k3x9ab12";
    private readonly IActorRef _registry;

    public RegistryRestoreSpecs() : base(VirtualTime.Config)
    {
        _registry = Sys.ActorOf(TopicRegistryActor.Props(history: new HistorySettings(100, TimeSpan.FromMinutes(10)), awaitRestore: true));
        Heads(); // started: its timer runs from now
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private static readonly ServerFrame State = ServerMessages.Snapshot(new Dictionary<Topic, IReadOnlyList<EntityJson>>(), DateTimeOffset.UnixEpoch);

    private static ServerFrame Numbered(Topic? topic, long offset, string marker) =>
        ServerMessages.Published(ServerMessageType.Alert, topic, Encoding.UTF8.GetBytes($$"""{"m":"{{marker}}"}"""), DateTimeOffset.UnixEpoch,
            new FrameSequence(Epoch, offset, offset - 1));

    private StreamJournal.Entry Entry(Topic? topic, long offset, string marker) =>
        new(Scheduler.Now.ToUnixTimeMilliseconds(), topic, Numbered(topic, offset, marker));

    private ProbeSocket Register(string since, TopicSet topics)
    {
        Assert.True(ResumeRequest.TryParseQuery(since, out var request, out var problem), problem);
        var socket = new ProbeSocket(CreateTestProbe());
        _registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, socket, topics, null, State, request, topics));
        return socket;
    }

    private StreamPosition?[] Heads()
    {
        _registry.Tell(RegistryCommands.GetHeads.Instance);
        return ExpectMsg<RegistryCommands.Heads>().Positions.ToArray();
    }

    private static string? Marker(JsonElement frame) => frame.GetProperty("data").GetProperty("m").GetString();

    private static StreamPosition?[] HeadsWith(params (int Stream, long Offset)[] heads)
    {
        var all = new StreamPosition?[Streams.Count];
        foreach (var (stream, offset) in heads) all[stream] = new StreamPosition(Epoch, offset);
        return all;
    }

    [Fact]
    public void A_resume_waits_for_the_journals_history_and_gets_it_across_streams_in_the_journals_order()
    {
        var socket = Register($"accidents:{Epoch}:1,weather:{Epoch}:0", TopicSet.Of(Topic.Accidents, Topic.Weather));
        Heads(); // everything else is served meanwhile
        socket.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        _registry.Tell(new RegistryCommands.RestoreHistory(
            [Entry(Topic.Accidents, 1, "a1"), Entry(Topic.Accidents, 2, "a2"), Entry(Topic.Weather, 1, "w1"), Entry(Topic.Accidents, 3, "a3")],
            HeadsWith(((int)Topic.Accidents, 3), ((int)Topic.Weather, 1), ((int)Topic.Cameras, 0))));
        var resumed = socket.ExpectFrame("RESUMED").GetProperty("topics");
        Assert.True(resumed.GetProperty("accidents").GetProperty("recovered").GetBoolean());
        Assert.True(resumed.GetProperty("weather").GetProperty("recovered").GetBoolean());
        Assert.Equal(["a2", "w1", "a3"], Enumerable.Range(0, 3).Select(_ => Marker(socket.ExpectFrame("ALERT"))));

        var heads = Heads();
        Assert.Equal(new StreamPosition(Epoch, 3), heads[(int)Topic.Accidents]);
        Assert.Equal(new StreamPosition(Epoch, 0), heads[(int)Topic.Cameras]); // a stream only the heads mark knows
        Assert.Null(heads[(int)Topic.Patterns]);

        // Later subscriptions are served at once.
        var later = Register($"accidents:{Epoch}:2", TopicSet.Of(Topic.Accidents));
        later.ExpectFrame("RESUMED");
        Assert.Equal("a3", Marker(later.ExpectFrame("ALERT")));
    }

    [Fact]
    public void Without_the_history_subscriptions_are_served_after_the_restore_wait()
    {
        var socket = Register($"accidents:{Epoch}:1", TopicSet.Of(Topic.Accidents));
        Scheduler.Advance(TopicRegistryActor.RestoreWait - TimeSpan.FromMilliseconds(1));
        Heads();
        socket.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        var accidents = socket.ExpectFrame("RESUMED").GetProperty("topics").GetProperty("accidents");
        Assert.False(accidents.GetProperty("recovered").GetBoolean());
        Assert.Equal(ResumeOutcome.NoHistory, accidents.GetProperty("reason").GetString());
        socket.ExpectFrame("SNAPSHOT");

        // A history that comes late (a journal started again) is still taken.
        _registry.Tell(new RegistryCommands.RestoreHistory([Entry(Topic.Accidents, 1, "a1"), Entry(Topic.Accidents, 2, "a2")],
            HeadsWith(((int)Topic.Accidents, 2))));
        var late = Register($"accidents:{Epoch}:1", TopicSet.Of(Topic.Accidents));
        late.ExpectFrame("RESUMED");
        Assert.Equal("a2", Marker(late.ExpectFrame("ALERT")));
    }

    [Fact]
    public void The_restore_wait_ends_with_the_history_and_does_not_fire_afterwards()
    {
        _registry.Tell(new RegistryCommands.RestoreHistory([], HeadsWith()));
        Scheduler.Advance(TopicRegistryActor.RestoreWait);
        var socket = Register($"accidents:{Epoch}:1", TopicSet.Of(Topic.Accidents));
        Assert.Equal(ResumeOutcome.NoHistory, socket.ExpectFrame("RESUMED").GetProperty("topics").GetProperty("accidents").GetProperty("reason").GetString());
        socket.ExpectFrame("SNAPSHOT");
        socket.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // served once, not again when the wait would have ended
    }

    [Fact]
    public void Restored_entries_come_before_live_ones_of_other_streams_in_a_resume()
    {
        // A restarted journal's history arriving after live messages (the registry serving already).
        _registry.Tell(new RegistryCommands.RestoreHistory([], HeadsWith()));
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Weather, Numbered(Topic.Weather, 5, "w5")));
        _registry.Tell(new RegistryCommands.RestoreHistory([Entry(Topic.Accidents, 1, "a1"), Entry(Topic.Accidents, 2, "a2")], HeadsWith(((int)Topic.Accidents, 2))));
        var socket = Register($"accidents:{Epoch}:0,weather:{Epoch}:4", TopicSet.Of(Topic.Accidents, Topic.Weather));
        socket.ExpectFrame("RESUMED");
        Assert.Equal(["a1", "a2", "w5"], Enumerable.Range(0, 3).Select(_ => Marker(socket.ExpectFrame("ALERT"))));
    }
}
