namespace Traffic.Actors.Sources.Simulation;

/// <summary>
/// A fixed grid of update times (start + k·interval) of one feed: the feed updates at the first step at or after a
/// grid point, and the next update is due at the first grid point after that step.
/// </summary>
internal sealed class Cadence
{
    private readonly long _startTicks;
    private readonly long _intervalTicks;
    private long _nextDueTicks;

    public Cadence(DateTimeOffset start, TimeSpan interval)
    {
        _startTicks = start.UtcTicks;
        _intervalTicks = interval.Ticks;
        _nextDueTicks = _startTicks + _intervalTicks;
        Last = start;
    }

    /// <summary>Time of the last update (the start before the first one).</summary>
    public DateTimeOffset Last { get; private set; }

    /// <summary>If an update is due at <paramref name="now"/>, records it and returns the seconds elapsed since the last update.</summary>
    public bool TryFire(DateTimeOffset now, out double elapsedSeconds)
    {
        elapsedSeconds = 0;
        if (now.UtcTicks < _nextDueTicks) return false;
        elapsedSeconds = (now - Last).TotalSeconds;
        Last = now;
        var periods = (now.UtcTicks - _startTicks) / _intervalTicks + 1;
        _nextDueTicks = _startTicks + periods * _intervalTicks;
        return true;
    }
}
