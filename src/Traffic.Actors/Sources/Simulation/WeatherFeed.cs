using System.Text.Json.Nodes;

namespace Traffic.Actors.Sources.Simulation;

/// <summary>
/// The <c>weather</c> topic (FIWARE WeatherObserved), one observation per district station every 60 s. Temperature
/// follows the daily curve (~34 °C afternoon, ~26 °C before dawn) minus cloud and rain cooling; city-wide rain
/// storms (mostly in the afternoon, rainy-season style) hit the districts unevenly and also drive the traffic feeds.
/// </summary>
internal sealed class WeatherFeed
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(60);
    private const double MeanSecondsBetweenAfternoonStorms = 6 * 3600;
    private const double MeanSecondsBetweenOtherStorms = 40 * 3600;
    private const double PrevailingWindDegrees = 225; // south-west monsoon

    private readonly Random _random;
    private readonly Cadence _cadence;
    private readonly Drift _cloud;
    private readonly Station[] _stations;
    private Storm? _storm;

    public WeatherFeed(Random random, DateTimeOffset start)
    {
        _random = random;
        _cadence = new Cadence(start, Interval);
        _cloud = new Drift(random, 0.2, TimeSpan.FromHours(1));
        _stations = HcmcPlaces.WeatherStations.Select(site => new Station(site, random)).ToArray();
        Observe(start, 0);
    }

    /// <summary>Rain intensity (mm/h) in a district; the city average for a district without a station.</summary>
    public double PrecipitationIn(string district)
    {
        var total = 0.0;
        foreach (var station in _stations)
        {
            if (station.Site.District == district) return station.Precipitation;
            total += station.Precipitation;
        }
        return total / _stations.Length;
    }

    public bool Advance(DateTimeOffset now)
    {
        if (!_cadence.TryFire(now, out var seconds)) return false;
        Observe(now, seconds);
        return true;
    }

    private void Observe(DateTimeOffset now, double seconds)
    {
        var hour = CityClock.LocalHour(now);
        if (_storm is { } ended && now >= ended.End) _storm = null;
        if (_storm is null && seconds > 0)
        {
            var mean = hour is >= 13 and < 19 ? MeanSecondsBetweenAfternoonStorms : MeanSecondsBetweenOtherStorms;
            if (_random.Happens(seconds, mean)) _storm = Storm.Begin(_random, now, _stations.Length);
        }

        _cloud.Step(_random, seconds);
        var stormShape = _storm?.Shape(now) ?? 0;
        var cloud = Math.Clamp(0.4 + 0.15 * DailyProfiles.Bump(hour, 15, 3) + _cloud.Value + 0.6 * stormShape, 0, 1);
        var sun = DailyProfiles.Sun(hour);

        for (var i = 0; i < _stations.Length; i++)
        {
            var s = _stations[i];
            s.Observed = now;
            s.Precipitation = _storm is { } storm ? storm.PeakMmPerHour * stormShape * storm.DistrictFactors[i] : 0;
            s.Cloud = cloud;
            s.Sun = sun;

            // Rain cools the air and the cooling lingers after the rain stops.
            var coolingTarget = s.Precipitation > 0.2 ? Math.Min(4.5, 1.2 + 0.12 * s.Precipitation) : 0;
            s.RainCooling += (coolingTarget - s.RainCooling) * (1 - Math.Exp(-seconds / 1500));

            s.Temperature = DailyProfiles.Temperature(hour) + s.Site.TemperatureOffset - 1.8 * cloud * sun
                            - s.RainCooling + s.TemperatureNoise.Step(_random, seconds);
            s.Humidity = Math.Clamp(0.78 - 0.028 * (s.Temperature - 29) + 0.12 * Math.Min(1, s.Precipitation / 10)
                                    + s.HumidityNoise.Step(_random, seconds), 0.4, 0.99);
            s.WindSpeed = Math.Max(0.3, 2.3 + 1.3 * sun + 4 * stormShape * s.StormWindFactor + s.WindNoise.Step(_random, seconds));
            s.WindDirection = ((PrevailingWindDegrees + s.DirectionNoise.Step(_random, seconds)) % 360 + 360) % 360;
            s.Pressure = 1009.5 + 1.1 * Math.Cos(2 * Math.PI * (hour - 10) / 12) - 1.5 * stormShape
                         + s.PressureNoise.Step(_random, seconds);
        }
    }

    public IReadOnlyList<JsonObject> Snapshot() => _stations.Select(s => s.ToEntity()).ToArray();

    private static string WeatherType(double precipitation, double cloud, double sun) => precipitation switch
    {
        >= 30 => "thunderShower",
        >= 8 => "heavyRain",
        >= 2 => "shower",
        >= 0.2 => "lightRain",
        _ when cloud >= 0.85 => "overcast",
        _ when cloud >= 0.6 => "cloudy",
        _ when cloud >= 0.3 => "partlyCloudy",
        _ => sun > 0 ? "sunnyDay" : "clearNight",
    };

    private sealed class Station(WeatherSite site, Random random)
    {
        public WeatherSite Site { get; } = site;
        public Drift TemperatureNoise { get; } = new(random, 0.4, TimeSpan.FromMinutes(40));
        public Drift HumidityNoise { get; } = new(random, 0.025, TimeSpan.FromMinutes(30));
        public Drift WindNoise { get; } = new(random, 0.8, TimeSpan.FromMinutes(20));
        public Drift DirectionNoise { get; } = new(random, 30, TimeSpan.FromHours(1));
        public Drift PressureNoise { get; } = new(random, 0.4, TimeSpan.FromHours(2));
        public double StormWindFactor { get; } = random.NextRange(0.6, 1.2);

        public DateTimeOffset Observed;
        public double Temperature, Humidity, Precipitation, WindSpeed, WindDirection, Pressure, Cloud, Sun, RainCooling;

        public JsonObject ToEntity() => new()
        {
            ["id"] = "urn:ngsi-ld:WeatherObserved:" + Site.Code,
            ["type"] = "WeatherObserved",
            ["name"] = "Weather " + Site.District,
            ["dateObserved"] = CityClock.Iso(Observed),
            ["temperature"] = SimJson.R2(Temperature),
            ["relativeHumidity"] = SimJson.R2(Humidity),
            ["precipitation"] = SimJson.R2(Precipitation),
            ["windSpeed"] = SimJson.R2(WindSpeed),
            ["windDirection"] = (int)Math.Round(WindDirection) % 360,
            ["atmosphericPressure"] = SimJson.R2(Pressure),
            ["weatherType"] = WeatherType(Precipitation, Cloud, Sun),
            ["district"] = Site.District,
            ["address"] = SimJson.Address(Site.District),
            ["location"] = SimJson.Location(Site.Location),
        };
    }

    private sealed record Storm(DateTimeOffset Begins, DateTimeOffset End, double PeakMmPerHour, double[] DistrictFactors)
    {
        public static Storm Begin(Random random, DateTimeOffset now, int stations)
        {
            var duration = TimeSpan.FromMinutes(Math.Round(random.NextRange(25, 100)));
            var factors = new double[stations];
            for (var i = 0; i < stations; i++) factors[i] = random.NextRange(0.15, 1.25);
            return new Storm(now, now + duration, random.NextRange(6, 45), factors);
        }

        /// <summary>0 at the start and the end, 1 at the storm's peak.</summary>
        public double Shape(DateTimeOffset now)
        {
            var progress = (now - Begins).TotalSeconds / (End - Begins).TotalSeconds;
            return progress is <= 0 or >= 1 ? 0 : Math.Pow(Math.Sin(Math.PI * progress), 1.5);
        }
    }
}
