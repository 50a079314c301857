using Traffic.Actors.Protocol;

namespace Traffic.Actors.Aggregation;

/// <summary>
/// When the aggregator logs refused entities: at the first refusal of a topic, then at most once a
/// minute with how many were refused since, so a source that keeps sending new ids to a full topic
/// costs one line a minute, not one a message.
/// </summary>
public sealed class RefusalLog
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly DateTimeOffset?[] _loggedAt = new DateTimeOffset?[Topics.Count];
    private readonly long[] _since = new long[Topics.Count];

    /// <summary>Counts <paramref name="refused"/>; returns how many to report when a line is due now, else null.</summary>
    public long? Count(Topic topic, int refused, DateTimeOffset now)
    {
        var at = (int)topic;
        _since[at] += refused;
        if (_loggedAt[at] is { } last && now - last < Interval) return null;
        _loggedAt[at] = now;
        var total = _since[at];
        _since[at] = 0;
        return total;
    }
}
