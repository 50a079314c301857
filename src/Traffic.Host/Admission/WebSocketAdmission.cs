using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace Traffic.Host.Admission;

/// <summary>
/// The one admission policy both ways of accepting a WebSocket apply before they upgrade (the
/// direct path at the connection, the standard path in the endpoint): the Host name, the Origin
/// allow-list, then the connection limits. Either admits with a lease, held until the socket is finished with, or
/// refuses with the status, the problem and the Retry-After a client sees.
/// </summary>
public sealed class WebSocketAdmission(HostPolicy hosts, OriginPolicy origins, ConnectionLimiter limiter, ForwardedHeadersOptions forwarded, ILogger<WebSocketAdmission> log)
{
    /// <summary>Seconds a client refused for a connection limit is asked to wait before trying again.</summary>
    public const int RetryAfterSeconds = 5;

    public ConnectionLimiter Limiter => limiter;

    /// <param name="peer">The TCP peer's address.</param>
    /// <param name="forwardedFor">The X-Forwarded-For header, if any (used only when the peer is a trusted proxy).</param>
    /// <param name="alreadyResolved">True on the HTTP pipeline, where UseForwardedHeaders has already put the client's address in <paramref name="peer"/>.</param>
    public Decision Admit(IPAddress? peer, string? forwardedFor, string? origin, string? host, bool alreadyResolved = false)
    {
        var client = alreadyResolved ? peer : ClientAddress.Resolve(forwarded, peer, forwardedFor);
        if (!hosts.Allows(host))
            return Refuse(client, new Refusal(StatusCodes.Status400BadRequest, HostPolicy.Title, HostPolicy.RefusalDetail(host), null));
        if (!origins.Allows(origin, host))
            return Refuse(client, new Refusal(StatusCodes.Status403Forbidden, "Origin not allowed", OriginPolicy.RefusalDetail(origin!), null));

        var lease = limiter.TryAcquire(client, out var hit);
        if (lease is not null) return new Decision(lease, null);
        return Refuse(client, hit == ConnectionLimiter.LimitHit.Total
            ? new Refusal(StatusCodes.Status503ServiceUnavailable, "Too many connections",
                "This server holds as many WebSockets as it is allowed to (MAX_CONNECTIONS); try again later or another node.", RetryAfterSeconds)
            : new Refusal(StatusCodes.Status429TooManyRequests, "Too many connections from one address",
                $"Your address {client} already holds as many WebSockets as one address may (MAX_CONNECTIONS_PER_ADDRESS).", RetryAfterSeconds));
    }

    private Decision Refuse(IPAddress? client, Refusal refusal)
    {
        log.LogInformation("Refused a WebSocket from {Client}: {Status} {Title}", client, refusal.Status, refusal.Title);
        return new Decision(null, refusal);
    }

    /// <summary>Admitted (<see cref="Lease"/> set) or refused (<see cref="Refusal"/> set).</summary>
    public sealed record Decision(ConnectionLimiter.Lease? Lease, Refusal? Refusal);

    public sealed record Refusal(int Status, string Title, string Detail, int? RetryAfterSeconds)
    {
        public string? RetryAfterHeader => RetryAfterSeconds is { } s ? $"Retry-After: {s}" : null;
    }
}
