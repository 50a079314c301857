using System.Globalization;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Connections;
using Traffic.Actors.Routing;
using Traffic.Actors.Sources;
using Traffic.Actors.Ingest;

namespace Traffic.Host.Configuration;

/// <summary>
/// Every service setting, read once at start from configuration (environment variables, the
/// original design's names; see README). A bad value stops the start with a message naming the variable.
/// </summary>
public sealed record ServiceOptions
{
    public string ListenHost { get; init; } = "0.0.0.0";
    public int Port { get; init; } = 5000;

    /// <summary>HTTPS and wss:// (TLS_CERT_PATH, TLS_KEY_PATH, HTTPS_PORT, HTTP_ENABLED); <see cref="TlsSettings.None"/>: plain HTTP on <see cref="Port"/> only.</summary>
    public TlsSettings Tls { get; init; } = TlsSettings.None;
    public ConnectionSettings Connection { get; init; } = ConnectionSettings.Default;
    public string? PublishApiKey { get; init; }

    /// <summary>The key of POST /ngsi-ld/notify (NGSI_LD_NOTIFY_KEY); null: the publish key is taken.</summary>
    public string? NotifyApiKey { get; init; }

    /// <summary>Wrong or missing keys one client address may send a minute before it gets 429 (API_KEY_FAILURES_PER_MINUTE).</summary>
    public int KeyFailuresPerMinute { get; init; } = 10;
    public TopicSchedule Schedule { get; init; } = TopicSchedule.Default;
    public bool SimulatorEnabled { get; init; } = true;
    public SimulationSettings Simulation { get; init; } = SimulationSettings.Default;
    public int OutboundQueueLimit { get; init; } = 1024;
    public int MaxClientMessageBytes { get; init; } = 16 * 1024;
    public int ClientBytesPerSecond { get; init; } = 32 * 1024;
    public int OutboundQueueBytes { get; init; } = 4 * 1024 * 1024;
    public AdmissionSettings Admission { get; init; } = AdmissionSettings.Default;
    public HistorySettings History { get; init; } = HistorySettings.Default;

    /// <summary>How much city state the aggregator holds (MAX_ENTITIES_PER_TOPIC, MAX_STATE_BYTES).</summary>
    public StateLimits StateLimits { get; init; } = StateLimits.Default;
    public CompressionSettings Compression { get; init; } = CompressionSettings.Default;

    /// <summary>Null: no NGSI-LD source (SOURCES without ngsi-ld). Otherwise POST /ngsi-ld/notify, and polling when a broker URL is set.</summary>
    public IngestSettings? Ingest { get; init; }

    /// <summary>Null: a single node (no AKKA_* variable set). Otherwise this node's place in the cluster.</summary>
    public ClusterNodeOptions? Cluster { get; init; }

    /// <summary>Where history, positions and state are kept (PERSISTENCE); in code the default is none, from configuration sqlite on a single node.</summary>
    public PersistenceSettings Persistence { get; init; } = PersistenceSettings.None;

    /// <summary>A line to log at start about <see cref="Persistence"/> (a cluster node that keeps nothing), or null.</summary>
    public string? PersistenceNotice { get; init; }

    public static ServiceOptions From(IConfiguration config)
    {
        var defaults = new ServiceOptions();
        var interval = Milliseconds(config, "HEARTBEAT_INTERVAL_MS", defaults.Connection.HeartbeatInterval);
        var timeout = Milliseconds(config, "HEARTBEAT_TIMEOUT_MS", defaults.Connection.HeartbeatTimeout);
        if (timeout < interval)
            throw new ServiceConfigurationException($"HEARTBEAT_TIMEOUT_MS ({timeout.TotalMilliseconds}) must not be shorter than HEARTBEAT_INTERVAL_MS ({interval.TotalMilliseconds})");

        var sources = IngestConfiguration.Sources(config);

        TopicSchedule schedule;
        try { schedule = TopicSchedule.Parse(config["UPDATE_INTERVALS_MS"]); }
        catch (FormatException e) { throw new ServiceConfigurationException($"UPDATE_INTERVALS_MS: {e.Message}", e); }

        var cluster = ClusterNodeOptions.From(config, (name, fallback, min, max) => Integer(config, name, fallback, min, max));
        var (persistence, persistenceNotice) = PersistenceSettings.From(config, clustered: cluster is not null);

        var options = new ServiceOptions
        {
            ListenHost = config["WS_HOST"] is { Length: > 0 } host ? host : defaults.ListenHost,
            Port = Integer(config, "WS_PORT", defaults.Port, min: 0, max: 65535),
            Tls = TlsSettings.From(config, (name, fallback, min, max) => Integer(config, name, fallback, min, max),
                (name, fallback) => Boolean(config, name, fallback)),
            Connection = new ConnectionSettings(interval, timeout)
            {
                MessagesPerSecond = Integer(config, "CLIENT_MESSAGES_PER_SECOND", defaults.Connection.MessagesPerSecond, min: 1, max: 1_000_000),
                MessageBurst = Integer(config, "CLIENT_MESSAGE_BURST", defaults.Connection.MessageBurst, min: 1, max: 1_000_000),
            },
            PublishApiKey = config["PUBLISH_API_KEY"] is { Length: > 0 } key ? key : null,
            NotifyApiKey = config["NGSI_LD_NOTIFY_KEY"] is { Length: > 0 } notifyKey ? notifyKey : null,
            KeyFailuresPerMinute = Integer(config, "API_KEY_FAILURES_PER_MINUTE", defaults.KeyFailuresPerMinute, min: 1, max: 1_000_000),
            Schedule = schedule,
            // SIMULATOR_ENABLED=false turns the simulator off whatever SOURCES says (older deployments, specs).
            SimulatorEnabled = sources.Simulator && Boolean(config, "SIMULATOR_ENABLED", defaults.SimulatorEnabled),
            Ingest = sources.NgsiLd ? IngestConfiguration.Settings(config, (name, fallback, min, max) => Integer(config, name, fallback, min, max)) : null,
            Simulation = new SimulationSettings(
                Integer(config, "SIMULATOR_SEED", defaults.Simulation.Seed, min: int.MinValue, max: int.MaxValue),
                Milliseconds(config, "SIMULATOR_STEP_MS", defaults.Simulation.StepInterval)) { SharesTopics = sources.NgsiLd },
            OutboundQueueLimit = Integer(config, "OUTBOUND_QUEUE_LIMIT", defaults.OutboundQueueLimit, min: 1, max: 1_000_000),
            MaxClientMessageBytes = Integer(config, "MAX_CLIENT_MESSAGE_BYTES", defaults.MaxClientMessageBytes, min: 64, max: 16 * 1024 * 1024),
            ClientBytesPerSecond = Integer(config, "CLIENT_BYTES_PER_SECOND", defaults.ClientBytesPerSecond, min: 1024, max: int.MaxValue),
            OutboundQueueBytes = Integer(config, "OUTBOUND_QUEUE_BYTES", defaults.OutboundQueueBytes, min: 1024, max: int.MaxValue),
            StateLimits = new StateLimits(
                Integer(config, "MAX_ENTITIES_PER_TOPIC", defaults.StateLimits.MaxEntitiesPerTopic, min: 1, max: 1_000_000),
                Integer(config, "MAX_STATE_BYTES", (int)defaults.StateLimits.MaxStateBytes, min: 64 * 1024, max: (int)StateLimits.MaxStateBytesCeiling)),
            History = new HistorySettings(
                Integer(config, "HISTORY_SIZE", defaults.History.Size, min: 0, max: 1_000_000),
                Milliseconds(config, "HISTORY_TTL_MS", defaults.History.TimeToLive),
                Integer(config, "HISTORY_BYTES", (int)defaults.History.Bytes, min: 1024, max: int.MaxValue)),
            Compression = new CompressionSettings(
                Boolean(config, "WS_COMPRESSION", defaults.Compression.Enabled),
                Integer(config, "WS_COMPRESSION_MIN_BYTES", defaults.Compression.MinBytes, min: 0, max: int.MaxValue)),
            Admission = AdmissionSettings.From(config, (name, fallback, min, max) => Integer(config, name, fallback, min, max)),
            Cluster = cluster,
            Persistence = persistence,
            PersistenceNotice = persistenceNotice,
        };
        options.CheckManagementPort();
        return options;
    }

    /// <summary>The management port (Cluster Bootstrap's contact point) is a port of its own.</summary>
    private void CheckManagementPort()
    {
        if (Cluster?.Discovery is not { ManagementPort: var management }) return;
        foreach (var (name, port) in new[] { ("WS_PORT", Port), ("HTTPS_PORT", Tls.Certificate is null ? -1 : Tls.HttpsPort), ("AKKA_PORT", Cluster.Port) })
            if (port == management)
                throw new ServiceConfigurationException($"AKKA_MANAGEMENT_PORT ({management}) is the same as {name}: the management endpoint needs a port of its own");
    }

    /// <summary>A key anyone could guess in a day is refused outside Development.</summary>
    public const int MinKeyLength = 16;

    /// <summary>Outside Development every key set is at least <see cref="MinKeyLength"/> characters long.</summary>
    public void CheckKeys(bool development)
    {
        if (development) return;
        foreach (var (name, key) in new[] { ("PUBLISH_API_KEY", PublishApiKey), ("NGSI_LD_NOTIFY_KEY", NotifyApiKey) })
            if (key is { Length: < MinKeyLength })
                throw new ServiceConfigurationException(
                    $"{name} is {key.Length} characters long; a key needs at least {MinKeyLength} (ASPNETCORE_ENVIRONMENT=Development allows a short one while developing)");
    }

    private static TimeSpan Milliseconds(IConfiguration config, string name, TimeSpan fallback) =>
        TimeSpan.FromMilliseconds(Integer(config, name, (int)fallback.TotalMilliseconds, min: 1, max: int.MaxValue));

    private static int Integer(IConfiguration config, string name, int fallback, int min, int max)
    {
        var raw = config[name];
        if (string.IsNullOrWhiteSpace(raw)) return fallback;
        if (!int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new ServiceConfigurationException($"{name}=\"{raw}\" is not a whole number between {min} and {max}");
        return value;
    }

    private static bool Boolean(IConfiguration config, string name, bool fallback)
    {
        var raw = config[name];
        if (string.IsNullOrWhiteSpace(raw)) return fallback;
        return raw.Trim().ToLowerInvariant() switch
        {
            "true" or "1" or "yes" => true,
            "false" or "0" or "no" => false,
            _ => throw new ServiceConfigurationException($"{name}=\"{raw}\" is not true or false"),
        };
    }
}

/// <summary>
/// permessage-deflate (RFC 7692) on the direct WebSocket path: negotiated with clients that offer it
/// when <paramref name="Enabled"/> (WS_COMPRESSION); frames shorter than <paramref name="MinBytes"/>
/// (WS_COMPRESSION_MIN_BYTES) go uncompressed.
/// </summary>
public sealed record CompressionSettings(bool Enabled, int MinBytes)
{
    public static readonly CompressionSettings Default = new(Enabled: true, MinBytes: 256);
}
