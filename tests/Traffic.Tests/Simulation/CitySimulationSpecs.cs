using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Traffic.Actors.Protocol;
using Traffic.Actors.Sources.Simulation;
using Xunit;

namespace Traffic.Tests.Simulation;

[Trait("Speed", "Slow")]
public sealed class CitySimulationSpecs
{
    /// <summary>2025-06-01 00:00 local time (UTC+7).</summary>
    private static readonly DateTimeOffset Start = new(2025, 5, 31, 17, 0, 0, TimeSpan.Zero);

    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);
    private const int StepsPerDay = 24 * 60 * 60 / 5;

    private static DateTimeOffset At(int step) => Start + Step * step;

    private static string Id(JsonObject entity) => (string)entity["id"]!;

    [Fact]
    public void Every_topic_is_non_empty_at_start_and_every_entity_has_an_ngsi_ld_id_and_type()
    {
        var sim = new CitySimulation(7, Start);
        var expectedTypes = new Dictionary<Topic, string>
        {
            [Topic.Cameras] = "Camera",
            [Topic.Weather] = "WeatherObserved",
            [Topic.AirQuality] = "AirQualityObserved",
            [Topic.Accidents] = "RoadAccident",
            [Topic.Patterns] = "TrafficFlowObserved",
            [Topic.Congestion] = "CongestionZone",
        };

        foreach (var topic in Topics.Every)
        {
            var entities = sim.Current(topic);
            Assert.NotEmpty(entities);
            var type = expectedTypes[topic];
            Assert.All(entities, e =>
            {
                Assert.StartsWith($"urn:ngsi-ld:{type}:", Id(e));
                Assert.Equal(type, (string)e["type"]!);
                Assert.NotNull(e["location"]?["latitude"]);
                Assert.NotNull(e["location"]?["longitude"]);
            });
            Assert.Equal(entities.Count, entities.Select(Id).Distinct().Count());
        }
    }

    [Fact]
    public void The_city_has_enough_sensors_of_every_kind()
    {
        var sim = new CitySimulation(7, Start);

        Assert.True(sim.Current(Topic.Cameras).Count >= 50);
        Assert.True(sim.Current(Topic.Weather).Count >= 6);
        Assert.True(sim.Current(Topic.AirQuality).Count >= 6);
        Assert.True(sim.Current(Topic.Patterns).Count >= 10);
        Assert.True(sim.Current(Topic.Congestion).Count >= 6);
        Assert.InRange(sim.Current(Topic.Accidents).Count, 1, 8);
    }

    [Fact]
    public void At_least_50_cameras_with_unique_ids_at_coordinates_inside_ho_chi_minh_city()
    {
        var cameras = new CitySimulation(7, Start).Current(Topic.Cameras);

        Assert.True(cameras.Count >= 50, $"only {cameras.Count} cameras");
        Assert.Equal(cameras.Count, cameras.Select(Id).Distinct().Count());
        Assert.Equal(cameras.Count, cameras.Select(c => ((double)c["location"]!["latitude"]!, (double)c["location"]!["longitude"]!)).Distinct().Count());
        Assert.Equal("urn:ngsi-ld:Camera:001", Id(cameras[0]));
        Assert.Equal("Camera Nguyen Hue", (string)cameras[0]["name"]!);
        Assert.Equal("http://camera.hcm/001/live.jpg", (string)cameras[0]["imageUrl"]!);
        Assert.All(cameras, camera =>
        {
            Assert.Matches(@"^urn:ngsi-ld:Camera:\d{3}$", Id(camera));
            Assert.StartsWith("Camera ", (string)camera["name"]!);
            Assert.Contains((string)camera["status"]!, new[] { "active", "offline" });
            Assert.False(string.IsNullOrEmpty((string?)camera["district"]));
            Assert.True(DateTimeOffset.TryParse((string)camera["lastUpdated"]!, CultureInfo.InvariantCulture, DateTimeStyles.None, out _));
            Assert.InRange((double)camera["location"]!["latitude"]!, 10.70, 10.88);
            Assert.InRange((double)camera["location"]!["longitude"]!, 106.60, 106.80);
        });
    }

    [Fact]
    public void Same_seed_and_same_advance_times_give_identical_output()
    {
        var first = Trace(seed: 1234, steps: 200);
        var second = Trace(seed: 1234, steps: 200);

        Assert.Equal(first, second);
    }

    [Fact]
    public void Different_seeds_give_different_cities()
    {
        Assert.NotEqual(Trace(seed: 1, steps: 40), Trace(seed: 2, steps: 40));
    }

    [Fact]
    public void Advance_to_a_time_not_after_the_last_is_a_no_op_returning_an_empty_step()
    {
        var sim = new CitySimulation(7, Start);
        var atStart = Snapshot(sim);

        foreach (var notLater in new[] { Start, Start - TimeSpan.FromMinutes(1) })
        {
            var step = sim.Advance(notLater);
            Assert.Empty(step.ChangedTopics);
            Assert.Empty(step.Alerts);
        }
        Assert.Equal(atStart, Snapshot(sim));

        sim.Advance(At(12));
        var afterOneMinute = Snapshot(sim);
        foreach (var notLater in new[] { At(12), At(11), Start })
        {
            var step = sim.Advance(notLater);
            Assert.Empty(step.ChangedTopics);
            Assert.Empty(step.Alerts);
        }
        Assert.Equal(afterOneMinute, Snapshot(sim));
    }

    [Fact]
    public void Changed_topics_are_exactly_the_topics_whose_entities_changed()
    {
        var sim = new CitySimulation(99, Start);
        var before = Topics.Every.ToDictionary(t => t, t => Json(sim.Current(t)));
        var seenChanged = new HashSet<Topic>();
        var sawPartialStep = false;

        for (var i = 1; i <= 720; i++) // one simulated hour
        {
            var step = sim.Advance(At(i));
            Assert.Equal(step.ChangedTopics.Distinct().Count(), step.ChangedTopics.Count);
            foreach (var topic in Topics.Every)
            {
                var now = Json(sim.Current(topic));
                Assert.Equal(step.ChangedTopics.Contains(topic), now != before[topic]);
                before[topic] = now;
            }
            seenChanged.UnionWith(step.ChangedTopics);
            sawPartialStep |= step.ChangedTopics.Count is > 0 and < 6;
        }

        Assert.Equal(Topics.Every.ToHashSet(), seenChanged);
        Assert.True(sawPartialStep, "a 5 s step should change some topics and not others");
    }

    [Fact]
    public void Returned_entities_are_fresh_objects_owned_by_the_caller()
    {
        var sim = new CitySimulation(7, Start);
        var first = sim.Current(Topic.Weather);
        var expected = Json(first);

        first[0]["temperature"] = -100;
        first[0].Remove("id");
        sim.Advance(At(1)); // weather does not change within the first 5 s

        Assert.Equal(expected, Json(sim.Current(Topic.Weather)));
        Assert.NotSame(sim.Current(Topic.Cameras)[0], sim.Current(Topic.Cameras)[0]);
    }

    [Fact]
    public void Over_a_simulated_day_alerts_fire_and_air_quality_alerts_fire_only_on_a_crossing_above_150()
    {
        var sim = new CitySimulation(2024, Start);
        var aqi = sim.Current(Topic.AirQuality).ToDictionary(Id, s => (int)s["aqi"]!);
        var activeAccidents = sim.Current(Topic.Accidents).Select(Id).ToHashSet();
        var everSeenAccidents = new HashSet<string>(activeAccidents);
        var lastNewAccident = activeAccidents.Max(StringComparer.Ordinal)!;
        int airAlerts = 0, severeAlerts = 0;

        for (var i = 1; i <= StepsPerDay; i++)
        {
            var step = sim.Advance(At(i));
            var accidents = step.ChangedTopics.Contains(Topic.Accidents) ? sim.Current(Topic.Accidents) : null;
            var newAccidentIds = accidents?.Select(Id).Where(id => !activeAccidents.Contains(id)).ToList() ?? [];

            foreach (var alert in step.Alerts)
            {
                var data = alert.Data;
                switch (alert.Topic)
                {
                    case Topic.AirQuality:
                        airAlerts++;
                        Assert.Contains(Topic.AirQuality, step.ChangedTopics);
                        Assert.Equal("airQualityThreshold", (string)data["alertType"]!);
                        Assert.Equal(150, (int)data["threshold"]!);
                        Assert.False(string.IsNullOrEmpty((string?)data["message"]));
                        Assert.True((int)data["aqi"]! > 150, $"alert with aqi {data["aqi"]}");
                        Assert.True(aqi[Id(data)] <= 150, $"{Id(data)} was already at {aqi[Id(data)]} before the alert");
                        break;
                    case Topic.Accidents:
                        Assert.Equal("high", (string)data["severity"]!);
                        Assert.Equal("severeAccident", (string)data["alertType"]!);
                        Assert.Contains(Id(data), newAccidentIds); // only NEW accidents alert
                        severeAlerts++;
                        break;
                    default:
                        Assert.Fail($"unexpected alert topic {alert.Topic}");
                        break;
                }
            }

            if (step.ChangedTopics.Contains(Topic.AirQuality))
            {
                var sensors = sim.Current(Topic.AirQuality);
                foreach (var sensor in sensors)
                {
                    var now = (int)sensor["aqi"]!;
                    var crossed = aqi[Id(sensor)] <= 150 && now > 150;
                    Assert.Equal(crossed, step.Alerts.Any(a => a.Topic == Topic.AirQuality && Id(a.Data) == Id(sensor)));
                    aqi[Id(sensor)] = now;
                }
            }

            if (accidents is not null)
            {
                Assert.InRange(accidents.Count, 1, 8);
                Assert.All(accidents, a => Assert.Equal("active", (string)a["status"]!));
                foreach (var id in newAccidentIds)
                {
                    Assert.True(everSeenAccidents.Add(id), $"accident id {id} was reused");
                    Assert.True(string.CompareOrdinal(id, lastNewAccident) > 0, $"{id} is not after {lastNewAccident}");
                    lastNewAccident = id;
                }
                activeAccidents = accidents.Select(Id).ToHashSet();
            }
        }

        Assert.True(severeAlerts >= 1, "no high-severity accident alert in a day");
        Assert.True(severeAlerts >= StepsPerDay * 5 / 180, $"only {severeAlerts} severe accident alerts in a day (want about one per 2 minutes)");
        Assert.True(airAlerts >= 1, "no air quality alert in a day");
    }

    [Fact]
    public void Values_follow_the_local_time_of_day()
    {
        var sim = new CitySimulation(5, Start);
        var afternoon = new List<double>();
        var night = new List<double>();
        var rushSpeed = new List<double>();
        var nightSpeed = new List<double>();

        for (var i = 1; i <= StepsPerDay; i++)
        {
            var now = At(i);
            var step = sim.Advance(now);
            var localHour = (now.UtcDateTime + TimeSpan.FromHours(7)).TimeOfDay.TotalHours;

            if (step.ChangedTopics.Contains(Topic.Weather) && localHour is >= 14 and < 15)
                afternoon.AddRange(sim.Current(Topic.Weather).Select(w => (double)w["temperature"]!));
            if (step.ChangedTopics.Contains(Topic.Weather) && localHour is >= 4 and < 5)
                night.AddRange(sim.Current(Topic.Weather).Select(w => (double)w["temperature"]!));

            if (step.ChangedTopics.Contains(Topic.Patterns) && localHour is >= 7.5 and < 8.5)
            {
                var flows = sim.Current(Topic.Patterns);
                Assert.All(flows, f => Assert.Equal("morningRush", (string)f["pattern"]!));
                rushSpeed.AddRange(flows.Select(f => (double)f["averageVehicleSpeed"]!));
            }
            if (step.ChangedTopics.Contains(Topic.Patterns) && localHour is >= 2 and < 3)
            {
                var flows = sim.Current(Topic.Patterns);
                Assert.All(flows, f => Assert.Equal("night", (string)f["pattern"]!));
                nightSpeed.AddRange(flows.Select(f => (double)f["averageVehicleSpeed"]!));
            }
        }

        Assert.InRange(afternoon.Average(), 31, 36);
        Assert.InRange(night.Average(), 24, 28.5);
        Assert.True(rushSpeed.Average() < nightSpeed.Average() * 0.8, $"rush {rushSpeed.Average()} vs night {nightSpeed.Average()}");
    }

    [Fact]
    public void A_long_gap_between_steps_still_gives_a_plausible_city()
    {
        var sim = new CitySimulation(3, Start);
        var before = sim.Current(Topic.Accidents).Select(Id).ToHashSet();

        var step = sim.Advance(Start + TimeSpan.FromDays(3));

        Assert.Equal(Topics.Every.ToList(), step.ChangedTopics.ToList());
        Assert.All(Topics.Every, t => Assert.NotEmpty(sim.Current(t)));
        var accidents = sim.Current(Topic.Accidents);
        Assert.InRange(accidents.Count, 1, 8);
        Assert.DoesNotContain(accidents, a => before.Contains(Id(a)));
        Assert.All(sim.Current(Topic.AirQuality), s => Assert.InRange((int)s["aqi"]!, 0, 500));
    }

    private static string Trace(int seed, int steps)
    {
        var sim = new CitySimulation(seed, Start);
        var trace = new StringBuilder(Snapshot(sim));
        for (var i = 1; i <= steps; i++)
        {
            var step = sim.Advance(At(i));
            trace.Append('#').Append(i).Append(':').AppendJoin(',', step.ChangedTopics).Append('\n');
            foreach (var alert in step.Alerts) trace.Append(alert.Topic).Append(' ').Append(alert.Data.ToJsonString()).Append('\n');
            trace.Append(Snapshot(sim));
        }
        return trace.ToString();
    }

    private static string Snapshot(CitySimulation sim) =>
        string.Concat(Topics.Every.Select(t => t.WireName() + "=" + Json(sim.Current(t)) + "\n"));

    private static string Json(IReadOnlyList<JsonObject> entities) =>
        string.Join(",", entities.Select(e => e.ToJsonString()));
}
