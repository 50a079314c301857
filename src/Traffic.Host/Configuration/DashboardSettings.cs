using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;

namespace Traffic.Host.Configuration;

/// <summary>
/// What the dashboard page needs to know about this service (docs/client.md, "The dashboard"):
/// the base map's tiles (<c>DASHBOARD_TILE_URL</c>, off by default: the offline view), how far back
/// the recent ALERTs go (<c>DASHBOARD_RECENT_ALERTS_MINUTES</c>), and the UPDATE schedule (a page
/// that hears nothing for three intervals says its data is stale). Served as GET /dashboard/settings.
/// </summary>
public sealed record DashboardSettings(string? TileUrl, string TileAttribution, int TileMaxZoom, int RecentAlertsMinutes)
{
    public const int DefaultRecentAlertsMinutes = 60;

    /// <summary>The tile server's origin (scheme://host:port), allowed in the page's img-src; null without tiles.</summary>
    public string? TileOrigin => TileUrl is null ? null : new Uri(TileUrl.Replace("{s}", "a")).GetLeftPart(UriPartial.Authority);

    public static DashboardSettings From(IConfiguration config)
    {
        var url = config["DASHBOARD_TILE_URL"] is { Length: > 0 } u ? u.Trim() : null;
        if (url is not null)
        {
            var probe = url.Replace("{s}", "a").Replace("{z}", "0").Replace("{x}", "0").Replace("{y}", "0").Replace("{r}", "");
            if (!url.Contains("{z}") || !url.Contains("{x}") || !url.Contains("{y}")
                || !Uri.TryCreate(probe, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
                throw new ServiceConfigurationException(
                    $"DASHBOARD_TILE_URL \"{url}\" must be an http(s) URL template with {{z}}, {{x}} and {{y}}, e.g. https://tiles.example.org/{{z}}/{{x}}/{{y}}.png");
        }
        var attribution = config["DASHBOARD_TILE_ATTRIBUTION"] is { Length: > 0 } a ? a : "© OpenStreetMap contributors";
        return new DashboardSettings(url, attribution,
            Whole(config, "DASHBOARD_TILE_MAX_ZOOM", 19, 1, 22),
            Whole(config, "DASHBOARD_RECENT_ALERTS_MINUTES", DefaultRecentAlertsMinutes, 0, 24 * 60));
    }

    /// <summary>
    /// The Content-Security-Policy of the dashboard's responses: its own origin only, plus, when there is a
    /// tile server, images from its origin and <c>data:</c> images (Leaflet cancels a tile's load by
    /// setting its src to a 1-pixel data: GIF).
    /// </summary>
    public string ContentSecurityPolicy => TileOrigin is { } origin
        ? $"default-src 'self'; img-src 'self' data: {origin}; connect-src 'self'; frame-ancestors 'none'"
        : "default-src 'self'; connect-src 'self'; frame-ancestors 'none'";

    /// <summary>The page's view of these settings and of the schedule (JSON for /dashboard/settings).</summary>
    public object ForPage(TopicSchedule schedule, DateTimeOffset startedAt) => new
    {
        tileUrl = TileUrl,
        tileAttribution = TileUrl is null ? null : TileAttribution,
        tileMaxZoom = TileMaxZoom,
        recentAlertsMinutes = RecentAlertsMinutes,
        updateIntervalsMs = Topics.Every.ToDictionary(t => t.WireName(), t => (long)schedule.IntervalOf(t).TotalMilliseconds),
        startedAt,
    };

    private static int Whole(IConfiguration config, string name, int fallback, int min, int max)
    {
        var text = config[name];
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        if (!int.TryParse(text, out var value) || value < min || value > max)
            throw new ServiceConfigurationException($"{name} \"{text}\" must be a whole number from {min} to {max}");
        return value;
    }
}
