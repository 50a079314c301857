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

        BrokerPollSettings? poll = null;
        if (config["NGSI_LD_BROKER_URL"] is { Length: > 0 } url)
        {
            if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var broker) || broker.Scheme is not ("http" or "https"))
                throw new ServiceConfigurationException($"NGSI_LD_BROKER_URL=\"{url}\" is not an http(s) URL");
            var minBackoff = integer("NGSI_LD_BACKOFF_MIN_MS", 1000, 1, int.MaxValue);
            poll = new BrokerPollSettings(broker,
                config["NGSI_LD_TENANT"] is { Length: > 0 } tenant ? tenant : null,
                config["NGSI_LD_TOKEN"] is { Length: > 0 } token ? token : null,
                integer("NGSI_LD_PAGE_SIZE", 100, 1, 1000),
                TimeSpan.FromMilliseconds(integer("NGSI_LD_TIMEOUT_MS", 10_000, 1, int.MaxValue)),
                TimeSpan.FromMilliseconds(minBackoff),
                TimeSpan.FromMilliseconds(integer("NGSI_LD_BACKOFF_MAX_MS", 30_000, minBackoff, int.MaxValue)));
        }

        return new IngestSettings(types, alerts,
            integer("NGSI_LD_QUEUE_SIZE", defaults.QueueSize, 1, 100_000),
            integer("NGSI_LD_MAX_BATCH", defaults.MaxBatchEntities, 1, 100_000),
            defaults.HandoffTimeout, poll);
    }
}
