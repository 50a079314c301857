using System.Security.Cryptography;
using System.Text;
using Traffic.Host.Configuration;

namespace Traffic.Host.Api;

/// <summary>The publish API's key check: `X-Api-Key: KEY` or `Authorization: Bearer KEY`, compared in constant time.</summary>
public static class ApiKeyCheck
{
    /// <summary>Null when the request may publish; otherwise the problem to answer with.</summary>
    public static IResult? Refusal(HttpRequest request, ServiceOptions options)
    {
        if (options.PublishApiKey is null)
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Publishing is disabled",
                detail: "The server has no PUBLISH_API_KEY set, so it accepts no publishes.");

        var presented = PresentedKey(request);
        if (presented is null)
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "API key required",
                detail: "Send the publish key as 'X-Api-Key: KEY' or 'Authorization: Bearer KEY'.");

        if (!SameKey(presented, options.PublishApiKey))
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Wrong API key",
                detail: "The key sent does not match the server's PUBLISH_API_KEY.");
        return null;
    }

    /// <summary>The configured key when the request presents it (compared in constant time), else null. Never log it.</summary>
    public static string? MatchingKey(HttpRequest request, ServiceOptions options) =>
        options.PublishApiKey is { } expected && PresentedKey(request) is { } presented &&
        SameKey(presented, expected) ? expected : null;

    /// <summary>
    /// Constant time over the keys' SHA-256 digests (fixed length), so that neither the position of
    /// the first wrong byte nor the key's length shows in the time taken.
    /// </summary>
    private static bool SameKey(string presented, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));

    private static string? PresentedKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue("X-Api-Key", out var key) && !string.IsNullOrEmpty(key)) return key.ToString();
        var authorization = request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        return authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) ? authorization[bearer.Length..].Trim() : null;
    }
}
