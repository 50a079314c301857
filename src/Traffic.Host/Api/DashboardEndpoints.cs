using System.Buffers;
using Akka.Actor;
using Akka.Hosting;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Host.Configuration;

namespace Traffic.Host.Api;

/// <summary>
/// GET /dashboard/settings (what the page needs: tiles, recent-ALERT window, schedule, when this
/// process started) and GET /api/alerts/recent (the ALERTs of the last minutes, from the registry's
/// history: docs/protocol.md, "Recent ALERTs").
/// </summary>
public static class DashboardEndpoints
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);
    private static readonly DateTimeOffset StartedAt = new(System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime()); // when this process started (a restart shows on the page)

    public static void MapDashboard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/dashboard/settings", (DashboardSettings dashboard, ServiceOptions options, HttpResponse response) =>
        {
            response.Headers.CacheControl = "no-store";
            return Results.Ok(dashboard.ForPage(options.Schedule, StartedAt));
        });

        app.MapGet("/api/alerts/recent", async (HttpContext context, DashboardSettings dashboard, IRequiredActor<TopicRegistryActor> registry) =>
        {
            var query = context.Request.Query;
            var minutes = dashboard.RecentAlertsMinutes > 0 ? dashboard.RecentAlertsMinutes : DashboardSettings.DefaultRecentAlertsMinutes;
            if (query.ContainsKey("minutes") && (!int.TryParse(query["minutes"], out minutes) || minutes is < 1 or > 24 * 60))
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad minutes",
                    detail: $"?minutes=\"{query["minutes"]}\": expected a whole number of minutes from 1 to 1440.");
            var topics = TopicSet.All;
            if (query["topics"].ToString() is { Length: > 0 } names)
            {
                topics = TopicSet.None;
                foreach (var name in names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (name == Topics.AllName) topics = TopicSet.All;
                    else if (Topics.TryParse(name, out var topic)) topics = topics.Union(TopicSet.Of(topic));
                    else return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Unknown topic",
                        detail: $"?topics: unknown topic \"{name}\"; the topics are {string.Join(", ", Topics.Every.Select(t => t.WireName()))} and all.");
                }
            }

            var found = await registry.ActorRef.Ask<RecentAlerts.Found>(new RecentAlerts.Get(TimeSpan.FromMinutes(minutes)), AskTimeout);
            // The frames exactly as clients got them (ALERTs of the asked topics and those to everyone), oldest first.
            context.Response.ContentType = "application/json; charset=utf-8";
            context.Response.Headers.CacheControl = "no-store";
            var body = context.Response.BodyWriter;
            body.Write("{\"minutes\":"u8);
            body.Write(System.Text.Encoding.UTF8.GetBytes(minutes.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            body.Write(",\"alerts\":["u8);
            var first = true;
            foreach (var frame in found.Alerts)
            {
                if (frame.Topic is { } topic && !topics.Contains(topic)) continue;
                if (!first) body.Write(","u8);
                body.Write(frame.Utf8Json);
                first = false;
            }
            body.Write("]}"u8);
            await body.FlushAsync(context.RequestAborted);
            return Results.Empty;
        });
    }
}
