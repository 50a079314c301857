using System.Text;
using Traffic.Actors.Protocol;
using Traffic.Host.WebSockets;
using Xunit;

namespace Traffic.Tests.Host;

/// <summary>
/// The queue's own contract, as the writer uses it: order, the counts and bytes that decide when a
/// client is behind or full, and which UPDATEs conflation drops (and that it reports each one).
/// </summary>
public sealed class OutboundQueueConflationSpecs
{
    private static ServerFrame Update(Topic topic, string text) => new(ServerMessageType.Update, topic, Encoding.UTF8.GetBytes(text));
    private static ServerFrame Alert(string text) => new(ServerMessageType.Alert, Topic.Accidents, Encoding.UTF8.GetBytes(text));

    private static List<string> Drain(OutboundQueue queue)
    {
        var left = new List<string>();
        while (queue.TryDequeue(out var frame)) left.Add(frame.ToString());
        return left;
    }

    [Fact]
    public void Counts_and_bytes_follow_every_frame_in_and_out_and_kept_ones_are_counted_apart()
    {
        var queue = new OutboundQueue();
        queue.Enqueue(Update(Topic.Cameras, "u1"));      // 2 bytes
        queue.Enqueue(Alert("alert"));                   // 5 bytes, kept
        queue.Enqueue(Update(Topic.Weather, "weather")); // 7 bytes
        Assert.Equal(3, queue.Count);
        Assert.Equal(14, queue.Bytes);
        Assert.Equal(1, queue.KeptCount);
        Assert.Equal(5, queue.KeptBytes);

        Assert.True(queue.TryPeekLength(out var length));
        Assert.Equal(2, length);
        Assert.Equal(3, queue.Count); // a peek takes nothing

        Assert.True(queue.TryDequeue(out var first));
        Assert.Equal("u1", first.ToString());
        Assert.Equal(2, queue.Count);
        Assert.Equal(12, queue.Bytes);
        Assert.Equal(1, queue.KeptCount);

        Assert.True(queue.TryDequeue(out var second));
        Assert.Equal("alert", second.ToString());
        Assert.Equal(0, queue.KeptCount);
        Assert.Equal(0, queue.KeptBytes);
        Assert.Equal(7, queue.Bytes);

        Assert.Equal(["weather"], Drain(queue));
        Assert.Equal(0, queue.Bytes);
        Assert.False(queue.TryPeekLength(out var none));
        Assert.Equal(0, none);
        Assert.False(queue.TryDequeue(out _));
    }

    [Fact]
    public void Dropping_a_topics_updates_leaves_the_other_topics_and_the_kept_frames_in_order()
    {
        var queue = new OutboundQueue();
        queue.Enqueue(Update(Topic.Cameras, "c1"));
        queue.Enqueue(Update(Topic.Weather, "w1"));
        queue.Enqueue(Alert("a1"));
        queue.Enqueue(Update(Topic.Cameras, "c2"));
        queue.Enqueue(Update(Topic.Weather, "w2"));

        var dropped = new List<string>();
        queue.DropUpdatesOf(Topic.Cameras, f => dropped.Add(f.ToString()));
        Assert.Equal(["c2", "c1"], dropped); // newest first, each reported once
        Assert.Equal(3, queue.Count);
        Assert.Equal(6, queue.Bytes);
        Assert.Equal(1, queue.KeptCount);

        queue.DropUpdatesOf(Topic.Cameras, f => dropped.Add(f.ToString())); // none left: nothing more
        Assert.Equal(2, dropped.Count);
        Assert.Equal(["w1", "a1", "w2"], Drain(queue));
    }

    [Fact]
    public void Dropping_the_one_waiting_update_of_a_topic_drops_exactly_that_one()
    {
        var queue = new OutboundQueue();
        queue.Enqueue(Alert("a1"));
        queue.Enqueue(Update(Topic.Cameras, "c1"));
        queue.Enqueue(Update(Topic.Weather, "w1"));
        queue.Enqueue(Alert("a2"));

        var dropped = new List<string>();
        queue.DropUpdatesOf(Topic.Cameras, f => dropped.Add(f.ToString()));
        queue.DropUpdatesOf(Topic.Patterns, f => dropped.Add(f.ToString())); // none waits
        Assert.Equal(["c1"], dropped);
        Assert.Equal(3, queue.Count);
        Assert.True(queue.TryPeekLength(out var length));
        Assert.Equal(2, length);

        // A new UPDATE of the topic after the drop is counted afresh and can be dropped again.
        queue.Enqueue(Update(Topic.Cameras, "c2"));
        queue.DropUpdatesOf(Topic.Cameras, null);
        Assert.Equal(["a1", "w1", "a2"], Drain(queue));
    }

    [Fact]
    public void Superseded_updates_go_and_the_newest_of_each_topic_stays_where_it_was()
    {
        var queue = new OutboundQueue();
        queue.Enqueue(Update(Topic.Cameras, "c1"));
        queue.Enqueue(Update(Topic.Weather, "w1"));
        queue.Enqueue(Alert("a1"));
        queue.Enqueue(Update(Topic.Cameras, "c2"));
        queue.Enqueue(Update(Topic.Cameras, "c3"));

        var dropped = new List<string>();
        queue.DropSupersededUpdates(f => dropped.Add(f.ToString()));
        Assert.Equal(["c2", "c1"], dropped);
        Assert.Equal(3, queue.Count);
        Assert.Equal(["w1", "a1", "c3"], Drain(queue));
    }

    [Fact]
    public void With_nothing_superseded_nothing_is_dropped()
    {
        var queue = new OutboundQueue();
        queue.Enqueue(Update(Topic.Cameras, "c1"));
        queue.Enqueue(Alert("a1"));
        queue.Enqueue(Update(Topic.Weather, "w1"));
        var dropped = 0;
        queue.DropSupersededUpdates(_ => dropped++);
        Assert.Equal(0, dropped);
        Assert.Equal(["c1", "a1", "w1"], Drain(queue));
    }

    [Fact]
    public void Holes_at_the_head_are_skipped_by_a_peek_and_a_dequeue()
    {
        var queue = new OutboundQueue();
        queue.Enqueue(Update(Topic.Cameras, "c1"));
        queue.Enqueue(Update(Topic.Cameras, "c2"));
        queue.Enqueue(Alert("alert!"));
        queue.DropUpdatesOf(Topic.Cameras, null);

        Assert.True(queue.TryPeekLength(out var length));
        Assert.Equal(6, length);
        Assert.True(queue.TryDequeue(out var frame));
        Assert.Equal("alert!", frame.ToString());
        Assert.False(queue.TryPeekLength(out _));

        queue.Enqueue(Update(Topic.Cameras, "c3"));
        queue.DropUpdatesOf(Topic.Cameras, null);
        Assert.False(queue.TryDequeue(out _)); // only a hole waited
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void A_ring_full_of_holes_is_squeezed_not_grown_and_conflation_still_finds_the_newest_update()
    {
        var queue = new OutboundQueue();
        for (var i = 0; i < 8; i++) queue.Enqueue(Update(Topic.Cameras, $"c{i}"));
        Assert.Equal(8, queue.Capacity);
        queue.DropSupersededUpdates(null); // 7 holes and c7
        Assert.Equal(1, queue.Count);

        queue.Enqueue(Update(Topic.Weather, "w1")); // full of slots: squeezed, not doubled
        Assert.Equal(8, queue.Capacity);
        queue.Enqueue(Update(Topic.Cameras, "c8"));
        queue.DropSupersededUpdates(null); // c7 moved in the squeeze; c8 is the newest
        Assert.Equal(["w1", "c8"], Drain(queue));
    }

    [Fact]
    public void A_ring_with_few_holes_doubles_and_keeps_every_frame_in_order()
    {
        var queue = new OutboundQueue();
        for (var i = 0; i < 8; i++) queue.Enqueue(i == 3 ? Update(Topic.Cameras, "c") : Alert($"a{i}"));
        queue.Enqueue(Update(Topic.Cameras, "c-newer"));
        Assert.Equal(16, queue.Capacity);
        queue.DropUpdatesOf(Topic.Cameras, null);
        Assert.Equal(7, queue.Count);
        Assert.Equal(["a0", "a1", "a2", "a4", "a5", "a6", "a7"], Drain(queue));
    }

    [Fact]
    public void A_ring_that_wrapped_keeps_its_order_when_it_grows()
    {
        var queue = new OutboundQueue();
        for (var i = 0; i < 6; i++) queue.Enqueue(Alert($"a{i}"));
        for (var i = 0; i < 4; i++) Assert.True(queue.TryDequeue(out _));
        for (var i = 6; i < 20; i++) queue.Enqueue(Alert($"a{i}"));
        Assert.Equal(Enumerable.Range(4, 16).Select(i => $"a{i}"), Drain(queue));
    }

    [Fact]
    public void A_ring_of_exactly_the_kept_size_stays_when_it_drains()
    {
        var queue = new OutboundQueue();
        for (var i = 0; i < 64; i++) queue.Enqueue(Alert($"a{i}"));
        Assert.Equal(64, queue.Capacity);
        Drain(queue);
        Assert.Equal(64, queue.Capacity);

        for (var i = 0; i < 65; i++) queue.Enqueue(Alert($"b{i}"));
        Assert.Equal(128, queue.Capacity);
        for (var i = 0; i < 64; i++) Assert.True(queue.TryDequeue(out _));
        Assert.Equal(128, queue.Capacity); // not drained yet
        Assert.True(queue.TryDequeue(out _));
        Assert.Equal(8, queue.Capacity);
    }

    [Fact]
    public void Superseded_updates_of_several_topics_all_go()
    {
        var queue = new OutboundQueue();
        queue.Enqueue(Update(Topic.Cameras, "c1"));
        queue.Enqueue(Update(Topic.Weather, "w1"));
        queue.Enqueue(Update(Topic.Cameras, "c2"));
        queue.Enqueue(Update(Topic.Weather, "w2"));
        queue.DropSupersededUpdates(null);
        Assert.Equal(["c2", "w2"], Drain(queue));
    }

    [Fact]
    public void An_update_that_already_left_is_not_dropped_again()
    {
        var queue = new OutboundQueue();
        queue.Enqueue(Update(Topic.Cameras, "c1"));
        Assert.True(queue.TryDequeue(out _)); // sent
        queue.Enqueue(Alert("a1"));
        var dropped = 0;
        queue.DropUpdatesOf(Topic.Cameras, _ => dropped++);
        queue.DropSupersededUpdates(_ => dropped++);
        Assert.Equal(0, dropped);
        Assert.Equal(1, queue.Count);
        Assert.Equal(["a1"], Drain(queue));
    }
}
