using Microsoft.AspNetCore.Cors.Infrastructure;

namespace Traffic.Host.Admission;

/// <summary>
/// Which browser pages may open a WebSocket here: the defence against cross-site WebSocket
/// hijacking (a page on another site using the visitor's browser to connect). Browsers always send
/// <c>Origin</c> on a WebSocket handshake; other clients usually do not.
/// - No Origin: allowed (not a browser, so no visitor to abuse).
/// - The server's own host (Origin's host and port equal the request's Host): allowed.
/// - <c>ALLOWED_ORIGINS</c>: the listed origins (matched by ASP.NET Core's CORS policy, so
///   <c>https://*.example.org</c> covers subdomains), or any with <c>*</c>.
/// - Development environment only: also any page on localhost / 127.0.0.1 / [::1], any port.
/// </summary>
public sealed class OriginPolicy
{
    private readonly CorsPolicy _listed;
    private readonly bool _development;

    public OriginPolicy(IReadOnlyList<string> allowedOrigins, bool development)
    {
        var builder = new CorsPolicyBuilder();
        if (allowedOrigins.Contains("*")) builder.AllowAnyOrigin();
        else builder.WithOrigins([.. allowedOrigins]).SetIsOriginAllowedToAllowWildcardSubdomains();
        _listed = builder.Build();
        _development = development;
    }

    /// <param name="origin">The request's Origin header, null when absent.</param>
    /// <param name="host">The request's Host header.</param>
    public bool Allows(string? origin, string? host)
    {
        if (origin is null) return true;
        if (_listed.AllowAnyOrigin || _listed.IsOriginAllowed(origin)) return true;
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var page) || page.Scheme is not ("http" or "https")) return false;
        if (IsSameHost(page, host)) return true;
        return _development && page.IsLoopback;
    }

    public static string RefusalDetail(string origin) =>
        $"Origin \"{(origin.Length > 100 ? origin[..100] + "..." : origin)}\" may not open a WebSocket here; the server's operator lists allowed origins in ALLOWED_ORIGINS.";

    /// <summary>Same host name and port; a Host without a port means the default port of the page's scheme.</summary>
    private static bool IsSameHost(Uri page, string? host)
    {
        if (string.IsNullOrEmpty(host) || !Uri.TryCreate($"{page.Scheme}://{host}", UriKind.Absolute, out var served)) return false;
        return string.Equals(page.IdnHost, served.IdnHost, StringComparison.OrdinalIgnoreCase) && page.Port == served.Port;
    }
}
