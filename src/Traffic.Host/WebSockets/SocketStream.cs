namespace Traffic.Host.WebSockets;

/// <summary>
/// The stream a server WebSocket is built on. <see cref="BytesRead"/>: System.Net.WebSockets answers
/// and swallows control frames itself and never reports a received PONG; noticing inbound bytes
/// beneath it is how the service learns that a listen-only client (a browser tab that answers pings
/// and says nothing else) is alive. How data frames leave depends on the path: the direct path's
/// <see cref="DuplexPipeStream"/> writes them itself (<see cref="DuplexPipeStream.WriteTextFrame"/>),
/// the standard path sends them through the WebSocket (<see cref="ActivityTrackingStream"/>).
/// </summary>
public abstract class SocketStream : Stream
{
    /// <summary>Called after each read that returned bytes, on the reading thread.</summary>
    public Action? BytesRead { get; set; }

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
