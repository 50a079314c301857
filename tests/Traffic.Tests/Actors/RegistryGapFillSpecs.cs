using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// A registry with persistence that sees a gap in its live stream (a message between nodes lost)
/// reads the missed messages from the journal and delivers them in order before the stream goes
/// on; only where the journal does not have them is the gap told (RESUMED, reason gap).
/// </summary>
public sealed class RegistryGapFillSpecs : PersistenceSpecKit
{
    private const string Epoch = "g4p9fi11";

    private static readonly ServerFrame State = ServerMessages.Snapshot(new Dictionary<Topic, IReadOnlyList<EntityJson>>(), DateTimeOffset.UnixEpoch);

    private readonly IActorRef _registry;

    public RegistryGapFillSpecs() =>
        _registry = Sys.ActorOf(TopicRegistryActor.Props(history: new HistorySettings(100, TimeSpan.FromHours(1)), fillGaps: true));

    /// <summary>Writes entries to the streams' journal as the sequencer's journal does (same persistence id, same event).</summary>
    private sealed class JournalWriter : ReceivePersistentActor
    {
        public JournalWriter()
        {
            Command<StreamJournal.Entry[]>(entries => PersistAll(entries, _ => { }, () => Sender.Tell("written")));
        }

        public override string PersistenceId => StreamJournal.PersistenceId;
    }

    private void Journaled(params StreamJournal.Entry[] entries)
    {
        var writer = Sys.ActorOf(Props.Create(() => new JournalWriter()));
        writer.Tell(entries, TestActor);
        ExpectMsg("written", Patience);
        StopAndWait(writer);
    }

    private static ServerFrame Numbered(Topic? topic, long offset, string marker) =>
        ServerMessages.Published(ServerMessageType.Alert, topic, Encoding.UTF8.GetBytes($$"""{"m":"{{marker}}"}"""), DateTimeOffset.UnixEpoch,
            new FrameSequence(Epoch, offset, offset - 1));

    private static StreamJournal.Entry Entry(Topic? topic, long offset, string marker) => new(0, topic, Numbered(topic, offset, marker));

    private void Publish(Topic? topic, long offset, string marker) =>
        _registry.Tell(topic is { } t
            ? new RegistryCommands.PublishToTopic(t, Numbered(t, offset, marker))
            : new RegistryCommands.PublishToAll(Numbered(null, offset, marker)));

    private ProbeSocket Subscribe(TopicSet topics)
    {
        var socket = new ProbeSocket(CreateTestProbe());
        _registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, socket, topics, null, State));
        socket.ExpectFrame("SNAPSHOT", Patience);
        return socket;
    }

    /// <summary>The next frame's type and marker.</summary>
    private static string Next(ProbeSocket socket)
    {
        var frame = socket.ExpectFrame(Patience);
        var type = frame.GetProperty("type").GetString();
        return type == "ALERT" ? frame.GetProperty("data").GetProperty("m").GetString()! : type!;
    }

    private long HeadOf(int stream)
    {
        _registry.Tell(RegistryCommands.GetHeads.Instance);
        return ExpectMsg<RegistryCommands.Heads>(Patience).Positions[stream]!.Value.Offset;
    }

    [Fact]
    public void Messages_missed_between_nodes_are_read_from_the_journal_and_delivered_in_order_before_the_stream_goes_on()
    {
        Journaled(Entry(Topic.Accidents, 1, "a1"), Entry(Topic.Accidents, 2, "a2"), Entry(Topic.Cameras, 1, "c1"),
            Entry(Topic.Accidents, 3, "a3"), Entry(Topic.Accidents, 4, "a4"));
        Publish(Topic.Accidents, 1, "a1");
        var accidents = Subscribe(TopicSet.Of(Topic.Accidents));
        var cameras = Subscribe(TopicSet.Of(Topic.Cameras));

        Publish(Topic.Accidents, 4, "a4"); // 2 and 3 never reached this node
        Publish(Topic.Accidents, 5, "a5"); // arrives while the journal is read: held, then delivered after
        Publish(Topic.Cameras, 1, "c1");   // another stream goes on meanwhile

        Assert.Equal(["a2", "a3", "a4", "a5"], Enumerable.Range(0, 4).Select(_ => Next(accidents))); // no RESUMED: nothing was lost
        Assert.Equal("c1", Next(cameras));
        Assert.Equal(5, HeadOf((int)Topic.Accidents));

        // The history holds them too: a client that had a1 resumes with exactly a2..a5.
        var resumer = new ProbeSocket(CreateTestProbe());
        Assert.True(ResumeRequest.TryParseQuery($"accidents:{Epoch}:1", out var since, out _));
        _registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, resumer, TopicSet.Of(Topic.Accidents), null, State, since,
            TopicSet.Of(Topic.Accidents)));
        Assert.True(resumer.ExpectFrame("RESUMED", Patience).GetProperty("topics").GetProperty("accidents").GetProperty("recovered").GetBoolean());
        Assert.Equal(["a2", "a3", "a4", "a5"], Enumerable.Range(0, 4).Select(_ => Next(resumer)));
    }

    [Fact]
    public void An_announced_head_past_this_nodes_is_filled_from_the_journal_too()
    {
        Journaled(Entry(null, 1, "x1"), Entry(null, 2, "x2"), Entry(null, 3, "x3"));
        Publish(null, 1, "x1");
        var everyone = Subscribe(TopicSet.Of(Topic.Weather));

        var announced = new StreamPosition?[Streams.Count];
        announced[Streams.All] = new StreamPosition(Epoch, 3);
        _registry.Tell(new RegistryCommands.AnnounceHeads(announced));

        Assert.Equal(["x2", "x3"], Enumerable.Range(0, 2).Select(_ => Next(everyone)));
        Assert.Equal(3, HeadOf(Streams.All));
        Publish(null, 4, "x4");
        Assert.Equal("x4", Next(everyone));
    }

    [Fact]
    public void Where_the_journal_lacks_a_missed_message_the_subscribers_are_told_of_the_gap_then_the_stream_goes_on()
    {
        Journaled(Entry(Topic.Accidents, 1, "a1"), Entry(Topic.Accidents, 2, "a2")); // a3 is not there
        Publish(Topic.Accidents, 1, "a1");
        var accidents = Subscribe(TopicSet.Of(Topic.Accidents));

        Publish(Topic.Accidents, 4, "a4");
        Publish(Topic.Accidents, 5, "a5");

        var notice = accidents.ExpectFrame("RESUMED", Patience).GetProperty("topics").GetProperty("accidents");
        Assert.False(notice.GetProperty("recovered").GetBoolean());
        Assert.Equal(ResumeOutcome.Gap, notice.GetProperty("reason").GetString());
        Assert.Equal(3, notice.GetProperty("offset").GetInt64()); // where the live stream continues from
        Assert.Equal(["a4", "a5"], Enumerable.Range(0, 2).Select(_ => Next(accidents))); // a2 is not sent alone: the gap is told once
    }

    /// <summary>Holds every read of the journal until <see cref="Open"/>.</summary>
    private sealed class HeldReads : IJournalInterceptor
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public volatile int Held;

        public void Open() => _open.TrySetResult();

        public async Task InterceptAsync(IPersistentRepresentation message)
        {
            Interlocked.Increment(ref Held);
            await _open.Task;
        }
    }

    [Fact]
    public async Task A_journal_that_does_not_answer_in_time_ends_in_the_gap_being_told_and_nothing_held_is_lost()
    {
        Journaled(Entry(Topic.Accidents, 1, "a1"), Entry(Topic.Accidents, 2, "a2"));
        Publish(Topic.Accidents, 1, "a1");
        var accidents = Subscribe(TopicSet.Of(Topic.Accidents));
        var reads = new HeldReads();
        await Journal.OnRecovery.SetInterceptorAsync(reads);
        try
        {
            Publish(Topic.Accidents, 3, "a3");
            Publish(Topic.Accidents, 4, "a4");
            AwaitCondition(() => reads.Held > 0, Patience); // the gap's read has begun, and hangs
            accidents.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // held while it runs
            AdvanceBy(GapFill.ReadWait + TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

            Assert.Equal(ResumeOutcome.Gap, accidents.ExpectFrame("RESUMED", Patience).GetProperty("topics").GetProperty("accidents").GetProperty("reason").GetString());
            Assert.Equal(["a3", "a4"], Enumerable.Range(0, 2).Select(_ => Next(accidents)));
        }
        finally
        {
            reads.Open();
        }
    }
}
