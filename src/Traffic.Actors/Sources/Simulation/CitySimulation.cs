using System.Text.Json.Nodes;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Sources.Simulation;

/// <summary>
/// The built-in simulated Ho Chi Minh City feed: cameras, weather, air quality, accidents, traffic patterns and
/// congestion zones that drift plausibly with the simulated (UTC+7) time of day.
/// <para>
/// Pure and deterministic: all randomness comes from one <c>new Random(seed)</c>, time only from the arguments, so the
/// same seed and the same sequence of <see cref="Advance"/> times give identical output. <see cref="Current"/> does
/// not consume randomness. Not thread-safe: one owner (an actor) calls it.
/// </para>
/// <para>
/// Update cadence in simulated time: cameras 30 s, weather 60 s, air quality 15 s, patterns 15 s, congestion 20 s;
/// accidents change when one happens or clears. A feed updates at the first <see cref="Advance"/> at or after its due
/// time, so with the typical 5 s step a step changes only some topics.
/// </para>
/// </summary>
public sealed class CitySimulation
{
    private readonly CameraFeed _cameras;
    private readonly WeatherFeed _weather;
    private readonly AirQualityFeed _airQuality;
    private readonly AccidentFeed _accidents;
    private readonly TrafficPatternFeed _patterns;
    private readonly CongestionFeed _congestion;
    private DateTimeOffset _now;

    public CitySimulation(int seed, DateTimeOffset start)
    {
        var random = new Random(seed);
        _now = start;
        // Construction order fixes the order of the random draws; keep it stable.
        _weather = new WeatherFeed(random, start);
        _cameras = new CameraFeed(random, start);
        _airQuality = new AirQualityFeed(random, start, _weather);
        _accidents = new AccidentFeed(random, start);
        _patterns = new TrafficPatternFeed(random, start, _weather, _accidents);
        _congestion = new CongestionFeed(random, start, _weather, _accidents);
    }

    /// <summary>The simulated time of the last step (the start before the first one).</summary>
    public DateTimeOffset Now => _now;

    /// <summary>
    /// Current entities of a topic, each a JsonObject whose "id" is an NGSI-LD URN. Never empty for any topic.
    /// Every call builds fresh objects: the caller owns them and the simulation never touches them again.
    /// </summary>
    public IReadOnlyList<JsonObject> Current(Topic topic) => topic switch
    {
        Topic.Cameras => _cameras.Snapshot(),
        Topic.Weather => _weather.Snapshot(),
        Topic.AirQuality => _airQuality.Snapshot(),
        Topic.Accidents => _accidents.Snapshot(),
        Topic.Patterns => _patterns.Snapshot(),
        Topic.Congestion => _congestion.Snapshot(),
        _ => throw new ArgumentOutOfRangeException(nameof(topic), topic, "Unknown topic"),
    };

    /// <summary>
    /// Advances the simulated city to `now` (monotonic; a call with now &lt;= last is a no-op returning an empty step).
    /// </summary>
    public SimulationStep Advance(DateTimeOffset now)
    {
        if (now <= _now) return new SimulationStep([], []);
        _now = now;

        var alerts = new List<SimulatedAlert>();
        // Weather first (rain drives air quality and traffic), accidents before the traffic feeds that react to them.
        var weather = _weather.Advance(now);
        var cameras = _cameras.Advance(now);
        var airQuality = _airQuality.Advance(now, alerts);
        var accidents = _accidents.Advance(now, alerts);
        var patterns = _patterns.Advance(now);
        var congestion = _congestion.Advance(now);

        var changed = new List<Topic>(Topics.Count);
        foreach (var topic in Topics.Every)
        {
            var didChange = topic switch
            {
                Topic.Cameras => cameras,
                Topic.Weather => weather,
                Topic.AirQuality => airQuality,
                Topic.Accidents => accidents,
                Topic.Patterns => patterns,
                Topic.Congestion => congestion,
                _ => false,
            };
            if (didChange) changed.Add(topic);
        }
        return new SimulationStep(changed, alerts);
    }
}
