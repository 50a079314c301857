namespace Traffic.Actors.Connections;

/// <summary>
/// How many messages one client may send: a token bucket (<c>perSecond</c> tokens a second, at
/// most <c>burst</c> saved up). A message over the limit is dropped; the first drop in each
/// <see cref="Window"/> is to be told to the client; more than <c>burst</c> drops within one window
/// is a client that keeps going regardless, to be disconnected.
/// Hand-written rather than System.Threading.RateLimiting's TokenBucketRateLimiter: it reads the
/// actor's clock (virtual in specs) and needs no replenishment timer per connection.
/// </summary>
public sealed class InboundRateLimit(int perSecond, int burst)
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    public enum Verdict
    {
        /// <summary>Within the limit: handle it.</summary>
        Accept,
        /// <summary>Over the limit, the first drop in this window: drop it and tell the client.</summary>
        DropAndTell,
        /// <summary>Over the limit, already told in this window: drop it silently.</summary>
        Drop,
        /// <summary>More than the burst dropped within one window: end the connection.</summary>
        Disconnect,
    }

    private double _tokens = burst;
    private DateTimeOffset? _refilledAt;
    private DateTimeOffset _windowStart = DateTimeOffset.MinValue;
    private int _droppedInWindow;

    public int PerSecond => perSecond;
    public int Burst => burst;

    public Verdict Take(DateTimeOffset now)
    {
        if (_refilledAt is { } last && now > last) _tokens = Math.Min(burst, _tokens + (now - last).TotalSeconds * perSecond);
        _refilledAt = now;
        if (_tokens >= 1)
        {
            _tokens -= 1;
            return Verdict.Accept;
        }

        if (now - _windowStart >= Window)
        {
            _windowStart = now;
            _droppedInWindow = 0;
        }
        _droppedInWindow++;
        if (_droppedInWindow > burst) return Verdict.Disconnect;
        return _droppedInWindow == 1 ? Verdict.DropAndTell : Verdict.Drop;
    }
}
