using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>
/// The ALERTs this node's registry still holds in its per-stream histories (<see cref="StreamHistory"/>),
/// for a page that opens and wants the recent ones at once (GET /api/alerts/recent, docs/protocol.md,
/// "Recent ALERTs"). Read-only over the histories: nothing is kept here, so whatever restores the
/// histories (persistence) restores this answer too.
/// </summary>
public static class RecentAlerts
{
    /// <summary>Asks the registry for the ALERTs received in the last <paramref name="Window"/>; answered with <see cref="Found"/>.</summary>
    public sealed record Get(TimeSpan Window);

    /// <summary>The ALERTs, oldest first (in the order they arrived on this node, across streams).</summary>
    public sealed record Found(IReadOnlyList<ServerFrame> Alerts);

    /// <summary>Every held ALERT received at or after <paramref name="now"/> minus the window, in arrival order.</summary>
    public static Found Collect(IEnumerable<StreamHistory> histories, TimeSpan window, DateTimeOffset now)
    {
        var since = now - window;
        var alerts = histories
            .SelectMany(history => history.Held)
            .Where(entry => entry.Frame.Type == ServerMessageType.Alert && entry.ReceivedAt >= since)
            .OrderBy(entry => entry.Arrival)
            .Select(entry => entry.Frame)
            .ToList();
        return new Found(alerts);
    }
}
