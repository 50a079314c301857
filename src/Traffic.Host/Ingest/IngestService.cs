using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Ingest;
using Traffic.Host.Configuration;

namespace Traffic.Host.Ingest;

/// <summary>
/// Runs the NGSI-LD ingest pipeline (<see cref="IngestPipeline"/>) on this node: its notification
/// queue behind POST /ngsi-ld/notify and, with NGSI_LD_BROKER_URL, the poller. It hands changes to
/// <c>IRequiredActor&lt;AggregatorActor&gt;</c>: the aggregator on a single node, the singleton's proxy in a cluster.
/// </summary>
public sealed class IngestService(ActorSystem system, IRequiredActor<AggregatorActor> aggregator, ServiceOptions options,
    IngestMetrics metrics, BrokerStatus broker) : IHostedService, IDisposable
{
    private readonly IngestSettings _settings = options.Ingest ?? throw new InvalidOperationException("SOURCES has no ngsi-ld");
    private HttpClient? _http;
    private IngestPipeline? _pipeline;

    public IngestSettings Settings => _settings;

    /// <summary>Null until the service has started (the endpoint then answers 503).</summary>
    public IngestPipeline? Pipeline => Volatile.Read(ref _pipeline);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var target = await aggregator.GetAsync(cancellationToken);
        Akka.Streams.Dsl.Source<IngestBatch, Akka.NotUsed>? polling = null;
        if (_settings.Poll is { } poll)
        {
            // Timeouts are per request (the poller's own), not the client's: a page may take up to NGSI_LD_TIMEOUT_MS.
            _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
            var poller = new NgsiLdPoller(poll, _http, broker, Logging.GetLogger(system, typeof(NgsiLdPoller)), () => DateTimeOffset.UtcNow);
            polling = poller.Source(_settings.Types.Types, type => options.Schedule.IntervalOf(_settings.Types.Topics[type]));
        }
        Volatile.Write(ref _pipeline, IngestPipeline.Start(system, target, _settings, metrics, polling));
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Pipeline?.Complete();
        return Task.CompletedTask;
    }

    public void Dispose() => _http?.Dispose();
}
