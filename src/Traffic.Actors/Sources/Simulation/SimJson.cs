using System.Text.Json.Nodes;

namespace Traffic.Actors.Sources.Simulation;

/// <summary>Small builders shared by the feeds' entities (NGSI-LD style, plain key-values).</summary>
internal static class SimJson
{
    public const string Region = "Ho Chi Minh City";
    public const string Country = "VN";

    public static double R2(double value) => Math.Round(value, 2, MidpointRounding.AwayFromZero);

    public static double R1(double value) => Math.Round(value, 1, MidpointRounding.AwayFromZero);

    public static JsonObject Location(GeoPoint point) => new()
    {
        ["latitude"] = Math.Round(point.Latitude, 6),
        ["longitude"] = Math.Round(point.Longitude, 6),
    };

    /// <summary>FIWARE/schema.org PostalAddress.</summary>
    public static JsonObject Address(string district, string? street = null)
    {
        var address = new JsonObject();
        if (street is not null) address["streetAddress"] = street;
        address["addressLocality"] = district;
        address["addressRegion"] = Region;
        address["addressCountry"] = Country;
        return address;
    }
}
