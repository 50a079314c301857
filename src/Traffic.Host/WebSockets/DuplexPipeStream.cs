using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;

namespace Traffic.Host.WebSockets;

/// <summary>
/// A connection's transport pipes as the WebSocket's stream (the direct path). A zero-byte read
/// waits for data without taking a buffer or consuming anything, so an idle WebSocket holds no
/// receive memory.
/// <para>
/// Two writers share the transport's <see cref="PipeWriter"/>, which takes one writer at a time:
/// the socket's drain, which writes its data frames itself (<see cref="WriteTextFrame"/>, RFC 6455
/// server frames, one flush per batch), and the runtime's WebSocket, which still writes the control
/// frames (PONG answers to client PINGs, keep-alive PINGs, the CLOSE frame) through
/// <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>. Each holds <see cref="EnterAsync"/>'s
/// gate across its writes and its flush (a flush can wait on a slow client), so no frame is ever
/// interleaved inside another and the pipe never has two writers.
/// </para>
/// </summary>
public sealed class DuplexPipeStream(IDuplexPipe transport) : SocketStream
{
    /// <summary>The longest header of a server frame: 2 bytes and a 64-bit length (servers do not mask).</summary>
    public const int MaxHeaderBytes = 10;

    // An uncontended WaitAsync completes at once with a cached task: no allocation per batch.
    private readonly SemaphoreSlim _writer = new(1, 1);
    private volatile bool _disposed;

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

    /// <summary>Waits for the writer's turn; <see cref="Exit"/> gives it back (after the flush).</summary>
    public Task EnterAsync() => _writer.WaitAsync();

    /// <summary>Gives the turn taken with <see cref="EnterAsync"/> back.</summary>
    public void Exit() => _writer.Release();

    /// <summary>
    /// Writes one final text frame (RSV1 set when <paramref name="deflated"/>, RFC 7692) into the pipe,
    /// unflushed. Only with the turn (<see cref="EnterAsync"/>); <see cref="FlushFramesAsync"/> sends what was written.
    /// </summary>
    public void WriteTextFrame(ReadOnlySpan<byte> payload, bool deflated)
    {
        ObjectDisposedException.ThrowIf(_disposed, this); // aborted: nothing more goes out
        var output = transport.Output;
        output.Advance(TextFrameHeader(output.GetSpan(MaxHeaderBytes), payload.Length, deflated));
        output.Write(payload);
    }

    /// <summary>
    /// Writes a PING with no payload (RFC 6455 5.5.2) into the pipe, unflushed: the keep-alive, which the
    /// connection's heartbeat asks for (<see cref="OutboundWriter.Ping"/>). Only with the turn; the runtime
    /// takes the PONG that answers it like any other frame.
    /// </summary>
    public void WritePingFrame()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var output = transport.Output;
        var header = output.GetSpan(2);
        header[0] = 0x80 | 0x09; // FIN, PING
        header[1] = 0;
        output.Advance(2);
    }

    /// <summary>Sends what <see cref="WriteTextFrame"/> wrote. Only with the turn.</summary>
    public ValueTask FlushFramesAsync() => FlushAsync(transport.Output, CancellationToken.None);

    /// <summary>The header of a final, unmasked text frame of <paramref name="length"/> bytes, RSV1 set when deflated (RFC 6455 5.2).</summary>
    public static int TextFrameHeader(Span<byte> header, int length, bool deflated)
    {
        header[0] = (byte)(deflated ? 0x80 | 0x40 | 0x01 : 0x80 | 0x01); // FIN, (RSV1,) text
        if (length <= 125) { header[1] = (byte)length; return 2; }
        if (length <= ushort.MaxValue)
        {
            header[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)length);
            return 4;
        }
        header[1] = 127;
        BinaryPrimitives.WriteUInt64BigEndian(header[2..], (ulong)length);
        return 10;
    }

    /// <summary>The runtime's writes (control frames: each written whole in one call), flushed at once, in turn with the drain.</summary>
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            transport.Output.Write(source.Span);
            await FlushAsync(transport.Output, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writer.Release();
        }
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try { await FlushAsync(transport.Output, cancellationToken).ConfigureAwait(false); }
        finally { _writer.Release(); }
    }

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
            _disposed = true;
            transport.Input.CancelPendingRead();
            transport.Output.CancelPendingFlush();
        }
        base.Dispose(disposing);
    }
}
