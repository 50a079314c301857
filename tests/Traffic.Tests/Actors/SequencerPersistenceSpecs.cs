using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using Akka.TestKit;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// The sequencer with its journal (docs/architecture.md, "Persistence"): nothing delivered or confirmed
/// before it is written, a new sequencer continuing densely from the journal's heads, and what it
/// does while the journal is down (refuses confirmations, skips scheduled UPDATEs, holds ALERTs, restarts
/// the journal with back-off and numbers the held ALERTs densely from what was written).
/// </summary>
public sealed class SequencerPersistenceSpecs : PersistenceSpecKit
{
    private readonly TestProbe _fanOut;
    private readonly TestProbe _restored; // the journal's registry: gets RestoreHistory on every recovery
    private readonly HistorySettings _history = new(1000, TimeSpan.FromMinutes(5));

    public SequencerPersistenceSpecs()
    {
        _fanOut = CreateTestProbe();
        _fanOut.IgnoreMessages(m => m is RegistryCommands.AnnounceHeads);
        _restored = CreateTestProbe();
    }

    private IActorRef StartSequencer(TestProbe? registry = null, bool waitUntilNumbering = true)
    {
        var journal = StreamJournalActor.Props(_fanOut.Ref, _restored.Ref, _history);
        var sequencer = Sys.ActorOf(TopicSequencerActor.Props(_fanOut.Ref, (registry ?? RegistryAnswering()).Ref, journal));
        if (waitUntilNumbering) AwaitStatus(sequencer, s => s.Numbering);
        return sequencer;
    }

    private SequencerCommands.Status StatusOf(IActorRef sequencer)
    {
        var probe = CreateTestProbe();
        sequencer.Tell(SequencerCommands.GetStatus.Instance, probe.Ref);
        return probe.ExpectMsg<SequencerCommands.Status>(Patience);
    }

    private void AwaitStatus(IActorRef sequencer, Func<SequencerCommands.Status, bool> condition) =>
        AwaitAssert(() => Assert.True(condition(StatusOf(sequencer))), Patience, TimeSpan.FromMilliseconds(20));

    private (Topic? Topic, string? Marker, FrameSequence Sequence, string Type) NextPublished() => Published(_fanOut.ExpectMsg<object>(Patience));

    private bool JournalRunning(IActorRef sequencer)
    {
        var probe = CreateTestProbe();
        Sys.ActorSelection(sequencer.Path / "journal").Tell(new Identify(null), probe.Ref);
        return probe.ExpectMsg<ActorIdentity>(Patience).Subject is not null;
    }

    /// <summary>Counts what is read back, and fails while <see cref="Failing"/>.</summary>
    private sealed class CountingRecovery : IJournalInterceptor
    {
        public volatile bool Failing = true;
        public int Reads;

        public Task InterceptAsync(IPersistentRepresentation message)
        {
            Interlocked.Increment(ref Reads);
            return Failing ? Task.FromException(new InvalidOperationException("database away")) : Task.CompletedTask;
        }
    }

    [Fact]
    public async Task A_message_is_delivered_and_confirmed_only_once_written()
    {
        var sequencer = StartSequencer();
        var gate = new JournalGate();
        await Journal.OnWrite.SetInterceptorAsync(gate);
        var publisher = CreateTestProbe();

        sequencer.Tell(new SequencerCommands.PublishAndConfirm(Alert(Topic.Accidents, "a1")), publisher.Ref);
        AwaitCondition(() => gate.Held > 0, Patience); // being written
        _fanOut.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        publisher.ExpectNoMsg(TimeSpan.Zero);

        gate.Open();
        var a1 = NextPublished();
        Assert.Equal((Topic.Accidents, "a1", 1L), (a1.Topic, a1.Marker, a1.Sequence.Offset));
        publisher.ExpectMsg<SequencerCommands.PublishConfirmed>(Patience);

        // And it is in the journal: a reader gets it back.
        var reader = CreateTestProbe();
        Sys.ActorOf(JournalReaderActor.Props(reader.Ref, _history));
        var restore = reader.ExpectMsg<RegistryCommands.RestoreHistory>(Patience);
        Assert.Equal(["a1"], restore.Entries.Select(MarkerOf));
        Assert.Equal(new StreamPosition(a1.Sequence.Epoch, 1), restore.Heads[(int)Topic.Accidents]);
    }

    [Fact]
    public async Task A_barrier_is_answered_once_every_publish_before_it_is_written_and_refused_while_the_journal_is_down()
    {
        var sequencer = StartSequencer();
        var gate = new JournalGate();
        await Journal.OnWrite.SetInterceptorAsync(gate);
        var publisher = CreateTestProbe();
        sequencer.Tell(Alert(Topic.Accidents, "a1"), publisher.Ref);
        sequencer.Tell(new SequencerCommands.ConfirmWritten(5), publisher.Ref);
        AwaitCondition(() => gate.Held > 0, Patience); // a1 being written
        publisher.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        gate.Open();
        Assert.Equal("a1", NextPublished().Marker);
        publisher.ExpectMsg(new SequencerCommands.Written(5), Patience);

        await Journal.OnWrite.Fail();
        sequencer.Tell(Alert(Topic.Accidents, "lost"));
        AwaitStatus(sequencer, s => s.JournalDownSince is not null);
        sequencer.Tell(new SequencerCommands.ConfirmWritten(6), publisher.Ref);
        publisher.ExpectMsg(new SequencerCommands.NotWritten(6, TopicSequencerActor.JournalDownReason), Patience);
    }

    [Fact]
    public void A_forwarded_publish_is_acknowledged_once_written_and_a_repeat_after_what_is_being_written()
    {
        var sequencer = StartSequencer();
        var forwarder = CreateTestProbe();
        sequencer.Tell(new SequencerCommands.Forwarded("node-a", 1, 1, Alert(Topic.Weather, "w1"), forwarder.Ref));
        Assert.Equal("w1", NextPublished().Marker);
        Assert.Equal(new SequencerCommands.ForwardedUpTo("node-a", 1), forwarder.ExpectMsg<SequencerCommands.ForwardedUpTo>(Patience));
        sequencer.Tell(new SequencerCommands.Forwarded("node-a", 1, 1, Alert(Topic.Weather, "w1"), forwarder.Ref)); // resent
        Assert.Equal(new SequencerCommands.ForwardedUpTo("node-a", 1), forwarder.ExpectMsg<SequencerCommands.ForwardedUpTo>(Patience));
        _fanOut.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // not delivered twice
    }

    [Fact]
    public void A_second_sequencer_on_the_same_journal_continues_every_epoch_densely_even_a_stream_only_the_heads_mark_knows()
    {
        var first = StartSequencer();
        first.Tell(Alert(Topic.Accidents, "a1"));
        first.Tell(Alert(Topic.Accidents, "a2"));
        var epoch = NextPublished().Sequence.Epoch;
        Assert.Equal(new FrameSequence(epoch, 2, 1), NextPublished().Sequence);
        StopAndWait(first);

        // The node's registry knows other positions (of a sequencer that was never written): the journal wins.
        var registry = RegistryAnswering(new StreamPosition("registry", 70), null, null, new StreamPosition("registry", 99));
        var second = StartSequencer(registry);
        second.Tell(Alert(Topic.Accidents, "a3"));
        second.Tell(Alert(Topic.Cameras, "c1")); // never numbered: only the first sequencer's heads mark knows its epoch
        second.Tell(Alert(Topic.Weather, "w1"));
        Assert.Equal(("a3", new FrameSequence(epoch, 3, 2)), (NextPublished() is var a3 ? (a3.Marker, a3.Sequence) : default));
        Assert.Equal(("c1", new FrameSequence(epoch, 1, 0)), (NextPublished() is var c1 ? (c1.Marker, c1.Sequence) : default));
        Assert.Equal(new FrameSequence(epoch, 1, 0), NextPublished().Sequence);
    }

    [Fact]
    public void A_sequencer_whose_journal_knows_nothing_starts_a_new_epoch_and_continues_it_after_a_restart()
    {
        var first = StartSequencer(RegistryAnswering(null, null, null, new StreamPosition("registry", 41)));
        first.Tell(Alert(Topic.Accidents, "a1"));
        first.Tell(Alert(Topic.Weather, "w1"));
        // The registry's head (no journal entry): continued after the take-over jump.
        Assert.Equal(new FrameSequence("registry", 41 + TopicSequencerActor.TakeOverJump, 41), NextPublished().Sequence);
        var weather = NextPublished().Sequence;
        Assert.NotEqual("registry", weather.Epoch);
        Assert.Equal(1, weather.Offset);
        StopAndWait(first);

        var second = StartSequencer();
        second.Tell(Alert(Topic.Accidents, "a2"));
        Assert.Equal(new FrameSequence("registry", 42 + TopicSequencerActor.TakeOverJump, 41 + TopicSequencerActor.TakeOverJump), NextPublished().Sequence);
    }

    [Fact]
    public async Task While_the_journal_is_down_confirmations_are_refused_UPDATEs_skipped_and_ALERTs_held_then_numbered_densely()
    {
        var sequencer = StartSequencer();
        Assert.Equal(new SequencerCommands.Status(true, true, null), StatusOf(sequencer));
        sequencer.Tell(Alert(Topic.Accidents, "a1"));
        var epoch = NextPublished().Sequence.Epoch;
        sequencer.Tell(new SequencerCommands.PublishEntities(Topic.Cameras, [new EntityJson("c", """{"id":"c"}"""u8.ToArray())]));
        Assert.Equal(("UPDATE", 1L), (NextPublished() is var u1 ? (u1.Type, u1.Sequence.Offset) : default));

        await Journal.OnWrite.Fail();
        var downAt = Scheduler.Now;
        sequencer.Tell(Alert(Topic.Accidents, "lost")); // numbered 2, never written: the journal stops
        AwaitStatus(sequencer, s => s.JournalDownSince is not null);
        Assert.Equal(new SequencerCommands.Status(true, true, downAt), StatusOf(sequencer));

        var publisher = CreateTestProbe();
        sequencer.Tell(new SequencerCommands.PublishAndConfirm(Alert(Topic.Accidents, "refused")), publisher.Ref);
        Assert.Equal(TopicSequencerActor.JournalDownReason, publisher.ExpectMsg<SequencerCommands.PublishRefused>(Patience).Reason);
        sequencer.Tell(new SequencerCommands.PublishEntities(Topic.Cameras, [new EntityJson("c", """{"id":"c"}"""u8.ToArray())])); // skipped
        sequencer.Tell(Alert(Topic.Accidents, "h1"));
        sequencer.Tell(Alert(null, "h2"));
        sequencer.Tell(Alert(Topic.Accidents, "h3"));
        var forwarder = CreateTestProbe();
        sequencer.Tell(new SequencerCommands.Forwarded("node-a", 1, 1, Alert(Topic.Weather, "f1"), forwarder.Ref)); // not acknowledged
        Barrier(sequencer);
        _fanOut.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        await Journal.OnWrite.Pass();
        Scheduler.Advance(TopicSequencerActor.JournalRestartMin);
        Assert.Equal(("h1", new FrameSequence(epoch, 2, 1)), (NextPublished() is var h1 ? (h1.Marker, h1.Sequence) : default)); // "lost"'s number again
        Assert.Equal(("h2", new FrameSequence(epoch, 1, 0)), (NextPublished() is var h2 ? (h2.Marker, h2.Sequence) : default));
        Assert.Equal(("h3", new FrameSequence(epoch, 3, 2)), (NextPublished() is var h3 ? (h3.Marker, h3.Sequence) : default));
        AwaitStatus(sequencer, s => s == new SequencerCommands.Status(true, true, null));
        forwarder.ExpectNoMsg(TimeSpan.Zero);

        // The skipped UPDATE was never numbered: the next one follows the last written, without a delta
        // (its base, as far as the sequencer knows, might not have been written).
        sequencer.Tell(new SequencerCommands.PublishEntities(Topic.Cameras, [new EntityJson("c", """{"id":"c"}"""u8.ToArray())]));
        var frame = Assert.IsType<RegistryCommands.PublishToTopic>(_fanOut.ExpectMsg<object>(Patience)).Frame;
        var update = Published(new RegistryCommands.PublishToTopic(Topic.Cameras, frame));
        Assert.Equal(("UPDATE", Topic.Cameras, 2L), (update.Type, update.Topic, update.Sequence.Offset));
        Assert.Null(frame.Delta);
        sequencer.Tell(new SequencerCommands.PublishEntities(Topic.Cameras, [new EntityJson("c", """{"id":"c"}"""u8.ToArray())]));
        Assert.NotNull(Assert.IsType<RegistryCommands.PublishToTopic>(_fanOut.ExpectMsg<object>(Patience)).Frame.Delta); // the next one has one
        sequencer.Tell(new SequencerCommands.PublishAndConfirm(Alert(Topic.Accidents, "confirmed")), publisher.Ref);
        publisher.ExpectMsg<SequencerCommands.PublishConfirmed>(Patience);
    }

    [Fact]
    public async Task An_outage_is_one_error_line_with_the_journals_reason_however_many_attempts_fail()
    {
        var sequencer = StartSequencer();
        sequencer.Tell(Alert(Topic.Accidents, "a1"));
        NextPublished();
        await Journal.OnWrite.Fail();
        await Journal.OnRecovery.Fail();
        await EventFilter.Error(contains: "The journal stopped (writing failed").ExpectOneAsync(async () =>
        {
            sequencer.Tell(Alert(Topic.Accidents, "lost"));
            AwaitStatus(sequencer, s => s.JournalDownSince is not null);
            // Three more attempts, each failing to read: still the one line.
            foreach (var wait in new[] { 1, 2, 4 })
            {
                Scheduler.Advance(TimeSpan.FromSeconds(wait));
                Barrier(sequencer);
            }
            await Task.CompletedTask;
        });
        await EventFilter.Error().ExpectAsync(0, async () =>
        {
            Scheduler.Advance(TimeSpan.FromSeconds(8));
            Barrier(sequencer);
            await Task.CompletedTask;
        });
    }

    [Fact]
    public async Task At_most_a_thousand_ALERTs_wait_for_the_journal()
    {
        var sequencer = StartSequencer();
        sequencer.Tell(Alert(Topic.Accidents, "a1"));
        NextPublished(); // written, and so is the heads mark before it
        await Journal.OnWrite.Fail();
        sequencer.Tell(Alert(Topic.Accidents, "lost"));
        AwaitStatus(sequencer, s => s.JournalDownSince is not null);
        for (var i = 0; i < TopicSequencerActor.MaxWaitingWhileJournalDown + 5; i++) sequencer.Tell(Alert(Topic.Accidents, $"h{i}"));
        Barrier(sequencer);

        await Journal.OnWrite.Pass();
        Scheduler.Advance(TopicSequencerActor.JournalRestartMin);
        for (var i = 0; i < TopicSequencerActor.MaxWaitingWhileJournalDown; i++)
        {
            var held = NextPublished();
            Assert.Equal(($"h{i}", i + 2L), (held.Marker, held.Sequence.Offset));
        }
        sequencer.Tell(Alert(Topic.Accidents, "after"));
        var after = NextPublished();
        Assert.Equal(("after", TopicSequencerActor.MaxWaitingWhileJournalDown + 2L), (after.Marker, after.Sequence.Offset));
    }

    [Fact]
    public async Task The_journal_is_started_again_with_back_off()
    {
        var sequencer = StartSequencer();
        sequencer.Tell(Alert(Topic.Accidents, "a1"));
        NextPublished();
        var recovery = new CountingRecovery();
        await Journal.OnRecovery.SetInterceptorAsync(recovery);
        await Journal.OnWrite.Fail();
        sequencer.Tell(Alert(Topic.Accidents, "lost"));
        AwaitStatus(sequencer, s => s.JournalDownSince is not null);
        await Journal.OnWrite.Pass();

        Scheduler.Advance(TimeSpan.FromMilliseconds(900));
        Barrier(sequencer);
        Assert.False(JournalRunning(sequencer)); // not before a second
        Scheduler.Advance(TimeSpan.FromMilliseconds(100));
        AwaitCondition(() => Volatile.Read(ref recovery.Reads) > 0, Patience); // started again; its recovery fails
        AwaitAssert(() => Assert.False(JournalRunning(sequencer)), Patience, TimeSpan.FromMilliseconds(20));
        Barrier(sequencer);

        // The next attempt after two seconds, not one.
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        Barrier(sequencer);
        Assert.False(JournalRunning(sequencer));
        recovery.Failing = false;
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        AwaitStatus(sequencer, s => s.JournalDownSince is null);
        sequencer.Tell(Alert(Topic.Accidents, "a2"));
        Assert.Equal(("a2", 2L), (NextPublished() is var a2 ? (a2.Marker, a2.Sequence.Offset) : default));
    }

    [Fact]
    public async Task A_journal_that_cannot_be_read_at_start_holds_the_start_until_it_can()
    {
        var first = StartSequencer();
        first.Tell(Alert(Topic.Accidents, "a1"));
        var epoch = NextPublished().Sequence.Epoch;
        StopAndWait(first);

        await Journal.OnRecovery.Fail();
        var second = StartSequencer(waitUntilNumbering: false);
        AwaitStatus(second, s => s.JournalDownSince is not null);
        Assert.Equal(new SequencerCommands.Status(false, true, Scheduler.Now), StatusOf(second));
        var publisher = CreateTestProbe();
        second.Tell(new SequencerCommands.PublishAndConfirm(Alert(Topic.Accidents, "refused")), publisher.Ref);
        publisher.ExpectMsg<SequencerCommands.PublishRefused>(Patience);
        second.Tell(Alert(Topic.Accidents, "a2")); // held

        await Journal.OnRecovery.Pass();
        Scheduler.Advance(TopicSequencerActor.JournalRestartMin);
        Assert.Equal(("a2", new FrameSequence(epoch, 2, 1)), (NextPublished() is var a2 ? (a2.Marker, a2.Sequence) : default));
        AwaitStatus(second, s => s == new SequencerCommands.Status(true, true, null));
    }
    [Fact]
    public async Task The_back_off_doubles_up_to_ten_seconds_and_starts_again_from_one_once_the_journal_is_back()
    {
        var sequencer = StartSequencer();
        sequencer.Tell(Alert(Topic.Accidents, "a1"));
        NextPublished();
        var recovery = new CountingRecovery();
        await Journal.OnRecovery.SetInterceptorAsync(recovery);

        async Task BreakWrites()
        {
            await Journal.OnWrite.Fail();
            sequencer.Tell(Alert(Topic.Accidents, "lost"));
            AwaitStatus(sequencer, s => s.JournalDownSince is not null);
            await Journal.OnWrite.Pass();
        }

        void NextAttemptAfter(TimeSpan delay)
        {
            var reads = Volatile.Read(ref recovery.Reads);
            Scheduler.Advance(delay - TimeSpan.FromMilliseconds(100));
            Barrier(sequencer);
            Assert.False(JournalRunning(sequencer), $"started again before {delay}");
            Scheduler.Advance(TimeSpan.FromMilliseconds(100));
            AwaitCondition(() => Volatile.Read(ref recovery.Reads) > reads, Patience);
        }

        await BreakWrites();
        foreach (var seconds in new[] { 1, 2, 4, 8, 10, 10 })
        {
            NextAttemptAfter(TimeSpan.FromSeconds(seconds)); // its recovery fails
            AwaitAssert(() => Assert.False(JournalRunning(sequencer)), Patience, TimeSpan.FromMilliseconds(20));
            Barrier(sequencer);
        }
        recovery.Failing = false;
        NextAttemptAfter(TimeSpan.FromSeconds(10));
        AwaitStatus(sequencer, s => s.JournalDownSince is null);

        // A new outage: one second again.
        await BreakWrites();
        NextAttemptAfter(TimeSpan.FromSeconds(1));
        AwaitStatus(sequencer, s => s.JournalDownSince is null);
    }
}
