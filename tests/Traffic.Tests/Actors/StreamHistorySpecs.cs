using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// A node's history of one stream: what a client at a position is given, and when it cannot be
/// given everything (too old, another epoch, messages this node never received).
/// </summary>
public sealed class StreamHistorySpecs
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);
    private const int Stream = (int)Topic.Accidents;

    private static ServerFrame Frame(string epoch, long offset, long? previous = null) =>
        ServerMessages.Published(ServerMessageType.Alert, Topic.Accidents, """{"n":1}"""u8, Start,
            new FrameSequence(epoch, offset, previous ?? offset - 1));

    private static (ResumeOutcome Outcome, long[] Offsets) Resume(StreamHistory history, string epoch, long offset, DateTimeOffset? now = null)
    {
        var missed = new List<StreamHistory.Entry>();
        var outcome = history.Resume(Stream, new StreamPosition(epoch, offset), now ?? Start, missed);
        return (outcome, missed.Select(e => e.Offset).ToArray());
    }

    private static StreamHistory WithOffsets(string epoch, int capacity, params long[] offsets)
    {
        var history = new StreamHistory(capacity, TimeSpan.FromMinutes(10));
        var arrival = 0L;
        foreach (var offset in offsets) history.Append(Frame(epoch, offset), ++arrival, Start);
        return history;
    }

    [Fact]
    public void A_client_gets_every_message_after_its_position_in_order()
    {
        var history = WithOffsets("e1", 10, 1, 2, 3, 4, 5);
        var (outcome, offsets) = Resume(history, "e1", 2);
        Assert.True(outcome.Recovered);
        Assert.Equal([3L, 4L, 5L], offsets);
        Assert.Equal((3L, 5L), outcome.Replayed);
        Assert.Equal(new StreamPosition("e1", 5), outcome.Head);
    }

    [Fact]
    public void A_client_at_the_head_or_past_it_has_missed_nothing()
    {
        var history = WithOffsets("e1", 10, 1, 2, 3);
        Assert.True(Resume(history, "e1", 3).Outcome.Recovered);
        Assert.Empty(Resume(history, "e1", 3).Offsets);
        Assert.Null(Resume(history, "e1", 7).Outcome.Replayed);
    }

    [Fact]
    public void A_position_older_than_what_the_count_keeps_is_too_old()
    {
        var history = WithOffsets("e1", 3, 1, 2, 3, 4, 5); // keeps 3, 4, 5
        Assert.Equal(ResumeOutcome.TooOld, Resume(history, "e1", 1).Outcome.Reason);
        Assert.Equal([3L, 4L, 5L], Resume(history, "e1", 2).Offsets); // 3 is held: 2 is the oldest position served
    }

    [Fact]
    public void Messages_older_than_the_time_to_live_are_dropped()
    {
        var history = new StreamHistory(100, TimeSpan.FromMinutes(1));
        history.Append(Frame("e1", 1), 1, Start);
        history.Append(Frame("e1", 2), 2, Start.AddSeconds(50));
        var later = Start.AddSeconds(70);
        Assert.Equal(ResumeOutcome.TooOld, Resume(history, "e1", 0, later).Outcome.Reason);
        Assert.Equal([2L], Resume(history, "e1", 1, later).Offsets);
    }

    [Fact]
    public void Another_epoch_cannot_be_resumed_and_a_new_epoch_starts_the_history_again()
    {
        var history = WithOffsets("e1", 10, 1, 2);
        Assert.Equal(ResumeOutcome.EpochChanged, Resume(history, "e0", 1).Outcome.Reason);
        history.Append(Frame("e2", 1), 3, Start);
        Assert.Equal(ResumeOutcome.EpochChanged, Resume(history, "e1", 2).Outcome.Reason);
        Assert.Equal([1L], Resume(history, "e2", 0).Offsets);
    }

    [Fact]
    public void A_sequencer_that_took_over_jumps_without_losing_anything()
    {
        // The new sequencer knew offset 3 (this node holds up to 4: one more from the old sequencer) and jumps.
        var history = WithOffsets("e1", 10, 1, 2, 3, 4);
        history.Append(Frame("e1", 1_000_003, previous: 3), 5, Start);
        Assert.Equal([4L, 1_000_003L], Resume(history, "e1", 3).Offsets);
        Assert.Equal([1_000_003L], Resume(history, "e1", 4).Offsets);
        Assert.Equal([1_000_003L], Resume(history, "e1", 10).Offsets); // a client of the old node that saw more than this one
    }

    [Fact]
    public void Messages_this_node_never_received_make_older_positions_unrecoverable()
    {
        var history = WithOffsets("e1", 10, 1, 2);
        history.Append(Frame("e1", 6), 3, Start); // 3, 4, 5 never arrived here
        Assert.Equal(ResumeOutcome.TooOld, Resume(history, "e1", 2).Outcome.Reason);
        Assert.Equal([6L], Resume(history, "e1", 5).Offsets);
    }

    [Fact]
    public void An_announced_head_past_this_nodes_means_it_missed_messages()
    {
        var history = WithOffsets("e1", 10, 1, 2);
        history.Announce(new StreamPosition("e1", 2)); // nothing missed
        Assert.Equal([2L], Resume(history, "e1", 1).Offsets);
        history.Announce(new StreamPosition("e1", 4));
        Assert.Equal(ResumeOutcome.TooOld, Resume(history, "e1", 1).Outcome.Reason);
        Assert.Equal(new StreamPosition("e1", 4), history.Head);
        Assert.True(Resume(history, "e1", 4).Outcome.Recovered);
    }

    [Fact]
    public void A_node_that_heard_nothing_of_a_stream_says_so()
    {
        var history = new StreamHistory(10, TimeSpan.FromMinutes(1));
        Assert.Null(history.Head);
        Assert.Equal(ResumeOutcome.NoHistory, Resume(history, "e1", 1).Outcome.Reason);
        history.Announce(new StreamPosition("e1", 0));
        Assert.True(Resume(history, "e1", 0).Outcome.Recovered);
    }
}
