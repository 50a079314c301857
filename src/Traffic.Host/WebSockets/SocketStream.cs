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
/// <item><see cref="SendFramesInstead"/>: a backlog of frames written in one go, beneath the
/// WebSocket's per-message work, and permessage-deflate with one compression per frame shared by
/// every socket (see <see cref="FrameCompressor"/>).</item>
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

    /// <summary>What the WebSocket writes for an empty, final, uncompressed text message: FIN|text, length 0 (a server does not mask).</summary>
    private static ReadOnlySpan<byte> EmptyTextFrame => [0x81, 0x00];

    private OutgoingFrame[]? _framesNext;
    private int _framesNextCount;

    /// <summary>
    /// Whether <see cref="SendFramesInstead"/> is honoured: the stream writes frames itself (the direct
    /// path's pipe). Otherwise a sender sends each frame through the WebSocket.
    /// </summary>
    public virtual bool WritesFrames => false;

    /// <summary>
    /// Announces that the next data frame the WebSocket writes is an empty text message standing for
    /// the first <paramref name="count"/> of <paramref name="frames"/>: that write is replaced by these
    /// frames, each a final text frame (RSV1 set on a deflated one, RFC 7692), one after another in one
    /// write. The WebSocket writes each frame in one call under its send lock, and the sender sets this
    /// just before its send, so the one write to replace is known exactly; a control frame (a PING, a
    /// PONG) written first by the runtime passes. So frames that piled up leave in one write with one
    /// pass through the WebSocket, not one each, and a deflated frame is written as it was made, once
    /// for every socket (see <see cref="FrameCompressor"/>). The sender keeps the array until its send ends.
    /// </summary>
    public void SendFramesInstead(OutgoingFrame[] frames, int count)
    {
        _framesNext = frames;
        _framesNextCount = count;
    }

    /// <summary>For the write path: the frames to write in place of <paramref name="write"/>, if it is the announced empty message.</summary>
    protected bool TakeFramesInstead(ReadOnlySpan<byte> write, out ReadOnlySpan<OutgoingFrame> frames)
    {
        var next = _framesNext;
        if (next is null || !write.SequenceEqual(EmptyTextFrame))
        {
            frames = default;
            return false;
        }
        frames = next.AsSpan(0, _framesNextCount);
        _framesNext = null;
        return true;
    }

    /// <summary>The header of a final, unmasked text frame of <paramref name="length"/> bytes, RSV1 set when deflated (RFC 6455 5.2).</summary>
    protected static int TextFrameHeader(Span<byte> header, int length, bool deflated)
    {
        header[0] = (byte)(deflated ? 0x80 | 0x40 | 0x01 : 0x80 | 0x01); // FIN, (RSV1,) text
        if (length <= 125) { header[1] = (byte)length; return 2; }
        if (length <= ushort.MaxValue)
        {
            header[1] = 126;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)length);
            return 4;
        }
        header[1] = 127;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(header[2..], (ulong)length);
        return 10;
    }

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

/// <summary>One frame for <see cref="SocketStream.SendFramesInstead"/>: the message's payload, and whether it is deflated.</summary>
public readonly record struct OutgoingFrame(byte[] Payload, bool Deflated);

