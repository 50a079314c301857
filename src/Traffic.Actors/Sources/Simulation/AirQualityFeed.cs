using System.Globalization;
using System.Text.Json.Nodes;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Sources.Simulation;

/// <summary>
/// The <c>airQuality</c> topic (FIWARE AirQualityObserved), every sensor every 15 s. PM2.5 follows the traffic day
/// (higher in the 7-9 and 17-19 rush hours), is washed out by rain, and now and then a local episode (burning,
/// construction dust, a stuck lorry queue) pushes a sensor past AQI 150. Crossing above 150 raises an alert.
/// </summary>
internal sealed class AirQualityFeed
{
    public const int Threshold = 150;

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);
    private const double MeanSecondsBetweenEpisodes = 9 * 3600;

    private readonly Random _random;
    private readonly Cadence _cadence;
    private readonly WeatherFeed _weather;
    private readonly Sensor[] _sensors;

    public AirQualityFeed(Random random, DateTimeOffset start, WeatherFeed weather)
    {
        _random = random;
        _cadence = new Cadence(start, Interval);
        _weather = weather;
        _sensors = HcmcPlaces.AirSensors.Select(site => new Sensor(site, random)).ToArray();
        foreach (var sensor in _sensors) Measure(sensor, start, 0);
    }

    public bool Advance(DateTimeOffset now, List<SimulatedAlert> alerts)
    {
        if (!_cadence.TryFire(now, out var seconds)) return false;
        foreach (var sensor in _sensors)
        {
            var before = sensor.Aqi;
            Measure(sensor, now, seconds);
            if (before <= Threshold && sensor.Aqi > Threshold) alerts.Add(new SimulatedAlert(Topic.AirQuality, Alert(sensor)));
        }
        return true;
    }

    public IReadOnlyList<JsonObject> Snapshot() => _sensors.Select(s => s.ToEntity()).ToArray();

    private void Measure(Sensor sensor, DateTimeOffset now, double seconds)
    {
        var site = sensor.Site;
        var hour = CityClock.LocalHour(now);

        if (sensor.Episode is { } over && now >= over.End) sensor.Episode = null;
        if (sensor.Episode is null && seconds > 0 && _random.Happens(seconds, MeanSecondsBetweenEpisodes))
        {
            var duration = TimeSpan.FromMinutes(Math.Round(_random.NextRange(20, 75)));
            sensor.Episode = new Episode(now, now + duration, _random.NextRange(12, 40));
        }

        var rain = _weather.PrecipitationIn(site.District);
        var washout = 1 - Math.Min(0.45, 0.025 * rain);
        var traffic = DailyProfiles.TrafficDemand(hour) * site.TrafficExposure;
        var sun = DailyProfiles.Sun(hour);

        sensor.Observed = now;
        sensor.Pm25 = Math.Clamp(site.BasePm25 * DailyProfiles.Pollution(hour) * washout
                                 + (sensor.Episode?.Level(now) ?? 0) + sensor.Pm25Noise.Step(_random, seconds), 4, 250);
        sensor.Pm10 = Math.Clamp(sensor.Pm25 * site.Pm10Ratio + sensor.Pm10Noise.Step(_random, seconds), sensor.Pm25 * 1.1, 420);
        sensor.No2 = Math.Max(5, 14 + 42 * traffic * washout + sensor.No2Noise.Step(_random, seconds));
        sensor.O3 = Math.Max(5, 18 + 85 * Math.Pow(sun, 1.5) - 0.15 * sensor.No2 + sensor.O3Noise.Step(_random, seconds));
        sensor.Co = Math.Max(150, 380 + 850 * traffic + sensor.CoNoise.Step(_random, seconds));
        sensor.So2 = Math.Max(1, 6 + 5 * traffic + sensor.So2Noise.Step(_random, seconds));
        sensor.Aqi = AirQualityIndex.Of(sensor.Pm25, sensor.Pm10);
    }

    private static JsonObject Alert(Sensor sensor)
    {
        var data = sensor.ToEntity();
        data["alertType"] = "airQualityThreshold";
        data["threshold"] = Threshold;
        data["message"] = string.Create(CultureInfo.InvariantCulture,
            $"Air quality at {sensor.Site.Place} ({sensor.Site.District}) rose above AQI {Threshold}: AQI {sensor.Aqi}, PM2.5 {SimJson.R1(sensor.Pm25)} µg/m³ ({AirQualityIndex.Level(sensor.Aqi)})");
        return data;
    }

    private sealed record Episode(DateTimeOffset Begins, DateTimeOffset End, double PeakPm25)
    {
        public double Level(DateTimeOffset now)
        {
            var progress = (now - Begins).TotalSeconds / (End - Begins).TotalSeconds;
            return progress is <= 0 or >= 1 ? 0 : PeakPm25 * Math.Sin(Math.PI * progress);
        }
    }

    private sealed class Sensor(AirSensorSite site, Random random)
    {
        public AirSensorSite Site { get; } = site;
        public SmoothDrift Pm25Noise { get; } = new(random, 3.5, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(5));
        public Drift Pm10Noise { get; } = new(random, 4, TimeSpan.FromMinutes(20));
        public Drift No2Noise { get; } = new(random, 5, TimeSpan.FromMinutes(20));
        public Drift O3Noise { get; } = new(random, 6, TimeSpan.FromMinutes(30));
        public Drift CoNoise { get; } = new(random, 70, TimeSpan.FromMinutes(20));
        public Drift So2Noise { get; } = new(random, 1.5, TimeSpan.FromMinutes(30));
        public Episode? Episode;

        public DateTimeOffset Observed;
        public double Pm25, Pm10, No2, O3, Co, So2;
        public int Aqi;

        /// <summary>Concentrations in µg/m³.</summary>
        public JsonObject ToEntity() => new()
        {
            ["id"] = "urn:ngsi-ld:AirQualityObserved:" + Site.Code,
            ["type"] = "AirQualityObserved",
            ["name"] = "Air quality " + Site.Place,
            ["dateObserved"] = CityClock.Iso(Observed),
            ["pm25"] = SimJson.R2(Pm25),
            ["pm10"] = SimJson.R2(Pm10),
            ["no2"] = SimJson.R2(No2),
            ["o3"] = SimJson.R2(O3),
            ["co"] = SimJson.R2(Co),
            ["so2"] = SimJson.R2(So2),
            ["aqi"] = Aqi,
            ["airQualityLevel"] = AirQualityIndex.Level(Aqi),
            ["district"] = Site.District,
            ["address"] = SimJson.Address(Site.District, Site.Place),
            ["location"] = SimJson.Location(Site.Location),
        };
    }
}
