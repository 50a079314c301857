using System.Buffers;
using System.IO.Pipelines;

namespace Traffic.Host.WebSockets;

/// <summary>
/// A connection's transport pipes as the WebSocket's stream (the direct path). A zero-byte read
/// waits for data without taking a buffer or consuming anything, so an idle WebSocket holds no
/// receive memory; held writes stay in the pipe unflushed until the first write that is not held.
/// It writes frames itself (<see cref="SocketStream.SendFramesInstead"/>) straight into the pipe.
/// </summary>
public sealed class DuplexPipeStream(IDuplexPipe transport) : SocketStream
{
    public override bool WritesFrames => true;

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        var result = await transport.Input.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled) throw new OperationCanceledException("the connection's input was canceled");
        var buffer = result.Buffer;
        if (destination.IsEmpty)
        {
            transport.Input.AdvanceTo(buffer.Start); // nothing taken: the next read sees the same bytes at once
            return 0;
        }
        var length = (int)Math.Min(buffer.Length, destination.Length);
        buffer.Slice(0, length).CopyTo(destination.Span);
        transport.Input.AdvanceTo(buffer.GetPosition(length));
        return Noticed(length); // 0 only at the end of the stream
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        var output = transport.Output;
        if (TakeFramesInstead(source.Span, out var frames))
        {
            Span<byte> header = stackalloc byte[10];
            foreach (var frame in frames)
            {
                output.Write(header[..TextFrameHeader(header, frame.Payload.Length, frame.Deflated)]);
                output.Write(frame.Payload);
            }
        }
        else output.Write(source.Span);
        return HoldWrites && output.UnflushedBytes < MaxHeldBytes ? ValueTask.CompletedTask : FlushAsync(output, cancellationToken);
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => FlushAsync(transport.Output, cancellationToken).AsTask();

    private static async ValueTask FlushAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (flush.IsCanceled) throw new OperationCanceledException("the connection's output was canceled");
        if (flush.IsCompleted) throw new IOException("the connection is closed");
    }

    /// <summary>The WebSocket disposes its stream when aborted: a pending read or a flush held up by a client that does not read must end then.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            transport.Input.CancelPendingRead();
            transport.Output.CancelPendingFlush();
        }
        base.Dispose(disposing);
    }
}
