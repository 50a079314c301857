using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Host.Configuration;

namespace Traffic.Host.Api;

/// <summary>
/// GET /api/stats (the original design's getClientCount and getTopicSubscribers), for this node or, with
/// <c>?scope=cluster</c>, for every node of the cluster and in total. Health checks: <see cref="HealthEndpoints"/>.
/// Node addresses (Akka addresses: internal host names and ports) and which node holds the aggregator
/// are shown only to the holder of the publish key (<see cref="KeyHolder"/>); others get the counts.
/// </summary>
public static class StatsEndpoint
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan NodeAskTimeout = TimeSpan.FromSeconds(3);

    public static void MapStats(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/stats", async (HttpRequest request, ServiceOptions options, ActorSystem system, IRequiredActor<TopicRegistryActor> registry,
            FailedKeyAttempts failures) =>
        {
            var scope = request.Query["scope"].ToString();
            if (scope is not ("" or "node" or "cluster"))
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Unknown scope",
                    detail: $"?scope=\"{scope}\": expected node (this node, the default) or cluster (every node and the total).");

            var local = await registry.ActorRef.Ask<RegistryCommands.Stats>(RegistryCommands.GetStats.Instance, AskTimeout);
            var details = KeyHolder.Is(request, ApiKey.Publish(options), failures);
            if (scope == "cluster") return Results.Ok(await ClusterStatsAsync(system, options, local, details));
            if (options.Cluster is null || !details)
                return Results.Ok(new { clients = local.Clients, topics = TopicCounts(local) });
            return Results.Ok(new { node = SelfAddress(system), clients = local.Clients, topics = TopicCounts(local) });
        });
    }

    private static Dictionary<string, int> TopicCounts(RegistryCommands.Stats stats) =>
        Topics.Every.ToDictionary(t => t.WireName(), t => stats.Subscribers.TryGetValue(t, out var n) ? n : 0);

    private static string SelfAddress(ActorSystem system) => Akka.Cluster.Cluster.Get(system).SelfAddress.ToString();

    /// <summary>
    /// Every member's registry is asked in parallel; a member that is unreachable or silent is listed without figures and left out of the totals.
    /// Without <paramref name="details"/> (not the key holder): the same figures, without addresses nor the aggregator's home.
    /// </summary>
    private static async Task<object> ClusterStatsAsync(ActorSystem system, ServiceOptions options, RegistryCommands.Stats local, bool details)
    {
        if (options.Cluster is null)
        {
            if (!details)
                return new { clients = local.Clients, topics = TopicCounts(local), nodes = new[] { new { status = "up", reachable = true, clients = local.Clients, topics = TopicCounts(local) } } };
            var node = new { node = "local", status = "up", reachable = true, clients = local.Clients, topics = TopicCounts(local) };
            return new { clients = local.Clients, topics = TopicCounts(local), aggregator = "local", nodes = new[] { node } };
        }

        var cluster = Akka.Cluster.Cluster.Get(system);
        var state = cluster.State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var members = state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).ToList();
        var oldest = state.Members.Where(m => m.Status is MemberStatus.Up or MemberStatus.Leaving)
            .OrderBy(m => m, Member.AgeOrdering).FirstOrDefault();

        var answers = await Task.WhenAll(members.Select(async member =>
        {
            if (member.Address == cluster.SelfAddress) return (member, stats: local, error: (string?)null);
            if (unreachable.Contains(member.Address)) return (member, stats: (RegistryCommands.Stats?)null, error: "unreachable");
            try
            {
                var path = new RootActorPath(member.Address) / "user" / TopicRegistryActor.Name;
                var stats = await system.ActorSelection(path).Ask<RegistryCommands.Stats>(RegistryCommands.GetStats.Instance, NodeAskTimeout);
                return (member, stats, error: null);
            }
            catch (AskTimeoutException)
            {
                return (member, stats: null, error: $"no answer within {NodeAskTimeout.TotalSeconds:0} s");
            }
        }));

        var totals = Topics.Every.ToDictionary(t => t.WireName(), _ => 0);
        var clients = 0;
        var nodes = new List<object>();
        foreach (var (member, stats, error) in answers)
        {
            var address = member.Address.ToString();
            var status = member.Status.ToString().ToLowerInvariant();
            var reachable = !unreachable.Contains(member.Address);
            if (stats is null)
            {
                nodes.Add(details ? new { node = address, status, reachable, error } : new { status, reachable, error });
                continue;
            }
            clients += stats.Clients;
            var topics = TopicCounts(stats);
            foreach (var (name, count) in topics) totals[name] += count;
            nodes.Add(details ? new { node = address, status, reachable, clients = stats.Clients, topics } : new { status, reachable, clients = stats.Clients, topics });
        }
        if (!details) return new { clients, topics = totals, nodes };
        return new { clients, topics = totals, aggregator = oldest?.Address.ToString(), self = cluster.SelfAddress.ToString(), nodes };
    }
}
