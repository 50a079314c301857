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
/// A registry with persistence reads from the journal what it does not hold in memory: the messages
/// it missed in its live stream (a message between nodes lost), delivered in order before the stream
/// goes on (the gap is told, RESUMED reason gap, only where the journal lacks them), and those a
/// client resumes from that are older than the memory history (within the time to live).
/// </summary>
public sealed class RegistryJournalReadSpecs : PersistenceSpecKit
{
    private const string Epoch = "g4p9fi11";

    private static readonly ServerFrame State = ServerMessages.Snapshot(new Dictionary<Topic, IReadOnlyList<EntityJson>>(), DateTimeOffset.UnixEpoch);

    private readonly IActorRef _registry;

    private static readonly TimeSpan Ttl = TimeSpan.FromHours(1);

    public RegistryJournalReadSpecs() =>
        _registry = Sys.ActorOf(TopicRegistryActor.Props(history: new HistorySettings(3, Ttl), fillGaps: true)); // memory: 3 per stream

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

    private StreamJournal.Entry Entry(Topic? topic, long offset, string marker, TimeSpan? age = null) =>
        new((Scheduler.Now - (age ?? TimeSpan.Zero)).ToUnixTimeMilliseconds(), topic, Numbered(topic, offset, marker));

    private ProbeSocket Resume(string positions, TopicSet topics)
    {
        var socket = new ProbeSocket(CreateTestProbe());
        Assert.True(ResumeRequest.TryParseQuery(positions, out var since, out var problem), problem);
        _registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, socket, topics, null, State, since, topics));
        return socket;
    }

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

        // The history holds them too: a client that had a2 resumes with exactly a3..a5 (from memory, which holds 3).
        var resumer = Resume($"accidents:{Epoch}:2", TopicSet.Of(Topic.Accidents));
        Assert.True(resumer.ExpectFrame("RESUMED", Patience).GetProperty("topics").GetProperty("accidents").GetProperty("recovered").GetBoolean());
        Assert.Equal(["a3", "a4", "a5"], Enumerable.Range(0, 3).Select(_ => Next(resumer)));
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

    [Fact]
    public async Task A_journal_that_does_not_answer_in_time_ends_in_the_gap_being_told_and_nothing_held_is_lost()
    {
        Journaled(Entry(Topic.Accidents, 1, "a1"), Entry(Topic.Accidents, 2, "a2"));
        Publish(Topic.Accidents, 1, "a1");
        var accidents = Subscribe(TopicSet.Of(Topic.Accidents));
        var reads = new JournalGate();
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

    [Fact]
    public void A_resume_older_than_the_memory_history_is_served_from_the_journal_in_order_then_live()
    {
        var journaled = new List<StreamJournal.Entry>();
        for (var offset = 1; offset <= 6; offset++)
        {
            journaled.Add(Entry(Topic.Accidents, offset, $"a{offset}"));
            if (offset == 3) journaled.Add(Entry(null, 1, "x1"));
        }
        Journaled(journaled.ToArray());
        foreach (var entry in journaled) // as they arrived live; memory keeps a4..a6 (and x1)
            _registry.Tell(entry.Topic is { } topic ? new RegistryCommands.PublishToTopic(topic, entry.Frame) : new RegistryCommands.PublishToAll(entry.Frame));

        var socket = Resume($"accidents:{Epoch}:1,all:{Epoch}:0", TopicSet.Of(Topic.Accidents));
        var resumed = socket.ExpectFrame("RESUMED", Patience).GetProperty("topics");
        var accidents = resumed.GetProperty("accidents");
        Assert.True(accidents.GetProperty("recovered").GetBoolean());
        Assert.Equal((2L, 6L), (accidents.GetProperty("from").GetInt64(), accidents.GetProperty("to").GetInt64()));
        Assert.True(resumed.GetProperty("all").GetProperty("recovered").GetBoolean());
        // In the order they were numbered, across streams: the journal's a2, a3, then memory's x1, a4..a6.
        Assert.Equal(["a2", "a3", "x1", "a4", "a5", "a6"], Enumerable.Range(0, 6).Select(_ => Next(socket)));
        Publish(Topic.Accidents, 7, "a7");
        Assert.Equal("a7", Next(socket)); // no SNAPSHOT between: every topic was recovered
    }

    [Fact]
    public void A_resume_older_than_the_time_to_live_or_than_the_journal_is_too_old_as_before()
    {
        var stale = Enumerable.Range(1, 3).Select(o => Entry(Topic.Accidents, o, $"a{o}", age: Ttl + TimeSpan.FromMinutes(1))).ToArray();
        Journaled([.. stale, .. Enumerable.Range(4, 3).Select(o => Entry(Topic.Accidents, o, $"a{o}"))]);
        for (var offset = 1; offset <= 6; offset++) Publish(Topic.Accidents, offset, $"a{offset}"); // memory keeps a4..a6

        var past = Resume($"accidents:{Epoch}:1", TopicSet.Of(Topic.Accidents)); // a2, a3: past the time to live
        var outcome = past.ExpectFrame("RESUMED", Patience).GetProperty("topics").GetProperty("accidents");
        Assert.False(outcome.GetProperty("recovered").GetBoolean());
        Assert.Equal(ResumeOutcome.TooOld, outcome.GetProperty("reason").GetString());
        past.ExpectFrame("SNAPSHOT", Patience);
    }
}
