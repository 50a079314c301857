using System.Text.Json;
using System.Text.Json.Nodes;
using Traffic.Actors.Protocol;
using Traffic.Actors.Sources.Simulation;

namespace Traffic.Actors.Ingest;

/// <summary>
/// Turns an NGSI-LD entity into the object clients of its topic already get from the simulation
/// (src/Traffic.Actors/Sources/Simulation/*Feed.cs): the same field names, kinds and order, the
/// topic's own <c>type</c>, <c>location</c> as <c>{latitude, longitude}</c>. Each client field is read
/// from the first NGSI-LD attribute of its list that the entity has (Smart Data Models names first);
/// a field the entity lacks is left out; an attribute of the wrong kind refuses the entity
/// (<see cref="IngestFault"/>). The table is in docs/ngsi-ld.md.
/// </summary>
public static class ClientShapes
{
    private enum Kind { Text, Number, Integer, Boolean, DateTime, Address, Location, District, Count }

    private sealed record Field(string Client, Kind Kind, params string[] Sources);

    private static readonly Field NameField = new("name", Kind.Text, "name");
    private static readonly Field DistrictField = new("district", Kind.District, "district", "addressLocality");
    private static readonly Field AddressField = new("address", Kind.Address, "address");
    private static readonly Field LocationField = new("location", Kind.Location, "location");

    private static readonly Dictionary<Topic, (string Type, Field[] Fields)> Shapes = new()
    {
        [Topic.Cameras] = ("Camera",
        [
            NameField, new("imageUrl", Kind.Text, "imageUrl", "imageSnapshot", "image", "streamURL"),
            new("status", Kind.Text, "status", "cameraStatus", "deviceState"),
            new("lastUpdated", Kind.DateTime, "lastUpdated", "dateModified", "dateObserved", "modifiedAt"),
            new("roadName", Kind.Text, "roadName", "streetAddress"), DistrictField, AddressField, LocationField,
        ]),
        [Topic.Weather] = ("WeatherObserved",
        [
            NameField, new("dateObserved", Kind.DateTime, "dateObserved"), new("temperature", Kind.Number, "temperature"),
            new("relativeHumidity", Kind.Number, "relativeHumidity"), new("precipitation", Kind.Number, "precipitation"),
            new("windSpeed", Kind.Number, "windSpeed"), new("windDirection", Kind.Integer, "windDirection"),
            new("atmosphericPressure", Kind.Number, "atmosphericPressure"), new("weatherType", Kind.Text, "weatherType"),
            DistrictField, AddressField, LocationField,
        ]),
        [Topic.AirQuality] = ("AirQualityObserved",
        [
            NameField, new("dateObserved", Kind.DateTime, "dateObserved"), new("pm25", Kind.Number, "pm25", "PM25", "pm2_5"),
            new("pm10", Kind.Number, "pm10", "PM10"), new("no2", Kind.Number, "no2", "NO2"), new("o3", Kind.Number, "o3", "O3"),
            new("co", Kind.Number, "co", "CO"), new("so2", Kind.Number, "so2", "SO2"),
            new("aqi", Kind.Integer, "aqi", "airQualityIndex", "AQI"), new("airQualityLevel", Kind.Text, "airQualityLevel"),
            DistrictField, AddressField, LocationField,
        ]),
        [Topic.Accidents] = ("RoadAccident",
        [
            new("accidentDate", Kind.DateTime, "accidentDate", "dateCreated"), new("severity", Kind.Text, "severity", "accidentSeverity"),
            new("status", Kind.Text, "status"), new("description", Kind.Text, "description", "name"),
            new("roadName", Kind.Text, "roadName", "streetAddress"), new("vehiclesInvolved", Kind.Count, "vehiclesInvolved"),
            DistrictField, AddressField, LocationField,
        ]),
        [Topic.Patterns] = ("TrafficFlowObserved",
        [
            NameField, new("dateObserved", Kind.DateTime, "dateObserved", "dateObservedTo"), new("roadName", Kind.Text, "roadName", "streetAddress"),
            new("laneDirection", Kind.Text, "laneDirection"), new("laneCount", Kind.Integer, "laneCount", "laneId"),
            new("intensity", Kind.Integer, "intensity"), new("averageVehicleSpeed", Kind.Number, "averageVehicleSpeed"),
            new("occupancy", Kind.Number, "occupancy"), new("congested", Kind.Boolean, "congested"),
            new("pattern", Kind.Text, "pattern", "trafficPattern"), DistrictField, LocationField,
        ]),
        [Topic.Congestion] = ("CongestionZone",
        [
            NameField, DistrictField, new("level", Kind.Number, "level", "congestionIndex"), new("congestionLevel", Kind.Text, "congestionLevel"),
            new("averageSpeed", Kind.Number, "averageSpeed", "averageVehicleSpeed"), new("activeAccidents", Kind.Integer, "activeAccidents"),
            LocationField, new("radiusMeters", Kind.Integer, "radiusMeters", "radius"),
            new("lastUpdated", Kind.DateTime, "lastUpdated", "dateObserved", "dateModified", "modifiedAt"),
        ]),
    };

    /// <summary>The client object for <paramref name="entity"/> on <paramref name="topic"/>; throws <see cref="IngestFault"/>.</summary>
    public static JsonObject Convert(NgsiLdEntity entity, Topic topic)
    {
        var (type, fields) = Shapes[topic];
        var result = new JsonObject { ["id"] = entity.Id, ["type"] = type };
        foreach (var field in fields)
        {
            if ((Read(entity, field) ?? Derived(entity, field.Client, result)) is { } value) result[field.Client] = value;
            // NGSI-LD's null for its attribute (and no other source for the field): JSON null, which removes the field when merged.
            else if (entity.Nulls(field.Sources)) result[field.Client] = null;
        }
        return result;
    }

    /// <summary>
    /// What the simulation always sends and a broker may leave out, computed from the fields read before it
    /// (the tables list them first): AQI from PM2.5/PM10, its level, a zone's congestion label, a camera's last image time.
    /// </summary>
    private static JsonNode? Derived(NgsiLdEntity entity, string client, JsonObject soFar) => client switch
    {
        "aqi" when soFar["pm25"] is { } pm25 => (long)AirQualityIndex.Of(pm25.GetValue<double>(), soFar["pm10"]?.GetValue<double>() ?? 0),
        "airQualityLevel" when soFar["aqi"] is { } aqi => AirQualityIndex.Level((int)aqi.GetValue<long>()),
        "congestionLevel" when soFar["level"] is { } level => level.GetValue<double>() switch
        {
            < 0.25 => "low",
            < 0.5 => "moderate",
            < 0.75 => "heavy",
            _ => "severe",
        },
        "lastUpdated" => entity.NewestObservedAt,
        _ => null,
    };

    private static JsonNode? Read(NgsiLdEntity entity, Field field)
    {
        if (field.Kind == Kind.District) return District(entity);
        if (!entity.TryGet(out var value, out var name, field.Sources))
        {
            // roadName: a PostalAddress's street when the entity has no road attribute of its own.
            if (field.Client == "roadName" && entity.TryGet(out var address, out _, "address") && address.ValueKind == JsonValueKind.Object &&
                address.TryGetProperty("streetAddress", out var street) && street.ValueKind == JsonValueKind.String)
                return street.GetString();
            return null;
        }
        return field.Kind switch
        {
            Kind.Text => value.ValueKind == JsonValueKind.String ? value.GetString() : throw WrongKind(entity, name, "text", value),
            Kind.DateTime => value.ValueKind == JsonValueKind.String ? value.GetString() : throw WrongKind(entity, name, "a date-time string", value),
            Kind.Number => JsonValue.Create(Number(entity, name, value)),
            Kind.Integer => JsonValue.Create(Integer(entity, name, value)),
            Kind.Boolean => value.ValueKind is JsonValueKind.True or JsonValueKind.False ? JsonValue.Create(value.GetBoolean()) : throw WrongKind(entity, name, "true or false", value),
            Kind.Count => value.ValueKind switch
            {
                JsonValueKind.Number => JsonValue.Create(Integer(entity, name, value)),
                JsonValueKind.Array => JsonValue.Create((long)value.GetArrayLength()), // Smart Data Models: one entry per vehicle (its category)
                _ => throw WrongKind(entity, name, "a number or an array", value),
            },
            Kind.Address => value.ValueKind == JsonValueKind.Object ? Address(value) : throw WrongKind(entity, name, "a PostalAddress object", value),
            Kind.Location => Location(entity, name, value),
            _ => null,
        };
    }

    /// <summary>
    /// A finite double: a number too large for one (<c>1e400</c>) is refused here, as a fault of this entity, rather than
    /// read as infinity, which JSON cannot carry to clients.
    /// </summary>
    private static double Number(NgsiLdEntity entity, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number) throw WrongKind(entity, name, "a number", value);
        if (!value.TryGetDouble(out var number) || !double.IsFinite(number))
            throw new IngestFault($"entity {entity.Id}: attribute \"{name}\" is a number out of range ({Cut(value.GetRawText())})");
        return number;
    }

    /// <summary>A whole number clients can hold exactly (JavaScript's safe integers, |n| &lt; 2^53).</summary>
    private static long Integer(NgsiLdEntity entity, string name, JsonElement value)
    {
        var rounded = Math.Round(Number(entity, name, value));
        if (Math.Abs(rounded) > MaxSafeInteger)
            throw new IngestFault($"entity {entity.Id}: attribute \"{name}\" is a number out of range ({Cut(value.GetRawText())})");
        return (long)rounded;
    }

    private const double MaxSafeInteger = 9_007_199_254_740_991;

    private static string Cut(string text) => text.Length > 32 ? text[..32] + "..." : text;

    private static JsonNode? District(NgsiLdEntity entity)
    {
        if (entity.TryGet(out var district, out var name, "district"))
            return district.ValueKind == JsonValueKind.String ? district.GetString() : throw WrongKind(entity, name, "text", district);
        if (entity.TryGet(out var address, out _, "address") && address.ValueKind == JsonValueKind.Object &&
            address.TryGetProperty("addressLocality", out var locality) && locality.ValueKind == JsonValueKind.String)
            return locality.GetString();
        return null;
    }

    /// <summary>A PostalAddress as the simulation sends it: its text fields (no JSON-LD <c>type</c>).</summary>
    private static JsonObject Address(JsonElement value)
    {
        var address = new JsonObject();
        foreach (var property in value.EnumerateObject())
        {
            if (property.Name != "type" && property.Value.ValueKind == JsonValueKind.String) address[property.Name] = property.Value.GetString();
        }
        return address;
    }

    /// <summary>GeoJSON to <c>{latitude, longitude}</c>: a Point as it is, a line's middle vertex, a polygon's mean vertex.</summary>
    private static JsonObject Location(NgsiLdEntity entity, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String ||
            !value.TryGetProperty("coordinates", out var coordinates) || coordinates.ValueKind != JsonValueKind.Array)
            throw WrongKind(entity, name, "a GeoJSON geometry ({\"type\":\"Point\",\"coordinates\":[longitude, latitude]})", value);
        (double Lon, double Lat) point;
        try
        {
            point = type.GetString() switch
            {
                "Point" => Position(coordinates),
                "LineString" or "MultiPoint" => Position(coordinates[coordinates.GetArrayLength() / 2]),
                "Polygon" => Mean(coordinates[0]),
                _ => throw new IngestFault($"entity {entity.Id}: attribute \"{name}\" is a {type.GetString()}; a Point, LineString, MultiPoint or Polygon is expected"),
            };
        }
        catch (Exception e) when (e is InvalidOperationException or IndexOutOfRangeException or FormatException)
        {
            throw new IngestFault($"entity {entity.Id}: attribute \"{name}\" has malformed GeoJSON coordinates");
        }
        if (point.Lat is < -90 or > 90 || point.Lon is < -180 or > 180)
            throw new IngestFault($"entity {entity.Id}: attribute \"{name}\" is outside the globe (GeoJSON is [longitude, latitude])");
        return new JsonObject { ["latitude"] = Math.Round(point.Lat, 6), ["longitude"] = Math.Round(point.Lon, 6) };
    }

    private static (double Lon, double Lat) Position(JsonElement position) => (position[0].GetDouble(), position[1].GetDouble());

    private static (double Lon, double Lat) Mean(JsonElement ring)
    {
        var points = ring.EnumerateArray().Select(Position).ToArray();
        if (points.Length == 0) throw new FormatException();
        return (points.Average(p => p.Lon), points.Average(p => p.Lat));
    }

    private static IngestFault WrongKind(NgsiLdEntity entity, string name, string expected, JsonElement value) =>
        new($"entity {entity.Id}: attribute \"{name}\" must be {expected}, not {NgsiLdEntity.Describe(value.ValueKind)}");
}
