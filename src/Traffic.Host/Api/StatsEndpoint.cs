using Akka.Actor;
using Akka.Hosting;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;

namespace Traffic.Host.Api;

/// <summary>GET /api/stats (the seed's getClientCount and getTopicSubscribers) and the health checks.</summary>
public static class StatsEndpoint
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    public static void MapStatsAndHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/stats", async (IRequiredActor<TopicRegistryActor> registry) =>
        {
            var stats = await registry.ActorRef.Ask<RegistryCommands.Stats>(RegistryCommands.GetStats.Instance, AskTimeout);
            return Results.Ok(new
            {
                clients = stats.Clients,
                topics = Topics.Every.ToDictionary(t => t.WireName(), t => stats.Subscribers[t]),
            });
        });
        app.MapGet("/health", () => Results.Ok(new { status = "ok" }));
        app.MapGet("/health/live", () => Results.Ok(new { status = "ok" }));
    }
}
