namespace Traffic.Actors.Ingest;

/// <summary>
/// What the poller needs from its node (the host's singletons): the HTTP client it lists the broker with, where it
/// reports the broker's state and its graph's, and the ingest's metrics. Resolved on whichever node the poller runs.
/// </summary>
public sealed record PollingServices(HttpClient Http, BrokerStatus Broker, IngestGraphStatus Graphs, IngestMetrics? Metrics);
