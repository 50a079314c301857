namespace Traffic.Host.WebSockets;

/// <summary>
/// The stream a server WebSocket is built on, with the two things the socket adapter needs from
/// beneath the WebSocket:
/// <list type="bullet">
/// <item><see cref="BytesRead"/>: System.Net.WebSockets answers and swallows control frames itself
/// and never reports a received PONG; noticing inbound bytes beneath it is how the service learns
/// that a listen-only client (a browser tab that answers pings and says nothing else) is alive.</item>
/// <item><see cref="HoldWrites"/>: while the sender knows more frames follow, writes are held and
/// leave together with the first write made without it (one flush, one send for a backlog).</item>
/// </list>
/// The WebSocket serializes all of its writes (data and control frames) under its own send lock,
/// so a stream's write path is only ever entered by one writer at a time.
/// </summary>
public abstract class SocketStream : Stream
{
    /// <summary>Bytes held back are written out once they reach this size, held or not.</summary>
    public const int MaxHeldBytes = 16 * 1024;

    /// <summary>Called after each read that returned bytes, on the reading thread.</summary>
    public Action? BytesRead { get; set; }

    /// <summary>Set by the sender just before a write when another frame is already queued behind it.</summary>
    public bool HoldWrites { get; set; }

    protected int Noticed(int read)
    {
        if (read > 0) BytesRead?.Invoke();
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush() => FlushAsync().GetAwaiter().GetResult();
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
