using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Traffic.Actors.Routing;
using Traffic.Host.Configuration;

namespace Traffic.Host.Api;

/// <summary>
/// Part of readiness (GET /health/ready) on a single node: the sequencer has started (with persistence:
/// the journal is read back, so positions and history are there before the first client) and the
/// database is reachable (publishes are answered 503 while it is not). Its data: <c>persistence</c>
/// (sqlite, postgres or none) and <c>journal</c> (up, starting, or down since when). A cluster node's
/// sequencer is a singleton elsewhere: there only the persistence setting is shown.
/// </summary>
public sealed class NumberingHealthCheck(ServiceOptions options, ActorRegistry registry) : IHealthCheck
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["persistence"] = options.Persistence.Kind.ToString().ToLowerInvariant() };
        if (options.Cluster is not null || !registry.TryGet<TopicSequencerActor>(out var sequencer))
            return HealthCheckResult.Healthy("numbered by the cluster's sequencer", data);

        SequencerCommands.Status status;
        try { status = await sequencer.Ask<SequencerCommands.Status>(SequencerCommands.GetStatus.Instance, AskTimeout, cancellationToken); }
        catch (AskTimeoutException)
        {
            data["journal"] = "not answering";
            return HealthCheckResult.Unhealthy("the sequencer does not answer", data: data);
        }

        if (status.JournalDownSince is { } since)
        {
            data["journal"] = $"down since {since.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}: the database is unreachable; publishes are answered 503";
            return HealthCheckResult.Unhealthy("the database is unreachable", data: data);
        }
        if (!status.Numbering)
        {
            data["journal"] = status.Persisting ? "starting: reading the journal" : "starting";
            return HealthCheckResult.Unhealthy("starting", data: data);
        }
        if (status.Persisting) data["journal"] = "up";
        return HealthCheckResult.Healthy("numbering", data);
    }
}
