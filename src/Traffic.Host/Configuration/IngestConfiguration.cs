using Traffic.Actors.Ingest;

namespace Traffic.Host.Configuration;

/// <summary>Reads <c>SOURCES</c> and the <c>NGSI_LD_*</c> settings (README, configuration table; docs/ngsi-ld.md).</summary>
public static class IngestConfiguration
{
    /// <summary>Which sources feed the aggregator: <c>simulator</c> (default), <c>ngsi-ld</c>, or <c>both</c> (or <c>simulator,ngsi-ld</c>).</summary>
    public static (bool Simulator, bool NgsiLd) Sources(IConfiguration config)
    {
        var raw = config["SOURCES"];
        if (string.IsNullOrWhiteSpace(raw)) return (true, false);
        bool simulator = false, ngsiLd = false;
        foreach (var part in raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            switch (part.ToLowerInvariant())
            {
                case "simulator": simulator = true; break;
                case "ngsi-ld": ngsiLd = true; break;
                case "both": simulator = ngsiLd = true; break;
                default: throw new ServiceConfigurationException($"SOURCES=\"{raw}\": \"{part}\" is not simulator, ngsi-ld or both");
            }
        }
        if (!simulator && !ngsiLd) throw new ServiceConfigurationException($"SOURCES=\"{raw}\" names no source");
        return (simulator, ngsiLd);
    }

    /// <param name="integer">Reads a whole number setting (name, default, min, max), as ServiceOptions does.</param>
    public static IngestSettings Settings(IConfiguration config, Func<string, int, int, int, int> integer)
    {
        var defaults = IngestSettings.Default;
        TypeTopicMap types;
        try { types = TypeTopicMap.Parse(config["NGSI_LD_TYPES"]); }
        catch (FormatException e) { throw new ServiceConfigurationException($"NGSI_LD_TYPES: {e.Message}", e); }

        var severities = config["NGSI_LD_ALERT_SEVERITIES"] is { Length: > 0 } list
            ? new HashSet<string>(list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.OrdinalIgnoreCase)
            : defaults.Alerts.AccidentSeverities;
        var alerts = new IngestAlertSettings(severities, integer("NGSI_LD_ALERT_AQI", defaults.Alerts.AqiThreshold, 0, 500));

        var minBackoff = integer("NGSI_LD_BACKOFF_MIN_MS", 1000, 1, int.MaxValue);
        var maxBackoff = integer("NGSI_LD_BACKOFF_MAX_MS", 30_000, minBackoff, int.MaxValue);
        var timeout = TimeSpan.FromMilliseconds(integer("NGSI_LD_TIMEOUT_MS", 10_000, 1, int.MaxValue));
        var tenant = config["NGSI_LD_TENANT"] is { Length: > 0 } t ? t : null;
        var bearer = config["NGSI_LD_TOKEN"] is { Length: > 0 } b ? b : null;
        var subscribe = Flag(config, "NGSI_LD_SUBSCRIBE", false);

        Uri? broker = null;
        if (config["NGSI_LD_BROKER_URL"] is { Length: > 0 } url)
            broker = HttpUrl("NGSI_LD_BROKER_URL", url.EndsWith('/') ? url : url + "/", url);

        BrokerPollSettings? poll = null;
        if (broker is not null)
        {
            // With the subscription made by the service, notifications carry the changes: the broker is listed once, at start.
            var mode = config["NGSI_LD_POLL"] is { Length: > 0 } pollText
                ? pollText.Trim().ToLowerInvariant() switch
                {
                    "interval" => PollMode.Interval,
                    "start" => PollMode.Start,
                    _ => throw new ServiceConfigurationException($"NGSI_LD_POLL=\"{pollText}\" is not interval or start"),
                }
                : subscribe ? PollMode.Start : PollMode.Interval;
            poll = new BrokerPollSettings(broker, tenant, bearer, integer("NGSI_LD_PAGE_SIZE", 100, 1, 1000), timeout,
                TimeSpan.FromMilliseconds(minBackoff), TimeSpan.FromMilliseconds(maxBackoff), mode);
        }

        SubscriptionSettings? subscription = null;
        if (subscribe)
        {
            if (broker is null) throw new ServiceConfigurationException("NGSI_LD_SUBSCRIBE=true needs NGSI_LD_BROKER_URL (the broker to subscribe at)");
            if (config["NGSI_LD_NOTIFY_URL"] is not { Length: > 0 } notify)
                throw new ServiceConfigurationException("NGSI_LD_SUBSCRIBE=true needs NGSI_LD_NOTIFY_URL (this service's POST /ngsi-ld/notify as the broker reaches it)");
            var key = config["NGSI_LD_NOTIFY_KEY"] is { Length: > 0 } own ? own
                : config["PUBLISH_API_KEY"] is { Length: > 0 } publish ? publish
                : throw new ServiceConfigurationException("NGSI_LD_SUBSCRIBE=true needs NGSI_LD_NOTIFY_KEY (or PUBLISH_API_KEY): the key the broker sends with each notification");
            subscription = new SubscriptionSettings(broker, tenant, bearer, HttpUrl("NGSI_LD_NOTIFY_URL", notify, notify), key,
                config["NGSI_LD_SUBSCRIPTION_ID"] is { Length: > 0 } id ? id : SubscriptionSettings.DefaultId,
                config["NGSI_LD_CONTEXT"] is { Length: > 0 } context ? context : SubscriptionSettings.DefaultContext,
                timeout, TimeSpan.FromMilliseconds(minBackoff), TimeSpan.FromMilliseconds(maxBackoff));
        }

        return new IngestSettings(types, alerts,
            integer("NGSI_LD_QUEUE_SIZE", defaults.QueueSize, 1, 100_000),
            integer("NGSI_LD_MAX_BATCH", defaults.MaxBatchEntities, 1, 100_000),
            defaults.HandoffTimeout, poll, subscription,
            TimeSpan.FromMilliseconds(minBackoff), TimeSpan.FromMilliseconds(maxBackoff),
            SoleSource: !Sources(config).Simulator || !Flag(config, "SIMULATOR_ENABLED", true));
    }

    private static Uri HttpUrl(string name, string text, string shown) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new ServiceConfigurationException($"{name}=\"{shown}\" is not an http(s) URL");

    private static bool Flag(IConfiguration config, string name, bool fallback) =>
        config[name] is not { Length: > 0 } text ? fallback
        : bool.TryParse(text.Trim(), out var value) ? value
        : throw new ServiceConfigurationException($"{name}=\"{text}\" is not true or false");
}
