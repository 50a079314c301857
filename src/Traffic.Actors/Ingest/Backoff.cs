namespace Traffic.Actors.Ingest;

/// <summary>
/// A growing pause between tries: <c>min</c>, doubled per consecutive failure up to <c>max</c>, ±20 % so that
/// several retrying things (types, nodes) do not retry in step. Not thread-safe: one user at a time.
/// </summary>
public sealed class Backoff(TimeSpan min, TimeSpan max)
{
    private int _failures;

    public TimeSpan Next()
    {
        var pause = Math.Min(max.TotalMilliseconds, min.TotalMilliseconds * Math.Pow(2, Math.Min(_failures++, 30)));
        return TimeSpan.FromMilliseconds(pause * (0.8 + 0.4 * Random.Shared.NextDouble()));
    }

    public void Reset() => _failures = 0;
}
