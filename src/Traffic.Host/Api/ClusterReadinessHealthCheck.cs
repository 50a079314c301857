using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Traffic.Actors.Cluster;
using Traffic.Host.Configuration;

namespace Traffic.Host.Api;

/// <summary>
/// Readiness of a node (GET /health/ready). One node: ready once started. A cluster node: ready
/// while it is an Up member, holds the aggregator's state (so it can serve SNAPSHOTs) and every
/// reachable Up member's publishes reach it (so its clients miss nothing). The parts are in the
/// result's data, which <see cref="HealthEndpoints"/> writes as the JSON body.
/// </summary>
public sealed class ClusterReadinessHealthCheck(ServiceOptions options, ActorSystem system) : IHealthCheck
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (options.Cluster is null) return HealthCheckResult.Healthy("one node");

        var cluster = Akka.Cluster.Cluster.Get(system);
        var member = cluster.SelfMember.Status;
        var registry = ActorRegistry.For(system);
        var synced = false;
        IReadOnlySet<string> reach = new HashSet<string>();
        try
        {
            if (registry.TryGet<SnapshotReplicaActor>(out var replica))
                synced = (await replica.Ask<SnapshotReplicaActor.Status>(SnapshotReplicaActor.GetStatus.Instance, AskTimeout, cancellationToken)).Synced;
            if (registry.TryGet<ClusterFanOutActor>(out var fanOut))
                reach = (await fanOut.Ask<ClusterFanOutActor.Reach>(ClusterFanOutActor.GetReach.Instance, AskTimeout, cancellationToken)).Nodes;
        }
        catch (AskTimeoutException) { }

        // Only reachable members count: while a crashed node waits to be downed, the survivors stay ready.
        var state = cluster.State;
        var up = state.Members.Where(m => m.Status == MemberStatus.Up && !state.Unreachable.Contains(m))
            .Select(m => m.Address.ToString()).ToList();
        var reached = up.Count(reach.Contains);
        var data = new Dictionary<string, object>
        {
            ["member"] = member.ToString().ToLowerInvariant(),
            ["snapshot"] = synced ? "synced" : "waiting",
            ["publishesFrom"] = $"{reached}/{up.Count}",
        };
        return member == MemberStatus.Up && synced && reached == up.Count
            ? HealthCheckResult.Healthy("cluster member ready", data)
            : HealthCheckResult.Unhealthy("cluster member not ready", data: data);
    }
}
