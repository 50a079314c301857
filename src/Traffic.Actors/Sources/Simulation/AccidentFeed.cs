using System.Globalization;
using System.Text.Json.Nodes;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Sources.Simulation;

/// <summary>
/// The <c>accidents</c> topic (FIWARE RoadAccident), event driven: accidents happen at camera locations as a Poisson
/// process (one every ~50 s on average, 45 % of them "high", so a severe one every ~2 minutes) and clear after a few
/// minutes. Between 1 and 8 are active at any time: at the cap the one due to clear first is cleared early, and the last
/// one stays until another happens. Cleared accidents leave the list. A new "high" accident raises an alert.
/// </summary>
internal sealed class AccidentFeed
{
    public const int MaxActive = 8;
    private const double MeanSecondsBetweenAccidents = 50;
    private const int InitialAccidents = 3;

    /// <summary>After a long gap only the last hour is replayed (older accidents would have cleared anyway).</summary>
    private static readonly TimeSpan CatchUpWindow = TimeSpan.FromHours(1);

    private static readonly string[] LowTemplates =
    [
        "Minor motorbike collision on {0}", "Motorbike skid on {0}", "Minor fender-bender at {1}",
    ];

    private static readonly string[] MediumTemplates =
    [
        "Car and motorbike collision at {1}", "Rear-end collision on {0}", "Taxi and motorbike collision on {0}",
    ];

    private static readonly string[] HighTemplates =
    [
        "Multi-vehicle collision on {0}", "Truck overturned on {0}", "Container truck collision at {1}",
        "Serious bus and motorbike collision on {0}",
    ];

    private readonly Random _random;
    private readonly List<Accident> _active = [];
    private long _lastNumber;
    private DateTimeOffset _last;
    private DateTimeOffset _nextArrival;

    public AccidentFeed(Random random, DateTimeOffset start)
    {
        _random = random;
        _last = start;
        for (var i = 0; i < InitialAccidents; i++)
        {
            var accident = Create(start - TimeSpan.FromSeconds(Math.Round(random.NextRange(30, 240))));
            _active.Add(accident with { ClearsAt = Max(accident.ClearsAt, start + TimeSpan.FromSeconds(random.NextRange(60, 240))) });
        }
        _active.Sort((a, b) => a.Number.CompareTo(b.Number));
        _nextArrival = start + TimeSpan.FromSeconds(random.NextExponential(MeanSecondsBetweenAccidents));
    }

    public IReadOnlyList<Accident> Active => _active;

    public bool Advance(DateTimeOffset now, List<SimulatedAlert> alerts)
    {
        if (now <= _last) return false;
        var changed = false;
        var newSevere = new List<Accident>();

        if (now - _last > CatchUpWindow && _nextArrival < now - CatchUpWindow)
        {
            _nextArrival = now - CatchUpWindow + TimeSpan.FromSeconds(_random.NextExponential(MeanSecondsBetweenAccidents));
        }

        while (true)
        {
            var clearing = NextToClear();
            var clearsAt = clearing?.ClearsAt ?? DateTimeOffset.MaxValue;
            if (clearsAt <= _nextArrival && clearsAt <= now)
            {
                _active.Remove(clearing!);
                changed = true;
                continue;
            }
            if (_nextArrival > now) break;

            var accident = Create(_nextArrival);
            if (_active.Count >= MaxActive) _active.Remove(NextToClear(ignoreMinimum: true)!);
            _active.Add(accident);
            if (accident.Severity == "high") newSevere.Add(accident);
            _nextArrival += TimeSpan.FromSeconds(_random.NextExponential(MeanSecondsBetweenAccidents));
            changed = true;
        }

        _last = now;
        foreach (var severe in newSevere)
        {
            if (_active.Contains(severe)) alerts.Add(new SimulatedAlert(Topic.Accidents, Alert(severe)));
        }
        return changed;
    }

    public IReadOnlyList<JsonObject> Snapshot() => _active.Select(a => a.ToEntity()).ToArray();

    /// <summary>The accident due to clear first; none while it is the last one (unless <paramref name="ignoreMinimum"/>).</summary>
    private Accident? NextToClear(bool ignoreMinimum = false)
    {
        if (_active.Count == 0 || (_active.Count == 1 && !ignoreMinimum)) return null;
        var first = _active[0];
        foreach (var accident in _active)
        {
            if (accident.ClearsAt < first.ClearsAt) first = accident;
        }
        return first;
    }

    private Accident Create(DateTimeOffset at)
    {
        var number = ++_lastNumber;
        var site = _random.Pick(HcmcPlaces.Cameras);
        for (var attempt = 0; attempt < 3 && _active.Any(a => a.Site == site); attempt++) site = _random.Pick(HcmcPlaces.Cameras);

        var roll = _random.NextDouble();
        var (severity, templates, minutes, vehicles) = roll switch
        {
            < 0.25 => ("low", LowTemplates, (1.5, 4.0), (1, 2)),
            < 0.55 => ("medium", MediumTemplates, (2.0, 6.0), (2, 3)),
            _ => ("high", HighTemplates, (3.0, 8.0), (2, 6)),
        };
        var description = string.Format(CultureInfo.InvariantCulture, _random.Pick(templates), site.Road, site.Place);
        var location = new GeoPoint(
            site.Location.Latitude + _random.NextRange(-0.0008, 0.0008),
            site.Location.Longitude + _random.NextRange(-0.0008, 0.0008));
        return new Accident(
            number,
            site,
            severity,
            description,
            _random.Next(vehicles.Item1, vehicles.Item2 + 1),
            location,
            at,
            at + TimeSpan.FromSeconds(Math.Round(_random.NextRange(minutes.Item1, minutes.Item2) * 60)));
    }

    private static JsonObject Alert(Accident accident)
    {
        var data = accident.ToEntity();
        data["alertType"] = "severeAccident";
        data["message"] = $"Severe accident: {accident.Description} ({accident.Site.District}), {accident.VehiclesInvolved} vehicles involved";
        return data;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    internal sealed record Accident(
        long Number,
        CameraSite Site,
        string Severity,
        string Description,
        int VehiclesInvolved,
        GeoPoint Location,
        DateTimeOffset OccurredAt,
        DateTimeOffset ClearsAt)
    {
        public string Id => "urn:ngsi-ld:RoadAccident:" + Number.ToString("D6", CultureInfo.InvariantCulture);

        public JsonObject ToEntity() => new()
        {
            ["id"] = Id,
            ["type"] = "RoadAccident",
            ["accidentDate"] = CityClock.Iso(OccurredAt),
            ["severity"] = Severity,
            ["status"] = "active",
            ["description"] = Description,
            ["roadName"] = Site.Road,
            ["vehiclesInvolved"] = VehiclesInvolved,
            ["district"] = Site.District,
            ["address"] = SimJson.Address(Site.District, Site.Place),
            ["location"] = SimJson.Location(Location),
        };
    }
}
