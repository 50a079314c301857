using System.Buffers;
using System.IO.Pipelines;

namespace Traffic.Host.WebSockets;

/// <summary>
/// A connection's transport pipes as one Stream, for <c>WebSocket.CreateFromStream</c>.
/// A zero-byte read waits for data without taking a buffer or consuming anything, which is what
/// lets an idle WebSocket hold no receive memory.
/// </summary>
public sealed class DuplexPipeStream(IDuplexPipe transport) : Stream
{
    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        var result = await transport.Input.ReadAsync(cancellationToken).ConfigureAwait(false);
        var buffer = result.Buffer;
        if (destination.IsEmpty)
        {
            transport.Input.AdvanceTo(buffer.Start); // nothing taken: the next read sees the same bytes at once
            return 0;
        }
        var length = (int)Math.Min(buffer.Length, destination.Length);
        buffer.Slice(0, length).CopyTo(destination.Span);
        transport.Input.AdvanceTo(buffer.GetPosition(length));
        return length; // 0 only at the end of the stream
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        var flush = await transport.Output.WriteAsync(source, cancellationToken).ConfigureAwait(false);
        if (flush.IsCanceled) throw new OperationCanceledException("the connection's output was canceled");
        if (flush.IsCompleted) throw new IOException("the connection is closed");
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask; // every write flushes

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override void Flush() { }
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
