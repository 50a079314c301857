using System.Text.Json.Nodes;

namespace Traffic.Actors.Sources.Simulation;

/// <summary>
/// The <c>cameras</c> topic: every camera refreshes its image every 30 s (its <c>lastUpdated</c> moves on); now and then
/// one goes offline for a few minutes (an offline camera keeps the time of its last image).
/// </summary>
internal sealed class CameraFeed
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private const double MeanUptimeSeconds = 6 * 3600;
    private const double MeanDowntimeSeconds = 8 * 60;

    private readonly Random _random;
    private readonly Cadence _cadence;
    private readonly bool[] _online;
    private readonly DateTimeOffset[] _lastImage;

    public CameraFeed(Random random, DateTimeOffset start)
    {
        _random = random;
        _cadence = new Cadence(start, Interval);
        var sites = HcmcPlaces.Cameras;
        _online = new bool[sites.Count];
        _lastImage = new DateTimeOffset[sites.Count];
        for (var i = 0; i < sites.Count; i++)
        {
            _online[i] = random.NextDouble() >= 0.03;
            _lastImage[i] = _online[i] ? start : start - TimeSpan.FromSeconds(Math.Round(random.NextRange(60, 600)));
        }
    }

    public bool Advance(DateTimeOffset now)
    {
        if (!_cadence.TryFire(now, out var seconds)) return false;
        for (var i = 0; i < _online.Length; i++)
        {
            if (_online[i])
            {
                if (_random.Happens(seconds, MeanUptimeSeconds)) _online[i] = false; // keeps its last image time
                else _lastImage[i] = now;
            }
            else if (_random.Happens(seconds, MeanDowntimeSeconds))
            {
                _online[i] = true;
                _lastImage[i] = now;
            }
        }
        return true;
    }

    public IReadOnlyList<JsonObject> Snapshot()
    {
        var sites = HcmcPlaces.Cameras;
        var entities = new JsonObject[sites.Count];
        for (var i = 0; i < sites.Count; i++)
        {
            var site = sites[i];
            entities[i] = new JsonObject
            {
                ["id"] = "urn:ngsi-ld:Camera:" + site.Code,
                ["type"] = "Camera",
                ["name"] = "Camera " + site.Place,
                ["imageUrl"] = $"http://camera.hcm/{site.Code}/live.jpg",
                ["status"] = _online[i] ? "active" : "offline",
                ["lastUpdated"] = CityClock.Iso(_lastImage[i]),
                ["roadName"] = site.Road,
                ["district"] = site.District,
                ["address"] = SimJson.Address(site.District, site.Place),
                ["location"] = SimJson.Location(site.Location),
            };
        }
        return entities;
    }
}
