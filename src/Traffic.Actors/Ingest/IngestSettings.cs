using Traffic.Actors.Protocol;

namespace Traffic.Actors.Ingest;

/// <summary>
/// Which NGSI-LD entity type feeds which topic. The default follows the original design's topic table; congestion
/// comes from its own entity type (<c>CongestionZone</c>, as the simulation sends it), not derived from
/// TrafficFlowObserved: a zone is an area with its own level, and a flow's own <c>congested</c> flag
/// already reaches clients on <c>patterns</c> (docs/ngsi-ld.md).
/// </summary>
public sealed record TypeTopicMap(IReadOnlyDictionary<string, Topic> Topics)
{
    public static TypeTopicMap Default { get; } = new(new Dictionary<string, Topic>(StringComparer.Ordinal)
    {
        ["Camera"] = Topic.Cameras,
        ["WeatherObserved"] = Topic.Weather,
        ["AirQualityObserved"] = Topic.AirQuality,
        ["RoadAccident"] = Topic.Accidents,
        ["TrafficFlowObserved"] = Topic.Patterns,
        ["CongestionZone"] = Topic.Congestion,
    });

    public IEnumerable<string> Types => Topics.Keys;

    /// <summary>
    /// <c>Type=topic</c> pairs separated by commas, added to (or replacing entries of) the default;
    /// <c>Type=</c> (no topic) drops a type. Throws <see cref="FormatException"/> naming the bad pair.
    /// </summary>
    public static TypeTopicMap Parse(string? text)
    {
        var topics = new Dictionary<string, Topic>(Default.Topics, StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text)) return new TypeTopicMap(topics);
        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0].Length == 0)
                throw new FormatException($"\"{pair}\" is not Type=topic");
            if (parts[1].Length == 0)
            {
                topics.Remove(parts[0]);
                continue;
            }
            if (!Protocol.Topics.TryParse(parts[1], out var topic))
                throw new FormatException($"\"{parts[1]}\" in \"{pair}\" is not one of {string.Join(", ", Protocol.Topics.Every.Select(t => t.WireName()))}");
            topics[parts[0]] = topic;
        }
        return new TypeTopicMap(topics);
    }
}

/// <summary>
/// The ingest's alert rules, as the simulation's: a new accident whose severity is in
/// <paramref name="AccidentSeverities"/> (default high or worse), an AQI that rises above <paramref name="AqiThreshold"/>.
/// </summary>
public sealed record IngestAlertSettings(IReadOnlySet<string> AccidentSeverities, int AqiThreshold)
{
    public static IngestAlertSettings Default { get; } =
        new(new HashSet<string>(["high", "critical", "severe", "fatal"], StringComparer.OrdinalIgnoreCase), 150);
}

/// <summary>How often the broker is listed (<c>NGSI_LD_POLL</c>).</summary>
public enum PollMode
{
    /// <summary>Every topic's UPDATE interval (the broker cannot reach this service, or as a catch-up beside notifications).</summary>
    Interval,

    /// <summary>Once at start (a load, no ALERTs for what is already there), then notifications alone.</summary>
    Start,
}

/// <summary>
/// Polling of an NGSI-LD broker (<c>NGSI_LD_BROKER_URL</c>): where, as whom, how much per page, how long to wait,
/// and whether it goes on (<see cref="PollMode.Interval"/>) or loads once at start (<see cref="PollMode.Start"/>).
/// </summary>
public sealed record BrokerPollSettings(Uri BrokerUrl, string? Tenant, string? BearerToken, int PageSize, TimeSpan RequestTimeout,
    TimeSpan MinBackoff, TimeSpan MaxBackoff, PollMode Mode = PollMode.Interval)
{
    /// <summary>The broker's URL as the logs show it: without a user name and password it may carry.</summary>
    public string BrokerForLogs => string.IsNullOrEmpty(BrokerUrl.UserInfo)
        ? BrokerUrl.ToString()
        : new UriBuilder(BrokerUrl) { UserName = "", Password = "" }.Uri.ToString();
}

/// <param name="Types">Entity type to topic.</param>
/// <param name="Alerts">The alert rules.</param>
/// <param name="QueueSize">Notifications waiting to be mapped before more are answered 429.</param>
/// <param name="MaxBatchEntities">Entities in one notification before it is refused as oversized.</param>
/// <param name="HandoffTimeout">How long the pipeline waits for the aggregator to take a change before it moves on (the change still arrives).</param>
/// <param name="Poll">Null: no polling (notifications only).</param>
/// <param name="Subscribe">Null: the service does not make its subscription at the broker (NGSI_LD_SUBSCRIBE).</param>
/// <param name="RestartMinBackoff">The first pause before a failed ingest graph is restarted (doubled per failure in a row).</param>
/// <param name="RestartMaxBackoff">The longest such pause.</param>
/// <param name="SoleSource">NGSI-LD is the only source (no simulator): every id in the topics came from the broker.</param>
public sealed record IngestSettings(TypeTopicMap Types, IngestAlertSettings Alerts, int QueueSize, int MaxBatchEntities,
    TimeSpan HandoffTimeout, BrokerPollSettings? Poll, SubscriptionSettings? Subscribe = null,
    TimeSpan? RestartMinBackoff = null, TimeSpan? RestartMaxBackoff = null, bool SoleSource = false)
{
    public static IngestSettings Default { get; } = new(TypeTopicMap.Default, IngestAlertSettings.Default, 64, 1000, TimeSpan.FromSeconds(5), null);

    public TimeSpan MinRestartBackoff => RestartMinBackoff ?? TimeSpan.FromSeconds(1);

    public TimeSpan MaxRestartBackoff => RestartMaxBackoff ?? TimeSpan.FromSeconds(30);
}

/// <summary>
/// The subscription the service makes at the broker (<c>NGSI_LD_SUBSCRIBE=true</c>, docs/ngsi-ld.md): its fixed id (so a
/// restart or another node updates it instead of adding one), where the broker notifies (<c>NGSI_LD_NOTIFY_URL</c>) with
/// which key (sent by the broker as <c>receiverInfo</c>), and the <c>@context</c> it is written in.
/// </summary>
public sealed record SubscriptionSettings(Uri BrokerUrl, string? Tenant, string? BearerToken, Uri NotifyUrl, string NotifyKey, string Id,
    string Context, TimeSpan RequestTimeout, TimeSpan MinBackoff, TimeSpan MaxBackoff)
{
    public const string DefaultId = "urn:ngsi-ld:Subscription:hcmc-traffic-realtime";

    public const string DefaultContext = "https://raw.githubusercontent.com/smart-data-models/dataModel.Transportation/master/context.jsonld";
}
