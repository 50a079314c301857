using Traffic.Host.Configuration;

namespace Traffic.Host.Api;

/// <summary>One of the service's keys: its value (null: that endpoint is disabled), the setting it comes from, and what it guards (for answers and logs).</summary>
public sealed record ApiKey(string? Value, string Setting, string Guards)
{
    /// <summary>POST /api/publish.</summary>
    public static ApiKey Publish(ServiceOptions options) => new(options.PublishApiKey, "PUBLISH_API_KEY", "publishing");

    /// <summary>POST /ngsi-ld/notify: its own key, or the publish key when NGSI_LD_NOTIFY_KEY is not set.</summary>
    public static ApiKey Notify(ServiceOptions options) =>
        options.NotifyApiKey is { } own ? new(own, "NGSI_LD_NOTIFY_KEY", "NGSI-LD notifications") : Publish(options) with { Guards = "NGSI-LD notifications" };
}
