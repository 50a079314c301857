using System.Buffers;

namespace Traffic.Host.WebSockets;

/// <summary>
/// A pass-through over the upgraded connection with two jobs beneath the WebSocket:
/// <list type="bullet">
/// <item>It notices every read of inbound bytes. System.Net.WebSockets answers and swallows
/// control frames itself and never reports a received PONG; reading beneath it is how the service
/// learns that a listen-only client (a browser tab that answers pings and says nothing else) is alive.</item>
/// <item>It can hold writes back while the sender knows more frames follow (<see cref="HoldWrites"/>),
/// so a burst of queued frames leaves in one write (one flush, one send) instead of one each.</item>
/// </list>
/// The WebSocket serializes all of its writes (data and control frames) under its own send lock,
/// so the held buffer is only ever touched by one writer at a time.
/// </summary>
public sealed class ActivityTrackingStream(Stream inner) : Stream
{
    /// <summary>Held bytes are written out once they reach this size, held or not.</summary>
    public const int MaxHeldBytes = 16 * 1024;

    private byte[]? _held;
    private int _heldLength;

    /// <summary>Called after each read that returned bytes, on the reading thread.</summary>
    public Action? BytesRead { get; set; }

    /// <summary>
    /// Set by the sender just before a write when another frame is already queued behind it; the
    /// write is then kept in a buffer, and the first write made with this false sends it all.
    /// </summary>
    public bool HoldWrites { get; set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (read > 0) BytesRead?.Invoke();
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        if (read > 0) BytesRead?.Invoke();
        return read;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_heldLength + buffer.Length <= MaxHeldBytes && (HoldWrites || _heldLength > 0))
        {
            _held ??= ArrayPool<byte>.Shared.Rent(MaxHeldBytes);
            buffer.Span.CopyTo(_held.AsSpan(_heldLength));
            _heldLength += buffer.Length;
            return HoldWrites ? ValueTask.CompletedTask : WriteHeldAsync(cancellationToken);
        }
        return _heldLength == 0 ? inner.WriteAsync(buffer, cancellationToken) : WriteHeldThenAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    private async ValueTask WriteHeldAsync(CancellationToken cancellationToken)
    {
        var held = _held!;
        var length = _heldLength;
        _held = null;
        _heldLength = 0;
        try { await inner.WriteAsync(held.AsMemory(0, length), cancellationToken).ConfigureAwait(false); }
        finally { ArrayPool<byte>.Shared.Return(held); }
    }

    private async ValueTask WriteHeldThenAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await WriteHeldAsync(cancellationToken).ConfigureAwait(false);
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override void Flush() => inner.Flush();

    public override bool CanRead => inner.CanRead;
    public override bool CanWrite => inner.CanWrite;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            if (Interlocked.Exchange(ref _held, null) is { } held) ArrayPool<byte>.Shared.Return(held);
        }
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _held, null) is { } held) ArrayPool<byte>.Shared.Return(held);
        return inner.DisposeAsync();
    }
}
