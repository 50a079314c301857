namespace Traffic.Actors.Sources.Simulation;

/// <summary>A WGS84 point.</summary>
internal readonly record struct GeoPoint(double Latitude, double Longitude)
{
    private const double MetersPerDegree = 111_320;

    /// <summary>Equirectangular distance, plenty accurate at city scale.</summary>
    public double DistanceMeters(GeoPoint other)
    {
        var dLat = (other.Latitude - Latitude) * MetersPerDegree;
        var dLon = (other.Longitude - Longitude) * MetersPerDegree * Math.Cos((Latitude + other.Latitude) * Math.PI / 360);
        return Math.Sqrt(dLat * dLat + dLon * dLon);
    }
}

/// <summary>A traffic camera at a street or intersection; <see cref="Road"/> is the road an accident there is reported on.</summary>
internal sealed record CameraSite(string Code, string Place, string Road, string District, GeoPoint Location);

/// <summary>A weather station of a district; <see cref="TemperatureOffset"/> is its urban-heat offset (°C).</summary>
internal sealed record WeatherSite(string Code, string District, GeoPoint Location, double TemperatureOffset);

/// <summary>An air quality sensor: base PM2.5 (µg/m³) of an average hour, PM10/PM2.5 ratio and traffic exposure (NO2/CO scale).</summary>
internal sealed record AirSensorSite(
    string Code, string Place, string District, GeoPoint Location, double BasePm25, double Pm10Ratio, double TrafficExposure);

/// <summary>
/// A directed road segment whose flow is observed. <see cref="DemandFactor"/> scales the city's demand curve for it;
/// <see cref="MorningBias"/>/<see cref="EveningBias"/> make inbound roads heavier in the morning and outbound ones in the evening.
/// </summary>
internal sealed record RoadSegment(
    string Code,
    string RoadName,
    string Name,
    string LaneDirection,
    string District,
    GeoPoint Location,
    int Lanes,
    int Capacity,
    double FreeFlowSpeed,
    double DemandFactor,
    double MorningBias,
    double EveningBias);

/// <summary>A known congestion hot spot.</summary>
internal sealed record ZoneSite(string Code, string Name, string District, GeoPoint Center, int RadiusMeters, double DemandFactor);
