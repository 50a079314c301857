using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using Traffic.Actors.Aggregation;

namespace Traffic.Actors.Ingest;

/// <summary>
/// Polls the NGSI-LD broker (<see cref="NgsiLdPoller"/>) into the aggregator, once per cluster (a cluster singleton,
/// <c>PollerSingletonHosting</c>; a plain actor on a single node). At start it asks the aggregator for its state and
/// seeds each type's <see cref="ChangeTracker"/> with it, so that a poller that moved to another node resumes without
/// taking its first listing for a load: the aggregator, which judges every ALERT against what it holds, alerts only
/// what is new to it. It then runs the polling graph and watches its completion: a failure is logged once (Error)
/// and the graph restarted after a growing pause (<see cref="IngestSettings.MinRestartBackoff"/>..max), keeping the
/// trackers; with <see cref="PollMode.Start"/> the graph ends by itself after the start-up load.
/// </summary>
public sealed class PollingActor : ReceiveActor, IWithTimers
{
    private sealed record AskSeed
    {
        public static readonly AskSeed Instance = new();
    }

    private sealed record SeedFailed(string Reason);

    private sealed record RestartGraph
    {
        public static readonly RestartGraph Instance = new();
    }

    private sealed record GraphEnded(int Generation, Exception? Failure);

    private readonly IngestSettings _settings;
    private readonly BrokerPollSettings _poll;
    private readonly TopicSchedule _schedule;
    private readonly IActorRef _aggregator;
    private readonly PollingServices _services;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, ChangeTracker> _trackers;
    private readonly Backoff _seedBackoff;
    private readonly Backoff _restartBackoff;
    private NgsiLdPoller? _poller;
    private UniqueKillSwitch? _killSwitch;
    private int _generation;
    private bool _seedWarned;
    private DateTimeOffset _startedAt;

    public PollingActor(IngestSettings settings, TopicSchedule schedule, IActorRef aggregator, PollingServices services)
    {
        _settings = settings;
        _poll = settings.Poll ?? throw new ArgumentException("no broker to poll (NGSI_LD_BROKER_URL)", nameof(settings));
        _schedule = schedule;
        _aggregator = aggregator;
        _services = services;
        _trackers = settings.Types.Types.ToDictionary(type => type, _ => new ChangeTracker(), StringComparer.Ordinal);
        _seedBackoff = new Backoff(_poll.MinBackoff, _poll.MaxBackoff);
        _restartBackoff = new Backoff(settings.MinRestartBackoff, settings.MaxRestartBackoff);

        Receive<AskSeed>(_ => _aggregator.Ask<StateReplication.FullState>(StateReplication.GetFullState.Instance, settings.HandoffTimeout)
            .PipeTo(Self, failure: e => new SeedFailed(e.Message)));
        Receive<SeedFailed>(failed =>
        {
            if (!_seedWarned) _log.Warning("NGSI-LD poller: the aggregator did not answer with its state ({0}); asking again before polling", failed.Reason);
            _seedWarned = true;
            Timers.StartSingleTimer(nameof(AskSeed), AskSeed.Instance, _seedBackoff.Next());
        });
        Receive<StateReplication.FullState>(full =>
        {
            if (_poller is not null) return; // a late answer to an earlier ask
            Seed(full);
            StartGraph();
        });
        Receive<GraphEnded>(Ended);
        Receive<RestartGraph>(_ => StartGraph());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IngestSettings settings, TopicSchedule schedule, IActorRef aggregator, PollingServices services) =>
        Akka.Actor.Props.Create(() => new PollingActor(settings, schedule, aggregator, services));

    protected override void PreStart() => Self.Tell(AskSeed.Instance);

    protected override void PostStop()
    {
        _killSwitch?.Shutdown();
        _services.Graphs.Forget(IngestGraphStatus.Polling);
    }

    /// <summary>
    /// Each type's tracker starts from the ids its topic holds. They count as listed before (so they may leave) only
    /// where NGSI-LD alone feeds the topic and no other type feeds it: else they may be another source's.
    /// </summary>
    private void Seed(StateReplication.FullState full)
    {
        var typesPerTopic = _settings.Types.Topics.Values.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        var held = 0;
        foreach (var (type, tracker) in _trackers)
        {
            var topic = _settings.Types.Topics[type];
            var ids = full.Topics.TryGetValue(topic, out var entities) ? entities.Select(e => e.Id).ToArray() : [];
            held += ids.Length;
            tracker.Seed(ids, removable: _settings.SoleSource && typesPerTopic[topic] == 1);
        }
        _log.Info("NGSI-LD poller starts on this node ({0}); the aggregator holds {1} entities of its types", UserAgent, held);
    }

    private void StartGraph()
    {
        var generation = ++_generation;
        _poller ??= new NgsiLdPoller(_poll, _services.Http, _services.Broker, Logging.GetLogger(Context.System, typeof(NgsiLdPoller)),
            () => DateTimeOffset.UtcNow, UserAgent);
        var (killSwitch, done) = _poller.Source(_trackers, type => _schedule.IntervalOf(_settings.Types.Topics[type]))
            .ViaMaterialized(KillSwitches.Single<IngestBatch>(), Keep.Right)
            .Via(IngestPipeline.Stages(Context.System, _aggregator, _settings, _services.Metrics))
            .ToMaterialized(Sink.Ignore<NotUsed>(), Keep.Both)
            .Run(Context.Materializer()); // stopped with this actor
        _killSwitch = killSwitch;
        _startedAt = DateTimeOffset.UtcNow;
        _services.Graphs.Running(IngestGraphStatus.Polling);
        done.ContinueWith(t => new GraphEnded(generation, t.IsFaulted ? t.Exception!.GetBaseException() : null), TaskScheduler.Default)
            .PipeTo(Self);
    }

    private void Ended(GraphEnded ended)
    {
        if (ended.Generation != _generation) return;
        _killSwitch = null;
        if (ended.Failure is null && _poll.Mode == PollMode.Start)
        {
            _log.Info("NGSI-LD start-up load from {0} done; following notifications", _poll.BrokerForLogs);
            _services.Graphs.Done(IngestGraphStatus.Polling);
            return;
        }
        // A graph that ran well for longer than the longest pause starts its back-off afresh.
        if (DateTimeOffset.UtcNow - _startedAt > _settings.MaxRestartBackoff) _restartBackoff.Reset();
        var pause = _restartBackoff.Next();
        var reason = ended.Failure is { } e ? $"{e.GetType().Name}: {e.Message}" : "it ended by itself";
        _log.Error("NGSI-LD polling graph stopped ({0}); restarting it in {1:0.0} s", reason, pause.TotalSeconds);
        _services.Graphs.Failed(IngestGraphStatus.Polling, reason, DateTimeOffset.UtcNow);
        // The changes in flight when it failed may be lost: the next listing takes everything again.
        foreach (var tracker in _trackers.Values) tracker.ForgetContent();
        Timers.StartSingleTimer(nameof(RestartGraph), RestartGraph.Instance, pause);
    }

    /// <summary>What the broker sees as User-Agent: the product and the node that polls (its log then shows which node does).</summary>
    private string UserAgent
    {
        get
        {
            var address = ((ExtendedActorSystem)Context.System).Provider.DefaultAddress;
            return address.Host is { } host ? $"hcmc-traffic-realtime (node {host}:{address.Port})" : "hcmc-traffic-realtime";
        }
    }
}
