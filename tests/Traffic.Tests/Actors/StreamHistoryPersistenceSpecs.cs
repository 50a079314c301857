using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// A stream's history with persistence in mind: the bytes bound (HISTORY_BYTES), a resume that replays
/// every ALERT and only the newest UPDATE, and what the journal's history restores (into an empty
/// history; in front of live entries only when they join up).
/// </summary>
public sealed class StreamHistoryPersistenceSpecs
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 4, 0, 0, TimeSpan.Zero);
    private const int Stream = (int)Topic.Accidents;
    private const string Epoch = "e1";

    private static ServerFrame Alert(long offset, string data = """{"n":1}""", string epoch = Epoch, long? previous = null) =>
        ServerMessages.Published(ServerMessageType.Alert, Topic.Accidents, System.Text.Encoding.UTF8.GetBytes(data), Start,
            new FrameSequence(epoch, offset, previous ?? offset - 1));

    private static ServerFrame Update(long offset, EntityChanges? delta = null) =>
        ServerMessages.Update(Topic.Accidents, [new EntityJson("a", """{"id":"a"}"""u8.ToArray())], Start, new FrameSequence(Epoch, offset, offset - 1), delta);

    private static (ResumeOutcome Outcome, long[] Offsets) Resume(StreamHistory history, long since, string epoch = Epoch, DateTimeOffset? now = null)
    {
        var missed = new List<StreamHistory.Entry>();
        var outcome = history.Resume(Stream, new StreamPosition(epoch, since), now ?? Start, missed);
        return (outcome, missed.Select(e => e.Offset).ToArray());
    }

    private static IEnumerable<(ServerFrame Frame, DateTimeOffset At, long Arrival)> Restored(params long[] offsets) =>
        offsets.Select((offset, i) => (Alert(offset), Start, (long)i - 1000));

    [Fact]
    public void The_bytes_bound_drops_the_oldest_until_what_is_held_fits()
    {
        var size = Alert(1).Utf8Json.Length;
        var history = new StreamHistory(100, TimeSpan.FromMinutes(10), maxBytes: 3 * size);
        for (var offset = 1L; offset <= 5; offset++) history.Append(Alert(offset), offset, Start);
        Assert.Equal([3L, 4L, 5L], Resume(history, 2).Offsets);
        Assert.Equal(ResumeOutcome.TooOld, Resume(history, 1).Outcome.Reason);

        // Exactly at the bound is kept; one byte over is not.
        var exact = new StreamHistory(100, TimeSpan.FromMinutes(10), maxBytes: 2 * size);
        exact.Append(Alert(1), 1, Start);
        exact.Append(Alert(2), 2, Start);
        Assert.Equal([1L, 2L], Resume(exact, 0).Offsets);
        var over = new StreamHistory(100, TimeSpan.FromMinutes(10), maxBytes: 2 * size - 1);
        over.Append(Alert(1), 1, Start);
        over.Append(Alert(2), 2, Start);
        Assert.Equal(ResumeOutcome.TooOld, Resume(over, 0).Outcome.Reason);
        Assert.Equal([2L], Resume(over, 1).Offsets);
    }

    [Fact]
    public void A_delta_counts_towards_the_bytes_and_a_dropped_frame_gives_its_bytes_back()
    {
        var delta = new EntityChanges(1, [new EntityJson("a", """{"id":"a","v":2}"""u8.ToArray())], ["b", "c"]);
        var withDelta = Update(2, delta);
        var plain = Update(3);
        Assert.NotNull(withDelta.Delta);
        var history = new StreamHistory(100, TimeSpan.FromMinutes(10), maxBytes: withDelta.Utf8Json.Length + withDelta.Delta!.Utf8Json.Length + plain.Utf8Json.Length);
        history.Append(Update(1), 1, Start); // dropped by the third: with the second's delta, the three do not fit
        history.Append(withDelta, 2, Start);
        history.Append(plain, 3, Start);
        Assert.Equal(ResumeOutcome.TooOld, Resume(history, 0).Outcome.Reason);
        Assert.True(Resume(history, 1).Outcome.Recovered); // the delta frame is the oldest held
        history.Append(Alert(4, """{"x":1}"""), 4, Start); // drops the delta frame: its bytes (and its delta's) go
        Assert.Equal([4L], Resume(history, 3).Offsets);
        Assert.True(Resume(history, 2).Outcome.Recovered);
    }

    [Fact]
    public void A_resume_replays_every_ALERT_and_only_the_newest_UPDATE()
    {
        var history = new StreamHistory(100, TimeSpan.FromMinutes(10));
        history.Append(Update(1), 1, Start);
        history.Append(Alert(2), 2, Start);
        history.Append(Update(3), 3, Start);
        history.Append(Alert(4), 4, Start);
        history.Append(Update(5), 5, Start);
        history.Append(Alert(6), 6, Start);
        var (outcome, offsets) = Resume(history, 0);
        Assert.Equal([2L, 4L, 5L, 6L], offsets);
        Assert.Equal((1L, 6L), outcome.Replayed); // the range covers what was skipped
        Assert.Equal([4L, 5L, 6L], Resume(history, 3).Offsets);
        Assert.Equal([6L], Resume(history, 5).Offsets);
        var (onlyUpdate, updateOffsets) = Resume(history, 4);
        Assert.Equal([5L, 6L], updateOffsets);
        Assert.Equal((5L, 6L), onlyUpdate.Replayed);
    }

    [Fact]
    public void The_newest_UPDATE_is_replayed_with_its_delta_whose_base_the_client_need_not_have()
    {
        var history = new StreamHistory(100, TimeSpan.FromMinutes(10));
        history.Append(Update(1), 1, Start);
        history.Append(Update(2, new EntityChanges(1, [], ["b"])), 2, Start);
        history.Append(Update(3, new EntityChanges(2, [], ["c"])), 3, Start);
        var missed = new List<StreamHistory.Entry>();
        history.Resume(Stream, new StreamPosition(Epoch, 0), Start, missed);
        var replayed = Assert.Single(missed);
        Assert.Equal(3, replayed.Offset);
        Assert.NotNull(replayed.Frame.Delta); // the connection sends the full list when the client lacks the base
    }

    [Fact]
    public void An_empty_history_takes_everything_restored_then_the_head()
    {
        var history = new StreamHistory(100, TimeSpan.FromMinutes(10));
        history.Restore(Restored(3, 4, 5), new StreamPosition(Epoch, 5), Start);
        Assert.Equal(new StreamPosition(Epoch, 5), history.Head);
        Assert.Equal([4L, 5L], Resume(history, 3).Offsets);
        Assert.Equal([3L, 4L, 5L], Resume(history, 2).Offsets);
        Assert.Equal(ResumeOutcome.TooOld, Resume(history, 1).Outcome.Reason);

        // A head past the last entry (a heads mark after them): nothing held is enough for an older client.
        var marked = new StreamHistory(100, TimeSpan.FromMinutes(10));
        marked.Restore(Restored(3, 4), new StreamPosition(Epoch, 9), Start);
        Assert.Equal(new StreamPosition(Epoch, 9), marked.Head);
        Assert.Equal(ResumeOutcome.TooOld, Resume(marked, 4).Outcome.Reason);

        // Only a head (a stream quiet for longer than the time to live): clients at it missed nothing.
        var headOnly = new StreamHistory(100, TimeSpan.FromMinutes(10));
        headOnly.Restore([], new StreamPosition(Epoch, 7), Start);
        Assert.True(Resume(headOnly, 7).Outcome.Recovered);
        Assert.Equal(ResumeOutcome.EpochChanged, Resume(headOnly, 7, "other").Outcome.Reason);

        var nothing = new StreamHistory(100, TimeSpan.FromMinutes(10));
        nothing.Restore([], null, Start);
        Assert.Null(nothing.Head);
    }

    [Fact]
    public void A_restore_drops_what_is_older_than_the_time_to_live()
    {
        var history = new StreamHistory(100, TimeSpan.FromMinutes(10));
        var entries = new[] { (Alert(1), Start, -3L), (Alert(2), Start.AddMinutes(5), -2L), (Alert(3), Start.AddMinutes(6), -1L) };
        history.Restore(entries, new StreamPosition(Epoch, 3), Start.AddMinutes(14));
        Assert.Equal([3L], Resume(history, 2, now: Start.AddMinutes(14)).Offsets);
        Assert.Equal([2L, 3L], Resume(history, 1, now: Start.AddMinutes(14)).Offsets);
        Assert.Equal(ResumeOutcome.TooOld, Resume(history, 0, now: Start.AddMinutes(14)).Outcome.Reason);
    }

    [Fact]
    public void Older_entries_go_in_front_of_live_ones_when_they_join_up()
    {
        var history = new StreamHistory(100, TimeSpan.FromMinutes(10));
        history.Append(Alert(4), 1, Start); // live first: the stream was at 3
        history.Append(Alert(5), 2, Start);
        Assert.Equal(ResumeOutcome.TooOld, Resume(history, 2).Outcome.Reason);

        history.Restore(Restored(1, 2, 3, 4), new StreamPosition(Epoch, 4), Start);
        Assert.Equal([1L, 2L, 3L, 4L, 5L], Resume(history, 0).Offsets);
        Assert.Equal([3L, 4L, 5L], Resume(history, 2).Offsets);
        Assert.Equal(new StreamPosition(Epoch, 5), history.Head);
    }

    [Fact]
    public void Older_entries_that_do_not_join_up_are_not_taken()
    {
        var history = new StreamHistory(100, TimeSpan.FromMinutes(10));
        history.Append(Alert(6), 1, Start); // the stream was at 5
        history.Append(Alert(7), 2, Start);

        history.Restore(Restored(1, 2, 3), new StreamPosition(Epoch, 3), Start); // a gap: 4 and 5 missing
        Assert.Equal(ResumeOutcome.TooOld, Resume(history, 4).Outcome.Reason);
        Assert.Equal([6L, 7L], Resume(history, 5).Offsets);

        var otherEpoch = Restored(4, 5).Select(e => (Alert(e.Frame.Sequence!.Offset, epoch: "e0"), e.At, e.Arrival));
        history.Restore(otherEpoch, new StreamPosition("e0", 5), Start); // another epoch
        Assert.Equal(ResumeOutcome.TooOld, Resume(history, 4).Outcome.Reason);
        Assert.Equal(new StreamPosition(Epoch, 7), history.Head);

        history.Restore(Restored(), null, Start); // nothing
        Assert.Equal([6L, 7L], Resume(history, 5).Offsets);
    }

    [Fact]
    public void Joined_entries_are_bounded_like_the_rest()
    {
        var history = new StreamHistory(4, TimeSpan.FromMinutes(10));
        history.Append(Alert(4), 1, Start);
        history.Append(Alert(5), 2, Start);
        history.Restore(Restored(1, 2, 3), null, Start); // 5 in all: the oldest goes
        Assert.Equal(ResumeOutcome.TooOld, Resume(history, 0).Outcome.Reason);
        Assert.Equal([2L, 3L, 4L, 5L], Resume(history, 1).Offsets);

        var size = Alert(1).Utf8Json.Length;
        var byBytes = new StreamHistory(100, TimeSpan.FromMinutes(10), maxBytes: 3 * size);
        byBytes.Append(Alert(3), 1, Start);
        byBytes.Append(Alert(4), 2, Start);
        byBytes.Restore(Restored(1, 2), null, Start); // their bytes count: one over
        Assert.Equal(ResumeOutcome.TooOld, Resume(byBytes, 0).Outcome.Reason);
        Assert.Equal([2L, 3L, 4L], Resume(byBytes, 1).Offsets);
        byBytes.Append(Alert(5), 3, Start);
        Assert.Equal([3L, 4L, 5L], Resume(byBytes, 2).Offsets);
    }
}
