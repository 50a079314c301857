using System.Buffers;

namespace Traffic.Host.WebSockets;

/// <summary>
/// A <see cref="SocketStream"/> over any other stream (the standard path: the stream that
/// ASP.NET Core's upgrade hands out), which the WebSocket writes every frame through. Held writes
/// (<see cref="HoldWrites"/>) are copied into one buffer and written out together.
/// </summary>
public sealed class ActivityTrackingStream(Stream inner) : SocketStream
{
    /// <summary>Bytes held back are written out once they reach this size, held or not.</summary>
    public const int MaxHeldBytes = 16 * 1024;

    /// <summary>
    /// Set by the sender just before a write when another frame is already queued behind it: while
    /// it is, writes are held and leave together with the first write made without it (one write
    /// to the connection for a backlog). The WebSocket serializes its writes under its send lock.
    /// </summary>
    public bool HoldWrites { get; set; }

    private byte[]? _held;
    private int _heldLength;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Noticed(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

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

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

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

    // Disposal (an abort, from any thread) may race a write that is using the held buffer, so the
    // buffer is left to the GC rather than returned to the shared pool.
    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => inner.DisposeAsync();
}
