using Akka.Actor;
using Akka.TestKit;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// The streams' journal on its own (and its read-only twin for cluster nodes): what a recovery gives
/// the registry and the sequencer, and retention (entries older than the history's time to live
/// deleted, after a heads mark that keeps every stream's epoch and head).
/// </summary>
public sealed class StreamJournalSpecs : PersistenceSpecKit
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);
    private readonly HistorySettings _history = new(1000, Ttl);
    private readonly TestProbe _fanOut = null!;
    private readonly TestProbe _restored;

    public StreamJournalSpecs()
    {
        _fanOut = CreateTestProbe();
        _fanOut.IgnoreMessages(m => m is RegistryCommands.AnnounceHeads);
        _restored = CreateTestProbe();
    }

    /// <summary>A sequencer (a fresh start) with its journal, which reports to <see cref="_restored"/>.</summary>
    private IActorRef StartSequencer()
    {
        var journal = StreamJournalActor.Props(_fanOut.Ref, _restored.Ref, _history);
        var sequencer = Sys.ActorOf(TopicSequencerActor.Props(_fanOut.Ref, RegistryAnswering().Ref, journal));
        var probe = CreateTestProbe();
        AwaitAssert(() =>
        {
            sequencer.Tell(SequencerCommands.GetStatus.Instance, probe.Ref);
            Assert.True(probe.ExpectMsg<SequencerCommands.Status>(Patience).Numbering);
        }, Patience, TimeSpan.FromMilliseconds(20));
        return sequencer;
    }

    private (Topic? Topic, string? Marker, FrameSequence Sequence, string Type) NextPublished() => Published(_fanOut.ExpectMsg<object>(Patience));

    /// <summary>What a reader of the journal gets, with a time to live of <paramref name="ttl"/>; the reader stops once it has read.</summary>
    private RegistryCommands.RestoreHistory Read(TimeSpan? ttl = null)
    {
        var registry = CreateTestProbe();
        var reader = Sys.ActorOf(JournalReaderActor.Props(registry.Ref, new HistorySettings(1000, ttl ?? Ttl)));
        var watcher = CreateTestProbe();
        watcher.Watch(reader);
        var restore = registry.ExpectMsg<RegistryCommands.RestoreHistory>(Patience);
        watcher.ExpectTerminated(reader, Patience);
        return restore;
    }

    [Fact]
    public void A_journal_with_nothing_written_gives_an_empty_history_and_no_heads()
    {
        var parent = CreateTestProbe();
        parent.ChildActorOf(StreamJournalActor.Props(_fanOut.Ref, _restored.Ref, _history));
        var restore = _restored.ExpectMsg<RegistryCommands.RestoreHistory>(Patience);
        Assert.Empty(restore.Entries);
        Assert.Equal(Streams.Count, restore.Heads.Count);
        Assert.All(restore.Heads, head => Assert.Null(head));
        Assert.All(parent.ExpectMsg<StreamJournal.Recovered>(Patience).Heads, head => Assert.Null(head));
    }

    [Fact]
    public void A_recovery_gives_the_registry_the_entries_within_the_time_to_live_in_numbering_order_and_every_head()
    {
        _restored.IgnoreMessages(m => m is RegistryCommands.RestoreHistory { Entries.Count: 0 });
        var first = StartSequencer();
        first.Tell(Alert(Topic.Accidents, "a1"));
        var epoch = NextPublished().Sequence.Epoch;
        AdvanceBy(TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(1));
        first.Tell(Alert(Topic.Accidents, "a2"));
        first.Tell(Alert(null, "x1"));
        first.Tell(Alert(Topic.Weather, "w1"));
        first.Tell(Alert(Topic.Accidents, "a3"));
        var numbered = Enumerable.Range(0, 4).Select(_ => NextPublished()).ToList();
        Assert.Equal(["a2", "x1", "w1", "a3"], numbered.Select(p => p.Marker));
        StopAndWait(first);
        Scheduler.Advance(TimeSpan.FromMinutes(3)); // a1 is now older than the time to live; the others are not

        var parent = CreateTestProbe();
        parent.ChildActorOf(StreamJournalActor.Props(_fanOut.Ref, _restored.Ref, _history));
        var restore = _restored.ExpectMsg<RegistryCommands.RestoreHistory>(Patience);
        Assert.Equal(["a2", "x1", "w1", "a3"], restore.Entries.Select(MarkerOf));
        Assert.Equal([Topic.Accidents, (Topic?)null, Topic.Weather, Topic.Accidents], restore.Entries.Select(e => e.Topic));
        Assert.Equal(numbered.Select(p => p.Sequence), restore.Entries.Select(e => e.Frame.Sequence));
        var heads = new StreamPosition?[Streams.Count];
        for (var stream = 0; stream < Streams.Count; stream++) heads[stream] = new StreamPosition(epoch, 0); // the heads mark
        heads[(int)Topic.Accidents] = new StreamPosition(epoch, 3);
        heads[(int)Topic.Weather] = new StreamPosition(epoch, 1);
        heads[Streams.All] = new StreamPosition(epoch, 1);
        Assert.Equal(heads, restore.Heads);
        Assert.Equal(heads, parent.ExpectMsg<StreamJournal.Recovered>(Patience).Heads);

        // A cluster node's reader gets the same, then stops.
        var read = Read();
        Assert.Equal(["a2", "x1", "w1", "a3"], read.Entries.Select(MarkerOf));
        Assert.Equal(heads, read.Heads);
    }

    [Fact]
    public void Retention_deletes_what_is_older_than_the_time_to_live_and_a_new_recovery_still_knows_every_head()
    {
        var sequencer = StartSequencer();
        sequencer.Tell(Alert(Topic.Accidents, "a1"));
        var epoch = NextPublished().Sequence.Epoch;
        AdvanceBy(TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(1));
        sequencer.Tell(Alert(Topic.Weather, "w1"));
        NextPublished();
        var forever = TimeSpan.FromDays(365); // a reader that would keep everything still in the journal
        Assert.Equal(["a1", "w1"], Read(forever).Entries.Select(MarkerOf)); // not yet: a1 is 3 minutes old

        // One retention run per minute: past a1's time to live (5 min), not w1's.
        AdvanceBy(TimeSpan.FromMinutes(3), StreamJournalActor.RetentionInterval);
        AwaitAssert(() => Assert.Equal(["w1"], Read(forever).Entries.Select(MarkerOf)), Patience, TimeSpan.FromMilliseconds(50));
        var heads = Read(forever).Heads;
        Assert.Equal(new StreamPosition(epoch, 1), heads[(int)Topic.Accidents]); // the mark written before the delete
        Assert.Equal(new StreamPosition(epoch, 0), heads[(int)Topic.Cameras]);

        // And a new sequencer continues the stream whose entries are all gone.
        StopAndWait(sequencer);
        var next = StartSequencer();
        next.Tell(Alert(Topic.Accidents, "a2"));
        Assert.Equal(new FrameSequence(epoch, 2, 1), NextPublished().Sequence);
    }

    [Fact]
    public void Retention_keeps_what_is_within_the_time_to_live()
    {
        var sequencer = StartSequencer();
        sequencer.Tell(Alert(Topic.Accidents, "a1"));
        NextPublished();
        AdvanceBy(TimeSpan.FromMinutes(5), StreamJournalActor.RetentionInterval); // a1 is exactly as old as the time to live
        sequencer.Tell(Alert(Topic.Accidents, "a2"));
        NextPublished(); // written after every retention run so far
        Assert.Equal(["a1", "a2"], Read(TimeSpan.FromDays(365)).Entries.Select(MarkerOf));
    }

    [Fact]
    public async Task A_reader_that_cannot_read_gives_an_empty_history_so_resumes_wait_no_longer()
    {
        var sequencer = StartSequencer();
        sequencer.Tell(Alert(Topic.Accidents, "a1"));
        NextPublished();
        await Journal.OnRecovery.Fail();
        var restore = Read();
        Assert.Empty(restore.Entries);
        Assert.All(restore.Heads, head => Assert.Null(head));
        Assert.Equal(Streams.Count, restore.Heads.Count);
    }

    [Fact]
    public void A_recovery_says_where_every_stream_stands_and_how_many_messages_it_keeps()
    {
        var parent = CreateTestProbe();
        IActorRef empty = null!;
        EventFilter.Info(start: "Journal recovered").Expect(0, () =>
        {
            empty = parent.ChildActorOf(StreamJournalActor.Props(_fanOut.Ref, _restored.Ref, _history)); // nothing written: nothing to say
            parent.ExpectMsg<StreamJournal.Recovered>(Patience);
        });
        StopAndWait(empty);
        var sequencer = StartSequencer();
        sequencer.Tell(Alert(Topic.Accidents, "a1"));
        sequencer.Tell(Alert(Topic.Accidents, "a2"));
        var epoch = NextPublished().Sequence.Epoch;
        NextPublished();
        StopAndWait(sequencer);

        var streams = $"cameras {epoch}:0, weather {epoch}:0, airQuality {epoch}:0, accidents {epoch}:2, patterns {epoch}:0, congestion {epoch}:0, all {epoch}:0";
        EventFilter.Info(message: $"Journal recovered: {streams} (2 messages within the history's 300 s kept for resumes)").ExpectOne(() =>
        {
            parent.ChildActorOf(StreamJournalActor.Props(_fanOut.Ref, _restored.Ref, _history));
            parent.ExpectMsg<StreamJournal.Recovered>(Patience);
        });
    }
}
