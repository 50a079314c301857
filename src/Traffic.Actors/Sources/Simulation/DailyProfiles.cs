namespace Traffic.Actors.Sources.Simulation;

/// <summary>
/// Pure shapes of the city's day as functions of the local hour (UTC+7, [0, 24)). No randomness here: the feeds add
/// their own noise on top.
/// </summary>
internal static class DailyProfiles
{
    /// <summary>A smooth bump of height 1 at <paramref name="center"/>, distance measured around the clock.</summary>
    public static double Bump(double hour, double center, double width)
    {
        var distance = Math.Abs(hour - center);
        distance = Math.Min(distance, 24 - distance);
        var z = distance / width;
        return Math.Exp(-0.5 * z * z);
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>1 in daylight (about 05:30-22:30 when the city is awake), fading to 0 at night.</summary>
    public static double Awake(double hour) => Sigmoid((hour - 5.5) / 0.5) * Sigmoid((22.5 - hour) / 0.7);

    /// <summary>Sun height proxy: 0 at night, 1 at noon (sunrise ~06:00, sunset ~18:00).</summary>
    public static double Sun(double hour) => hour is <= 6 or >= 18 ? 0 : Math.Sin(Math.PI * (hour - 6) / 12);

    /// <summary>
    /// Traffic demand relative to road capacity for an average road: ~0.15 at 03:00, ~0.7 midday,
    /// ~1.1 at the morning (07:45) and evening (17:45) peaks.
    /// </summary>
    public static double TrafficDemand(double hour) =>
        0.15 + 0.55 * Awake(hour) + 0.45 * Bump(hour, 7.75, 0.9) + 0.5 * Bump(hour, 17.75, 1.0);

    /// <summary>Multiplier of a site's base particulate level: ~0.8 at night, ~1.5 in the 7-9 and 17-19 rush hours.</summary>
    public static double Pollution(double hour) =>
        0.78 + 0.68 * Bump(hour, 8, 1.1) + 0.74 * Bump(hour, 18, 1.2) + 0.15 * Bump(hour, 12.5, 3);

    /// <summary>Clear-sky air temperature (°C): ~34 °C mid-afternoon, ~26 °C before dawn.</summary>
    public static double Temperature(double hour) =>
        29.6 + 4.1 * Math.Cos(2 * Math.PI * (hour - 14.5) / 24) + 0.6 * Math.Cos(4 * Math.PI * (hour - 14.5) / 24);

    /// <summary>The traffic pattern label of a local hour.</summary>
    public static string Pattern(double hour) => hour switch
    {
        >= 6.5 and < 9 => "morningRush",
        >= 16.5 and < 19 => "eveningRush",
        >= 22 or < 5.5 => "night",
        _ => "offPeak",
    };
}
