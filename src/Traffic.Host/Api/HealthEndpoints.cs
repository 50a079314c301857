using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Traffic.Actors.Ingest;
using Traffic.Host.Configuration;

namespace Traffic.Host.Api;

/// <summary>
/// ASP.NET Core health checks: GET /health and /health/live (the process runs: 200
/// <c>{"status":"ok"}</c>) and GET /health/ready (<see cref="ClusterReadinessHealthCheck"/>: 200
/// <c>{"status":"ready",...}</c> or 503 <c>{"status":"not ready",...}</c>, with the cluster parts).
/// </summary>
public static class HealthEndpoints
{
    private const string ReadyTag = "ready";

    public static IServiceCollection AddTrafficHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<ClusterReadinessHealthCheck>("cluster-readiness", tags: [ReadyTag])
            .AddCheck<NumberingHealthCheck>("numbering", tags: [ReadyTag]);
        return services;
    }

    public static void MapTrafficHealthChecks(this IEndpointRouteBuilder app)
    {
        var live = new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteLiveAsync }; // no check: answering is the proof
        app.MapHealthChecks("/health", live);
        app.MapHealthChecks("/health/live", live);
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = WriteReadyAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
    }

    private static Task WriteLiveAsync(HttpContext context, HealthReport report) =>
        context.Response.WriteAsJsonAsync(new { status = "ok" });

    /// <summary>
    /// The body clients and balancers read: status, then the parts of the readiness (cluster mode). The
    /// broker's last error names internal hosts: shown only to the holder of the publish key (<see cref="KeyHolder"/>).
    /// </summary>
    private static Task WriteReadyAsync(HttpContext context, HealthReport report)
    {
        var body = new Dictionary<string, object> { ["status"] = report.Status == HealthStatus.Healthy ? "ready" : "not ready" };
        var services = context.RequestServices;
        var details = KeyHolder.Is(context.Request, ApiKey.Publish(services.GetRequiredService<ServiceOptions>()), services.GetRequiredService<FailedKeyAttempts>());
        foreach (var entry in report.Entries.Values)
            foreach (var (key, value) in entry.Data)
                body[key] = !details && value is BrokerStatus.View broker ? broker with { LastError = null } : value;
        return context.Response.WriteAsJsonAsync(body, JsonSerializerOptions.Web);
    }
}
