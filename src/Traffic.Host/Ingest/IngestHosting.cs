using Microsoft.Extensions.Diagnostics.HealthChecks;
using Traffic.Actors.Ingest;
using Traffic.Actors.Metrics;
using Traffic.Host.Configuration;

namespace Traffic.Host.Ingest;

public static class IngestHosting
{
    /// <summary>
    /// The NGSI-LD source (SOURCES with ngsi-ld): the pipeline, the poller's services (also used by the poller singleton on
    /// whichever node it runs), its metrics, and the ingest's state in /health/ready.
    /// </summary>
    public static IServiceCollection AddNgsiLdIngest(this IServiceCollection services, ServiceOptions options)
    {
        var polled = options.Ingest?.Poll is not null;
        services.AddSingleton<BrokerStatus>();
        services.AddSingleton<IngestGraphStatus>();
        services.AddSingleton<SubscriptionStatus>();
        services.AddSingleton(s => new IngestMetrics(s.GetRequiredService<TrafficMetrics>().Meter, polled ? s.GetRequiredService<BrokerStatus>() : null,
            s.GetRequiredService<IngestGraphStatus>()));
        // Timeouts are per request (the poller's own), not the client's: a page may take up to NGSI_LD_TIMEOUT_MS.
        services.AddSingleton(_ => new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan });
        services.AddSingleton(s => new PollingServices(s.GetRequiredService<HttpClient>(), s.GetRequiredService<BrokerStatus>(),
            s.GetRequiredService<IngestGraphStatus>(), s.GetRequiredService<IngestMetrics>()));
        services.AddSingleton<IngestService>();
        services.AddHostedService(s => s.GetRequiredService<IngestService>());
        // Tagged "ready" so /health/ready shows them; always Healthy: a node with the last known state still serves (docs/operations.md).
        services.AddHealthChecks().AddCheck<IngestHealthCheck>("ngsi-ld-ingest", tags: ["ready"]);
        return services;
    }
}

/// <summary>
/// The ingest's state as details of /health/ready, never a reason to be unready: <c>"ngsiLdIngest"</c> (this node's graphs:
/// running, restarting after a failure, done), <c>"ngsiLdBroker"</c> (the polled broker, when polled),
/// <c>"ngsiLdSubscription"</c> (the subscription the service made, with NGSI_LD_SUBSCRIBE).
/// </summary>
public sealed class IngestHealthCheck(ServiceOptions options, IngestGraphStatus graphs, BrokerStatus broker, SubscriptionStatus subscription) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["ngsiLdIngest"] = graphs.Read() };
        if (options.Ingest?.Poll is not null) data["ngsiLdBroker"] = broker.Read();
        if (options.Ingest?.Subscribe is not null) data["ngsiLdSubscription"] = subscription.Read();
        return Task.FromResult(HealthCheckResult.Healthy(data: data));
    }
}
