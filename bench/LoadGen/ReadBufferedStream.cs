using System.Net.Sockets;

namespace Bench.LoadGen;

/// <summary>
/// The connection stream under each ClientWebSocket (plugged in with SocketsHttpHandler.ConnectCallback).
/// The .NET WebSocket reads a frame header into a 139-byte buffer and then the payload directly,
/// so without this every ~380-byte frame costs two recv() system calls. Here reads are served
/// from a per-connection buffer refilled with one recv() of up to its size, which at high rates
/// carries many frames. Writes go straight through (pongs and close frames must not wait).
/// </summary>
public sealed class ReadBufferedStream(Socket socket, int bufferSize) : Stream
{
    private readonly NetworkStream _inner = new(socket, ownsSocket: true);
    private readonly byte[] _buffer = new byte[bufferSize];
    private int _pos, _len;

    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (_pos < _len)
        {
            var n = Math.Min(destination.Length, _len - _pos);
            _buffer.AsSpan(_pos, n).CopyTo(destination.Span);
            _pos += n;
            return new ValueTask<int>(n);
        }
        if (destination.Length >= _buffer.Length) return _inner.ReadAsync(destination, cancellationToken);
        return FillAndReadAsync(destination, cancellationToken);
    }

    private async ValueTask<int> FillAndReadAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        var got = await _inner.ReadAsync(_buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
        if (got == 0) return 0;
        var n = Math.Min(destination.Length, got);
        _buffer.AsSpan(0, n).CopyTo(destination.Span);
        _pos = n;
        _len = got;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_pos < _len)
        {
            var n = Math.Min(count, _len - _pos);
            Buffer.BlockCopy(_buffer, _pos, buffer, offset, n);
            _pos += n;
            return n;
        }
        return _inner.Read(buffer, offset, count);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        _inner.WriteAsync(source, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override void Flush() { }
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }
}
