namespace Traffic.Actors.Sources.Simulation;

/// <summary>US EPA AQI from PM2.5 (2024 breakpoints) and PM10, and the FIWARE airQualityLevel names of its bands.</summary>
internal static class AirQualityIndex
{
    private static readonly (double Low, double High, int IndexLow, int IndexHigh)[] Pm25Bands =
    [
        (0.0, 9.0, 0, 50), (9.1, 35.4, 51, 100), (35.5, 55.4, 101, 150),
        (55.5, 125.4, 151, 200), (125.5, 225.4, 201, 300), (225.5, 325.4, 301, 500),
    ];

    private static readonly (double Low, double High, int IndexLow, int IndexHigh)[] Pm10Bands =
    [
        (0, 54, 0, 50), (55, 154, 51, 100), (155, 254, 101, 150),
        (255, 354, 151, 200), (355, 424, 201, 300), (425, 604, 301, 500),
    ];

    public static int Of(double pm25, double pm10) =>
        Math.Max(SubIndex(Math.Floor(pm25 * 10) / 10, Pm25Bands), SubIndex(Math.Floor(pm10), Pm10Bands));

    public static string Level(int aqi) => aqi switch
    {
        <= 50 => "good",
        <= 100 => "moderate",
        <= 150 => "unhealthyForSensitiveGroups",
        <= 200 => "unhealthy",
        <= 300 => "veryUnhealthy",
        _ => "hazardous",
    };

    private static int SubIndex(double concentration, (double Low, double High, int IndexLow, int IndexHigh)[] bands)
    {
        foreach (var (low, high, indexLow, indexHigh) in bands)
        {
            if (concentration <= high)
            {
                var c = Math.Max(concentration, low);
                return (int)Math.Round((indexHigh - indexLow) / (high - low) * (c - low) + indexLow, MidpointRounding.AwayFromZero);
            }
        }
        return 500;
    }
}
