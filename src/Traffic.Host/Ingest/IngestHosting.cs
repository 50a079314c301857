using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Traffic.Actors.Ingest;
using Traffic.Actors.Metrics;
using Traffic.Host.Configuration;

namespace Traffic.Host.Ingest;

public static class IngestHosting
{
    /// <summary>The NGSI-LD source (SOURCES with ngsi-ld): the pipeline, its metrics, and the broker's state in /health/ready.</summary>
    public static IServiceCollection AddNgsiLdIngest(this IServiceCollection services, ServiceOptions options)
    {
        var polled = options.Ingest?.Poll is not null;
        services.AddSingleton<BrokerStatus>();
        services.AddSingleton(s => new IngestMetrics(s.GetRequiredService<TrafficMetrics>().Meter, polled ? s.GetRequiredService<BrokerStatus>() : null));
        services.AddSingleton<IngestService>();
        services.AddHostedService(s => s.GetRequiredService<IngestService>());
        // Tagged "ready" so /health/ready shows it; always Healthy: a node with the last known state still serves (docs/operations.md).
        if (polled) services.AddHealthChecks().AddCheck<BrokerHealthCheck>("ngsi-ld-broker", tags: ["ready"]);
        return services;
    }
}

/// <summary>The polled broker's state as a detail of /health/ready (<c>"ngsiLdBroker":{"state":"down",...}</c>), never a reason to be unready.</summary>
public sealed class BrokerHealthCheck(BrokerStatus broker) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var view = broker.Read();
        return Task.FromResult(HealthCheckResult.Healthy(data: new Dictionary<string, object> { ["ngsiLdBroker"] = view }));
    }
}
