using System.Text.Json.Nodes;

namespace Traffic.Actors.Sources.Simulation;

/// <summary>
/// The <c>patterns</c> topic (FIWARE TrafficFlowObserved), every road segment every 15 s. Demand follows the local
/// time of day (morning rush heavier inbound, evening rush heavier outbound), rain adds demand and lowers free-flow
/// speed, and an active medium/high accident on the same road nearby takes away a quarter of the capacity. Speed
/// falls off with the volume/capacity ratio (BPR-like); occupancy comes from the resulting density.
/// </summary>
internal sealed class TrafficPatternFeed : ObservedSitesFeed<TrafficPatternFeed.Flow>
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);
    private const double AccidentReachMeters = 2000;
    private const double EffectiveVehicleLengthKm = 0.005;

    private readonly Random _random;
    private readonly WeatherFeed _weather;
    private readonly AccidentFeed _accidents;

    public TrafficPatternFeed(Random random, DateTimeOffset start, WeatherFeed weather, AccidentFeed accidents)
        : base(start, Interval, HcmcPlaces.RoadSegments.Select(segment => new Flow(segment, random)).ToArray())
    {
        _random = random;
        _weather = weather;
        _accidents = accidents;
        ObserveAll(start, 0);
    }

    protected override void Observe(Flow flow, DateTimeOffset now, double seconds)
    {
        var segment = flow.Segment;
        var hour = CityClock.LocalHour(now);
        var rain = Math.Min(1, _weather.PrecipitationIn(segment.District) / 25);
        var direction = 1 + (segment.MorningBias - 1) * DailyProfiles.Bump(hour, 7.75, 1.5)
                          + (segment.EveningBias - 1) * DailyProfiles.Bump(hour, 17.75, 1.5);
        var blocked = _accidents.Active.Any(a => a.Severity != "low" && a.Site.Road == segment.RoadName
                                                 && a.Location.DistanceMeters(segment.Location) <= AccidentReachMeters);
        var capacity = segment.Capacity * (blocked ? 0.75 : 1);

        var ratio = Math.Max(0.03, DailyProfiles.TrafficDemand(hour) * segment.DemandFactor * direction * (1 + 0.12 * rain)
                                   * (1 + flow.DemandNoise.Step(_random, seconds))) * segment.Capacity / capacity;
        var freeFlow = segment.FreeFlowSpeed * (1 - 0.25 * rain);
        var speed = freeFlow / (1 + 0.6 * Math.Pow(ratio, 4)) * (1 + flow.SpeedNoise.Step(_random, seconds));
        speed = Math.Clamp(speed, 3, segment.FreeFlowSpeed * 1.1);
        var intensity = capacity * (ratio <= 1 ? ratio : Math.Max(0.5, 1 - 0.4 * (ratio - 1)));
        var occupancy = Math.Clamp(intensity / speed / segment.Lanes * EffectiveVehicleLengthKm, 0.01, 0.95);

        flow.Observed = now;
        flow.Pattern = DailyProfiles.Pattern(hour);
        flow.Intensity = (int)Math.Round(intensity);
        flow.Speed = speed;
        flow.Occupancy = occupancy;
        flow.Congested = speed < 0.45 * segment.FreeFlowSpeed || occupancy >= 0.45;
    }

    internal sealed class Flow(RoadSegment segment, Random random) : IObservedSite
    {
        public RoadSegment Segment { get; } = segment;
        public Drift DemandNoise { get; } = new(random, 0.07, TimeSpan.FromMinutes(15));
        public Drift SpeedNoise { get; } = new(random, 0.04, TimeSpan.FromMinutes(5));

        public DateTimeOffset Observed;
        public string Pattern = "offPeak";
        public int Intensity;
        public double Speed, Occupancy;
        public bool Congested;

        public JsonObject ToEntity() => new()
        {
            ["id"] = "urn:ngsi-ld:TrafficFlowObserved:" + Segment.Code,
            ["type"] = "TrafficFlowObserved",
            ["name"] = Segment.Name,
            ["dateObserved"] = CityClock.Iso(Observed),
            ["roadName"] = Segment.RoadName,
            ["laneDirection"] = Segment.LaneDirection,
            ["laneCount"] = Segment.Lanes,
            ["intensity"] = Intensity,
            ["averageVehicleSpeed"] = SimJson.R2(Speed),
            ["occupancy"] = SimJson.R2(Occupancy),
            ["congested"] = Congested,
            ["pattern"] = Pattern,
            ["district"] = Segment.District,
            ["location"] = SimJson.Location(Segment.Location),
        };
    }
}
