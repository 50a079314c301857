using System.Net;
using Traffic.Actors.Protocol;

namespace Traffic.Host.Admission;

/// <summary>
/// Which <c>Host</c> names the service answers to (<c>ALLOWED_HOSTS</c>): the defence against DNS
/// rebinding, where a page of the attacker's site has its own name re-pointed at this service (an
/// address the visitor's browser can reach, e.g. on a private network or this machine) and then reads
/// it as its own origin. Such a request carries the attacker's name in <c>Host</c>.
/// - IP addresses, names without a dot (<c>localhost</c>, a machine's or a container's name) and names
///   under <c>.localhost</c>: always answered. A rebinding needs a name the attacker registered in
///   public DNS, which has a dot; so local use, containers that name each other, probes by pod address
///   and the benchmark work unconfigured.
/// - The listed names (<c>*.example.org</c>: any name under it), or any with <c>*</c>.
/// - No <c>Host</c> (HTTP/1.0): answered; HTTP/1.1 without one is refused by the server already.
/// Both ways in check it: the HTTP pipeline (<see cref="UseHostCheck"/>) and the direct WebSocket path (<see cref="WebSocketAdmission"/>).
/// </summary>
public sealed class HostPolicy(IReadOnlyList<string> allowed)
{
    private readonly bool _any = allowed.Contains("*");

    public const string Title = "Host not allowed";

    /// <param name="host">The request's Host header (name, or address, with an optional port).</param>
    public bool Allows(string? host)
    {
        if (string.IsNullOrEmpty(host) || _any) return true;
        var name = NameOf(host);
        if (name is null) return false;
        if (IPAddress.TryParse(name, out _)) return true;
        if (!name.Contains('.') || name.EndsWith(".localhost", StringComparison.Ordinal)) return true;
        foreach (var entry in allowed)
        {
            if (entry.StartsWith("*.", StringComparison.Ordinal)
                    ? name.EndsWith(entry[1..], StringComparison.Ordinal) && name.Length > entry.Length - 1
                    : name == entry)
                return true;
        }
        return false;
    }

    /// <summary>The host part of a Host header, lower case, without its port and an IPv6 literal's brackets; null when it is not one.</summary>
    private static string? NameOf(string host)
    {
        string name;
        if (host.StartsWith('['))
        {
            var close = host.IndexOf(']');
            if (close < 0) return null;
            name = host[1..close];
        }
        else
        {
            var colon = host.LastIndexOf(':');
            name = colon < 0 ? host : host[..colon];
        }
        name = name.TrimEnd('.').ToLowerInvariant(); // "traffic.example." is the same name
        return name.Length == 0 ? null : name;
    }

    public static string RefusalDetail(string? host) =>
        $"Host \"{ClientText.Safe(host ?? "", 100)}\" is not a name this server answers to; its operator lists them in ALLOWED_HOSTS " +
        "(IP addresses and names without a dot, such as localhost, are always answered).";

    /// <summary>The check on the HTTP pipeline: 400 with a problem body, before anything else answers.</summary>
    public static IApplicationBuilder UseHostCheck(IApplicationBuilder app, HostPolicy policy, ILogger log, RefusalLogGate gate) =>
        app.Use(async (context, next) =>
        {
            var host = context.Request.Headers.Host.ToString();
            if (policy.Allows(host))
            {
                await next(context);
                return;
            }
            if (gate.ShouldLog(context.Connection.RemoteIpAddress))
                log.LogInformation("Refused a request from {Client}: 400 {Title}: {Host}", context.Connection.RemoteIpAddress, Title, ClientText.Safe(host, 100));
            await Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: Title, detail: RefusalDetail(host)).ExecuteAsync(context);
        });
}
