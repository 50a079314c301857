using System.Text;
using Traffic.Actors.Protocol;
using Traffic.Host.WebSockets;
using Xunit;

namespace Traffic.Tests.Host;

public sealed class OutboundQueueSpecs
{
    private static ServerFrame Alert(string text) => new(ServerMessageType.Alert, Topic.Accidents, Encoding.UTF8.GetBytes(text));

    [Fact]
    public void A_ring_that_grew_for_a_backlog_is_given_back_once_the_queue_drains_and_keeps_working()
    {
        var queue = new OutboundQueue();
        for (var i = 0; i < 2000; i++) queue.Enqueue(Alert($"a{i}"));
        Assert.True(queue.Capacity >= 2000);

        for (var i = 0; i < 2000; i++)
        {
            Assert.True(queue.TryDequeue(out var frame));
            Assert.Equal($"a{i}", frame.ToString());
        }
        Assert.Equal(8, queue.Capacity);
        Assert.Equal(0, queue.Count);
        Assert.Equal(0, queue.Bytes);

        queue.Enqueue(Alert("after"));
        Assert.True(queue.TryDequeue(out var next));
        Assert.Equal("after", next.ToString());
    }

    [Fact]
    public void A_small_ring_stays_when_it_drains_so_a_socket_that_empties_after_every_burst_does_not_reallocate()
    {
        var queue = new OutboundQueue();
        for (var i = 0; i < 40; i++) queue.Enqueue(Alert($"a{i}"));
        var grown = queue.Capacity;
        while (queue.TryDequeue(out _)) { }
        Assert.Equal(64, grown);
        Assert.Equal(grown, queue.Capacity);
    }
}
