using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Ingest;
using Traffic.Host.Configuration;

namespace Traffic.Host.Ingest;

/// <summary>
/// Runs the NGSI-LD ingest on this node: the notifications' graph (<see cref="IngestPipeline"/>) behind POST /ngsi-ld/notify,
/// watched: when it fails it is logged once (Error), shown in /health/ready and /metrics, and restarted after a growing
/// pause (the endpoint answers 503 meanwhile). With NGSI_LD_BROKER_URL on a single node, the poller (<see cref="PollingActor"/>;
/// in a cluster it is a singleton, started by the cluster's wiring); with NGSI_LD_SUBSCRIBE, the subscription at the
/// broker (<see cref="BrokerSubscription"/>). Changes go to <c>IRequiredActor&lt;AggregatorActor&gt;</c>: the aggregator on a
/// single node, the singleton's proxy in a cluster.
/// </summary>
public sealed class IngestService(ActorSystem system, IRequiredActor<AggregatorActor> aggregator, ServiceOptions options,
    IngestMetrics metrics, IngestGraphStatus graphs, PollingServices polling, SubscriptionStatus subscription) : IHostedService
{
    private readonly IngestSettings _settings = options.Ingest ?? throw new InvalidOperationException("SOURCES has no ngsi-ld");
    private readonly ILoggingAdapter _log = Logging.GetLogger(system, typeof(IngestService));
    private readonly CancellationTokenSource _stopping = new();
    private IngestPipeline? _pipeline;
    private IActorRef? _poller;
    private Task _watch = Task.CompletedTask;
    private Task _subscribe = Task.CompletedTask;

    public IngestSettings Settings => _settings;

    /// <summary>Null until the service has started, and while a failed graph waits to be restarted (the endpoint then answers 503).</summary>
    public IngestPipeline? Pipeline => Volatile.Read(ref _pipeline);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var target = await aggregator.GetAsync(cancellationToken);
        _watch = RunNotificationsAsync(target);
        if (_settings.Poll is not null && options.Cluster is null)
            _poller = system.ActorOf(PollingActor.Props(_settings, options.Schedule, target, polling), "ngsi-ld-poller");
        if (_settings.Subscribe is { } subscribe)
            _subscribe = new BrokerSubscription(subscribe, _settings.Types, polling.Http, subscription,
                Logging.GetLogger(system, typeof(BrokerSubscription))).EnsureAsync(_stopping.Token);
    }

    /// <summary>Starts the notifications' graph, and again each time it fails, until the service stops.</summary>
    private async Task RunNotificationsAsync(IActorRef target)
    {
        var backoff = new Backoff(_settings.MinRestartBackoff, _settings.MaxRestartBackoff);
        while (!_stopping.IsCancellationRequested)
        {
            var pipeline = IngestPipeline.Start(system, target, _settings, metrics);
            var started = DateTimeOffset.UtcNow;
            graphs.Running(IngestGraphStatus.Notifications);
            Volatile.Write(ref _pipeline, pipeline);
            string reason;
            try
            {
                await pipeline.Completion;
                reason = "it ended by itself";
            }
            catch (Exception e) { reason = $"{e.GetBaseException().GetType().Name}: {e.GetBaseException().Message}"; }
            if (_stopping.IsCancellationRequested) return;
            Volatile.Write(ref _pipeline, null); // the endpoint answers 503 until the next one runs
            // A graph that ran well for longer than the longest pause starts its back-off afresh.
            if (DateTimeOffset.UtcNow - started > _settings.MaxRestartBackoff) backoff.Reset();
            var pause = backoff.Next();
            _log.Error("NGSI-LD ingest graph (notifications) stopped ({0}); POST /ngsi-ld/notify answers 503 until it is restarted in {1:0.0} s",
                reason, pause.TotalSeconds);
            graphs.Failed(IngestGraphStatus.Notifications, reason, DateTimeOffset.UtcNow);
            try { await Task.Delay(pause, _stopping.Token); }
            catch (OperationCanceledException) { return; }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        Pipeline?.Complete();
        if (_poller is not null) system.Stop(_poller);
        await Task.WhenAll(_watch, _subscribe).WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
    }
}
