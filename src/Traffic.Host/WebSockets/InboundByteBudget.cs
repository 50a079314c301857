namespace Traffic.Host.WebSockets;

/// <summary>
/// How many message bytes one client may send a second, counted after inflating
/// (<c>CLIENT_BYTES_PER_SECOND</c>): a token bucket that holds at most <see cref="Capacity"/> bytes
/// (the rate, or one largest allowed message if that is more, so one message is never paced).
/// A read that overdraws it is not refused: the receive loop waits before reading on, so the
/// client's TCP window closes and the bytes it keeps sending wait in its own buffers, not ours,
/// and inflating them costs the node no more than the rate allows.
/// </summary>
public sealed class InboundByteBudget(long bytesPerSecond, long maxMessageBytes)
{
    private double _tokens = Math.Max(bytesPerSecond, maxMessageBytes);
    private long? _refilledAtMs;

    public long BytesPerSecond => bytesPerSecond;

    public long Capacity { get; } = Math.Max(bytesPerSecond, maxMessageBytes);

    /// <summary>Takes <paramref name="bytes"/> just read at <paramref name="nowMs"/>; returns how long to wait before reading more (zero: read on).</summary>
    public TimeSpan Take(int bytes, long nowMs)
    {
        if (_refilledAtMs is { } last && nowMs > last) _tokens = Math.Min(Capacity, _tokens + (nowMs - last) * bytesPerSecond / 1000.0);
        _refilledAtMs = nowMs;
        _tokens -= bytes;
        return _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Ceiling(-_tokens * 1000.0 / bytesPerSecond));
    }
}
