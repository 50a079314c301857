using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// What a resuming client is told per stream (recovered or not, why, the head, the range replayed),
/// at the edges: an announcement behind this node, a jump, a message exactly as old as the time to live.
/// </summary>
public sealed class StreamHistoryOutcomeSpecs
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);
    private const int Stream = (int)Topic.Cameras;

    private static ServerFrame Frame(string epoch, long offset, long previous) =>
        ServerMessages.Published(ServerMessageType.Alert, Topic.Cameras, """{"n":1}"""u8, Start, new FrameSequence(epoch, offset, previous));

    private static (ResumeOutcome Outcome, long[] Offsets) Resume(StreamHistory history, string epoch, long offset, DateTimeOffset? now = null)
    {
        var missed = new List<StreamHistory.Entry>();
        var outcome = history.Resume(Stream, new StreamPosition(epoch, offset), now ?? Start, missed);
        return (outcome, missed.Select(e => e.Offset).ToArray());
    }

    [Fact]
    public void A_stream_that_cannot_be_resumed_is_never_reported_recovered()
    {
        var empty = new StreamHistory(10, TimeSpan.FromMinutes(1));
        Assert.Equal(new ResumeOutcome(Stream, false, ResumeOutcome.NoHistory, null, null), Resume(empty, "e1", 1).Outcome);

        var history = new StreamHistory(2, TimeSpan.FromMinutes(1));
        for (var offset = 1; offset <= 4; offset++) history.Append(Frame("e1", offset, offset - 1), offset, Start);
        var head = new StreamPosition("e1", 4);
        Assert.Equal(new ResumeOutcome(Stream, false, ResumeOutcome.EpochChanged, head, null), Resume(history, "e0", 4).Outcome);
        Assert.Equal(new ResumeOutcome(Stream, false, ResumeOutcome.TooOld, head, null), Resume(history, "e1", 1).Outcome);
        Assert.Equal(new ResumeOutcome(Stream, true, null, head, (3L, 4L)), Resume(history, "e1", 2).Outcome);
        Assert.Equal(new ResumeOutcome(Stream, true, null, head, null), Resume(history, "e1", 4).Outcome);
    }

    [Fact]
    public void An_announcement_behind_this_node_moves_nothing_back()
    {
        var history = new StreamHistory(10, TimeSpan.FromMinutes(1));
        for (var offset = 1; offset <= 5; offset++) history.Append(Frame("e1", offset, offset - 1), offset, Start);
        history.Announce(new StreamPosition("e1", 3));
        Assert.Equal(new StreamPosition("e1", 5), history.Head);
        Assert.Equal([4L, 5L], Resume(history, "e1", 3).Offsets);
    }

    [Fact]
    public void After_a_jump_the_range_replayed_starts_at_the_first_message_after_it()
    {
        var history = new StreamHistory(10, TimeSpan.FromMinutes(1));
        history.Announce(new StreamPosition("e1", 41)); // a node that joined: it knows only where the stream stands
        history.Append(Frame("e1", 1_000_041, previous: 41), 1, Start);
        history.Append(Frame("e1", 1_000_042, previous: 1_000_041), 2, Start);
        var (outcome, offsets) = Resume(history, "e1", 41);
        Assert.Equal([1_000_041L, 1_000_042L], offsets);
        Assert.Equal((1_000_041L, 1_000_042L), outcome.Replayed);
    }

    [Fact]
    public void A_message_exactly_as_old_as_the_time_to_live_is_still_served()
    {
        var history = new StreamHistory(10, TimeSpan.FromMinutes(1));
        history.Append(Frame("e1", 1, 0), 1, Start);
        history.Append(Frame("e1", 2, 1), 2, Start.AddSeconds(30));
        Assert.Equal([1L, 2L], Resume(history, "e1", 0, Start.AddMinutes(1)).Offsets);
        Assert.Equal(ResumeOutcome.TooOld, Resume(history, "e1", 0, Start.AddMinutes(1).AddTicks(1)).Outcome.Reason);
    }
}
