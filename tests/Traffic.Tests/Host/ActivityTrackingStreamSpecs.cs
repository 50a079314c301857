using Traffic.Host.WebSockets;
using Xunit;

namespace Traffic.Tests.Host;

public sealed class ActivityTrackingStreamSpecs
{
    /// <summary>Records each write the inner stream receives, as the transport would see them.</summary>
    private sealed class RecordingStream : MemoryStream
    {
        public List<byte[]> Writes { get; } = [];

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes.Add(buffer.ToArray());
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task Held_writes_leave_together_with_the_first_write_that_is_not_held()
    {
        var inner = new RecordingStream();
        var stream = new ActivityTrackingStream(inner);

        stream.HoldWrites = true;
        await stream.WriteAsync(new byte[] { 1, 2 });
        await stream.WriteAsync(new byte[] { 3 });
        Assert.Empty(inner.Writes);

        stream.HoldWrites = false;
        await stream.WriteAsync(new byte[] { 4, 5 });
        Assert.Equal([new byte[] { 1, 2, 3, 4, 5 }], inner.Writes);

        await stream.WriteAsync(new byte[] { 6 });
        Assert.Equal(new byte[] { 6 }, inner.Writes[1]);
    }

    [Fact]
    public async Task Writes_past_the_held_limit_go_out_in_order()
    {
        var inner = new RecordingStream();
        var stream = new ActivityTrackingStream(inner) { HoldWrites = true };
        var big = new byte[ActivityTrackingStream.MaxHeldBytes];
        big[0] = 9;

        await stream.WriteAsync(new byte[] { 1 });
        await stream.WriteAsync(big); // does not fit beside what is held: both go, held bytes first
        Assert.Equal(2, inner.Writes.Count);
        Assert.Equal(new byte[] { 1 }, inner.Writes[0]);
        Assert.Equal(9, inner.Writes[1][0]);
    }

    [Fact]
    public async Task Reads_that_return_bytes_are_noticed_and_zero_byte_reads_are_not()
    {
        var stream = new ActivityTrackingStream(new MemoryStream([1, 2, 3]));
        var noticed = 0;
        stream.BytesRead = () => noticed++;

        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty));
        Assert.Equal(0, noticed);
        Assert.Equal(3, await stream.ReadAsync(new byte[8]));
        Assert.Equal(1, noticed);
    }
}
