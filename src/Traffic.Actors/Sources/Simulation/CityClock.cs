using System.Globalization;

namespace Traffic.Actors.Sources.Simulation;

/// <summary>Time helpers: Ho Chi Minh City is UTC+7 all year (no daylight saving).</summary>
internal static class CityClock
{
    public static readonly TimeSpan UtcOffset = TimeSpan.FromHours(7);

    /// <summary>Local (UTC+7) hour of the day in [0, 24).</summary>
    public static double LocalHour(DateTimeOffset time) => (time.UtcDateTime + UtcOffset).TimeOfDay.TotalHours;

    /// <summary>ISO 8601 in UTC, second precision: <c>2025-06-01T07:30:05Z</c>.</summary>
    public static string Iso(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
