namespace Traffic.Host.Api;

/// <summary>
/// Whether a read-only request comes from the holder of the publish key (PUBLISH_API_KEY, checked as
/// <see cref="ApiKeyCheck"/> checks publishes): cluster details (every node's Akka address) and the
/// broker's last error (internal host names) are shown only to them; others get the public subset,
/// not an error. A request without a key is not a failed attempt; a wrong key is one (counted per
/// address, <see cref="FailedKeyAttempts"/>), so the difference in answers cannot be used to guess
/// the key faster than the publish endpoint allows, and a locked-out address sees the public subset.
/// </summary>
public static class KeyHolder
{
    public static bool Is(HttpRequest request, ApiKey key, FailedKeyAttempts failures)
    {
        var presents = !string.IsNullOrEmpty(request.Headers["X-Api-Key"].ToString()) ||
                       request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);
        if (!presents || key.Value is null) return false;
        if (failures.LockedFor(request.HttpContext.Connection.RemoteIpAddress) is not null) return false;
        return ApiKeyCheck.Refusal(request, key, failures) is null; // counts a wrong key
    }
}
