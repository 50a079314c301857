using Traffic.Actors.Protocol;

namespace Traffic.Actors.Aggregation;

/// <summary>How often each topic's scheduled UPDATE goes out (the original design's topic table by default).</summary>
public sealed record TopicSchedule(IReadOnlyDictionary<Topic, TimeSpan> Intervals)
{
    public static TopicSchedule Default { get; } = new(new Dictionary<Topic, TimeSpan>
    {
        [Topic.Cameras] = TimeSpan.FromSeconds(30),
        [Topic.Weather] = TimeSpan.FromSeconds(30),
        [Topic.AirQuality] = TimeSpan.FromSeconds(30),
        [Topic.Accidents] = TimeSpan.FromSeconds(10),
        [Topic.Patterns] = TimeSpan.FromSeconds(60),
        [Topic.Congestion] = TimeSpan.FromSeconds(30),
    });

    public TimeSpan IntervalOf(Topic topic) => Intervals.TryGetValue(topic, out var i) ? i : Default.Intervals[topic];

    /// <summary>
    /// Parses overrides such as "cameras=5000,accidents=1000" (milliseconds); unnamed topics keep
    /// the default. Throws <see cref="FormatException"/> saying which part is wrong and why.
    /// </summary>
    public static TopicSchedule Parse(string? overrides)
    {
        var intervals = new Dictionary<Topic, TimeSpan>(Default.Intervals);
        if (string.IsNullOrWhiteSpace(overrides)) return new TopicSchedule(intervals);
        foreach (var part in overrides.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pieces = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pieces.Length != 2)
                throw new FormatException($"\"{part}\" is not topic=milliseconds, e.g. accidents=10000");
            if (!Topics.TryParse(pieces[0], out var topic))
                throw new FormatException($"unknown topic \"{pieces[0]}\" in \"{part}\"; the topics are {string.Join(", ", Topics.Every.Select(t => t.WireName()))}");
            if (!int.TryParse(pieces[1], out var ms) || ms <= 0)
                throw new FormatException($"\"{pieces[1]}\" in \"{part}\" is not a whole number of milliseconds above 0");
            intervals[topic] = TimeSpan.FromMilliseconds(ms);
        }
        return new TopicSchedule(intervals);
    }
}
