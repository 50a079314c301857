using System.Security.Cryptography;
using System.Text;
using Traffic.Host.Configuration;

namespace Traffic.Host.Api;

/// <summary>
/// The HTTP API's key check: `X-Api-Key: KEY` or `Authorization: Bearer KEY`, compared in constant
/// time; a wrong or missing key counts against the client's address (<see cref="FailedKeyAttempts"/>).
/// </summary>
public static class ApiKeyCheck
{
    /// <summary>Null when the request may go on; otherwise the problem to answer with.</summary>
    public static IResult? Refusal(HttpRequest request, ApiKey key, FailedKeyAttempts failures)
    {
        if (key.Value is null)
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: $"{Capitalized(key.Guards)} disabled",
                detail: $"The server has no {key.Setting} set, so it accepts no {key.Guards}.");

        var address = request.HttpContext.Connection.RemoteIpAddress;
        if (failures.LockedFor(address) is { } seconds)
        {
            request.HttpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many wrong keys",
                detail: $"More than {failures.Limit - 1} wrong or missing keys from this address within a minute: try again in {seconds} s.");
        }

        var presented = PresentedKey(request);
        if (presented is null)
        {
            failures.Failed(address, request.Path, "no key");
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "API key required",
                detail: $"Send the {key.Setting} key as 'X-Api-Key: KEY' or 'Authorization: Bearer KEY'.");
        }

        if (!SameKey(presented, key.Value))
        {
            failures.Failed(address, request.Path, "wrong key");
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Wrong API key",
                detail: $"The key sent does not match the server's {key.Setting}.");
        }
        return null;
    }

    /// <summary>The configured key when the request presents it (compared in constant time), else null. Never log it.</summary>
    public static string? MatchingKey(HttpRequest request, ApiKey key) =>
        key.Value is { } expected && PresentedKey(request) is { } presented &&
        SameKey(presented, expected) ? expected : null;

    private static string Capitalized(string text) => char.ToUpperInvariant(text[0]) + text[1..];

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
