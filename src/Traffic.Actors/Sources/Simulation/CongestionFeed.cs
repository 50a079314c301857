using System.Text.Json.Nodes;

namespace Traffic.Actors.Sources.Simulation;

/// <summary>
/// The <c>congestion</c> topic: known hot spots, every zone every 20 s. The level (0..1) follows the traffic day,
/// rises with rain and with active accidents inside (or just outside) the zone.
/// </summary>
internal sealed class CongestionFeed : ObservedSitesFeed<CongestionFeed.Zone>
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(20);
    private const double AccidentMarginMeters = 500;

    private readonly Random _random;
    private readonly WeatherFeed _weather;
    private readonly AccidentFeed _accidents;

    public CongestionFeed(Random random, DateTimeOffset start, WeatherFeed weather, AccidentFeed accidents)
        : base(start, Interval, HcmcPlaces.CongestionZones.Select(site => new Zone(site, random)).ToArray())
    {
        _random = random;
        _weather = weather;
        _accidents = accidents;
        ObserveAll(start, 0);
    }

    protected override void Observe(Zone zone, DateTimeOffset now, double seconds)
    {
        var site = zone.Site;
        var hour = CityClock.LocalHour(now);
        var rain = Math.Min(1, _weather.PrecipitationIn(site.District) / 25);

        var accidents = 0;
        var accidentLoad = 0.0;
        foreach (var accident in _accidents.Active)
        {
            if (accident.Location.DistanceMeters(site.Center) > site.RadiusMeters + AccidentMarginMeters) continue;
            accidents++;
            accidentLoad += accident.Severity switch { "high" => 0.15, "medium" => 0.08, _ => 0.03 };
        }

        var level = 0.05 + 0.62 * (DailyProfiles.TrafficDemand(hour) * site.DemandFactor - 0.25) + 0.15 * rain
                    + accidentLoad + zone.Noise.Step(_random, seconds);
        zone.Observed = now;
        zone.Level = Math.Clamp(level, 0.02, 1);
        zone.AverageSpeed = 4 + 36 * Math.Pow(1 - zone.Level, 1.4);
        zone.Accidents = accidents;
    }

    private static string Label(double level) => level switch
    {
        < 0.25 => "low",
        < 0.5 => "moderate",
        < 0.75 => "heavy",
        _ => "severe",
    };

    internal sealed class Zone(ZoneSite site, Random random) : IObservedSite
    {
        public ZoneSite Site { get; } = site;
        public Drift Noise { get; } = new(random, 0.06, TimeSpan.FromMinutes(10));

        public DateTimeOffset Observed;
        public double Level, AverageSpeed;
        public int Accidents;

        public JsonObject ToEntity() => new()
        {
            ["id"] = "urn:ngsi-ld:CongestionZone:" + Site.Code,
            ["type"] = "CongestionZone",
            ["name"] = Site.Name,
            ["district"] = Site.District,
            ["level"] = SimJson.R2(Level),
            ["congestionLevel"] = Label(Level),
            ["averageSpeed"] = SimJson.R2(AverageSpeed),
            ["activeAccidents"] = Accidents,
            ["location"] = SimJson.Location(Site.Center),
            ["radiusMeters"] = Site.RadiusMeters,
            ["lastUpdated"] = CityClock.Iso(Observed),
        };
    }
}
