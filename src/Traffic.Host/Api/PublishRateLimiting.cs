using Traffic.Host.Configuration;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace Traffic.Host.Api;

/// <summary>
/// POST /api/publish, per API key: a token bucket of <c>PUBLISH_RATE_PER_SECOND</c> tokens a
/// second holding one second's worth (the burst), through ASP.NET Core's rate limiting
/// middleware. Beyond it: 429 with Retry-After and a problem body. Requests without the right key
/// are not limited here: the endpoint refuses them (401/403) at once.
/// </summary>
public static class PublishRateLimiting
{
    public const string PolicyName = "publish-per-key";

    public static IServiceCollection AddPublishRateLimiting(this IServiceCollection services, ServiceOptions options)
    {
        var rate = options.Admission.PublishRatePerSecond;
        // Refill a tenth of a second's worth at a time (at least one token), so a full bucket is one second of rate.
        var tokensPerPeriod = Math.Max(1, rate / 10);
        var period = TimeSpan.FromSeconds((double)tokensPerPeriod / Math.Max(1, rate));

        return services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(PolicyName, context =>
            {
                if (rate == 0 || ApiKeyCheck.MatchingKey(context.Request, ApiKey.Publish(options)) is not { } key)
                    return RateLimitPartition.GetNoLimiter("");
                return RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = Math.Max(1, rate),
                    TokensPerPeriod = tokensPerPeriod,
                    ReplenishmentPeriod = period,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = async (rejected, cancel) =>
            {
                var http = rejected.HttpContext;
                var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
                http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(PublishRateLimiting))
                    .LogInformation("Refused a publish: 429 over PUBLISH_RATE_PER_SECOND ({Rate}/s)", rate);
                await Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Publish rate exceeded",
                    detail: $"This key may publish {rate} messages a second (PUBLISH_RATE_PER_SECOND); retry after {seconds} s.")
                    .ExecuteAsync(http);
            };
        });
    }
}
