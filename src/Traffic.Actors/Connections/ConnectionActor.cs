using Akka.Actor;
using Akka.Event;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;

namespace Traffic.Actors.Connections;

/// <summary>
/// One client connection: its topics, when it was last heard from, and its socket's lifetime.
/// Greets with the connection ACK, then registers with the <see cref="TopicRegistryActor"/>
/// together with the SNAPSHOT (so no publish can overtake the snapshot), answers client
/// commands within a rate limit, and ends the connection when the client goes silent, reads too
/// slowly or sends too much. The socket closing stops this actor; this actor stopping closes the
/// socket. Logs the connect and the disconnect once each (Information).
/// </summary>
public sealed class ConnectionActor : ReceiveActor, IWithTimers, IWithStash
{
    private sealed record HeartbeatCheck
    {
        public static readonly HeartbeatCheck Instance = new();
    }

    private sealed record CloseTimedOut
    {
        public static readonly CloseTimedOut Instance = new();
    }

    /// <summary>Client messages held while the SNAPSHOT is on its way (up to 10 s in a cluster); more are dropped.</summary>
    public const int MaxHeldBeforeSnapshot = 32;

    /// <summary>
    /// How long a closing connection waits for its socket to report the close. The socket itself
    /// drops a peer that has not finished the close handshake within 5 s; this is the bound on top.
    /// </summary>
    public static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(6);

    private readonly IClientSocket _socket;
    private readonly IActorRef _registry;
    private readonly IActorRef _aggregator;
    private readonly ConnectionSettings _settings;
    private readonly TrafficMetrics? _metrics;
    private readonly InboundRateLimit _rateLimit;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private TopicSet _topics;
    private ResumeRequest? _since;                // positions to resume from, with the first registration
    private ClientCommand.Subscribe? _resuming;   // a subscribe with "since" waiting for the state it may need
    private DateTimeOffset _lastHeard;
    private DateTimeOffset _connectedAt;
    private int _held;
    private string _ending = "stopped by the server"; // how the connection ended, for its disconnect line
    private bool _closedByServer;
    private Exception? _fault;

    /// <param name="aggregator">Who answers <see cref="AggregatorCommands.GetSnapshot"/> (the aggregator, or in a cluster the local snapshot replica).</param>
    /// <param name="since">Positions the client resumes from (from its URL), if any.</param>
    public ConnectionActor(IClientSocket socket, IActorRef registry, IActorRef aggregator, ConnectionSettings settings, TopicSet initialTopics,
        TrafficMetrics? metrics = null, ResumeRequest? since = null)
    {
        _since = since;
        _socket = socket;
        _registry = registry;
        _aggregator = aggregator;
        _settings = settings;
        _metrics = metrics;
        _topics = initialTopics;
        _rateLimit = new InboundRateLimit(settings.MessagesPerSecond, settings.MessageBurst);
        Become(AwaitingSnapshot);
    }

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    public static Props Props(IClientSocket socket, IActorRef registry, IActorRef aggregator, ConnectionSettings settings, TopicSet initialTopics,
        TrafficMetrics? metrics = null, ResumeRequest? since = null) =>
        Akka.Actor.Props.Create(() => new ConnectionActor(socket, registry, aggregator, settings, initialTopics, metrics, since));

    private string ClientId => Self.Path.Name;
    private DateTimeOffset Now => Context.System.Scheduler.Now;

    protected override void PreStart()
    {
        _lastHeard = _connectedAt = Now;
        _metrics?.ConnectionOpened();
        _log.Info("Client {0} connected from {1}, topics {2}", ClientId, _socket.RemoteAddress, _topics);
        // A registry that stops takes every subscription with it: this connection would silently get nothing more.
        Context.Watch(_registry);
        _socket.Start(Self);
        _socket.TrySend(ServerMessages.Connection(ClientId, _topics, _settings.HeartbeatInterval, Now));
        _aggregator.Tell(AggregatorCommands.GetSnapshot.Instance);
        Timers.StartPeriodicTimer(nameof(HeartbeatCheck), HeartbeatCheck.Instance, _settings.HeartbeatInterval);
    }

    protected override void PostStop()
    {
        _socket.Close(CloseCodes.GoingAway, "server closed the connection");
        _metrics?.ConnectionClosed();
        var lasted = (Now - _connectedAt).TotalSeconds;
        if (_fault is null)
            _log.Info("Client {0} from {1} disconnected after {2:0.0} s: {3}", ClientId, _socket.RemoteAddress, lasted, _ending);
        else
            _log.Error(_fault, "Client {0} from {1} disconnected after {2:0.0} s: {3}", ClientId, _socket.RemoteAddress, lasted, _ending);
    }

    private void AwaitingSnapshot()
    {
        Receive<AggregatorCommands.SnapshotReady>(ready =>
        {
            if (_resuming is { } subscribe)
            {
                // A subscribe with "since": its ack, then RESUMED and the missed messages, then the state if some topic was not recovered.
                var ack = ServerMessages.SubscriptionAck(true, subscribe.Topics, _topics, Now);
                _registry.Tell(new RegistryCommands.SetSubscriptions(Self, _socket, _topics, ack, ready.Frame, subscribe.Since, subscribe.Topics));
                _resuming = null;
            }
            else
            {
                _registry.Tell(new RegistryCommands.SetSubscriptions(Self, _socket, _topics, null, ready.Frame, _since, _topics));
                _since = null;
            }
            _held = 0;
            Become(Ready);
            Stash.UnstashAll();
        });
        Receive<SocketEvents.TextReceived>(_ =>
        {
            if (!Admitted()) return;
            if (_held < MaxHeldBeforeSnapshot)
            {
                _held++;
                Stash.Stash();
            }
            else if (_held++ == MaxHeldBeforeSnapshot)
                Reject(ConnectionErrorCodes.NotReady,
                    $"message dropped: the connection is still waiting for its SNAPSHOT, and holds at most {MaxHeldBeforeSnapshot} messages until then");
        });
        Open();
    }

    private void Ready()
    {
        Receive<SocketEvents.TextReceived>(text =>
        {
            if (Admitted()) Handle(ClientMessageParser.Parse(text.Utf8));
        });
        Open();
    }

    /// <summary>What an open connection does in every state: liveness, bad frames, closing.</summary>
    private void Open()
    {
        Receive<SocketEvents.PeerActive>(_ => Heard());
        Receive<SocketEvents.BinaryReceived>(b =>
        {
            if (Admitted()) Reject(ErrorCodes.BinaryNotSupported, $"binary frames are not supported ({b.Length} bytes ignored); send JSON text");
        });
        Receive<SocketEvents.MessageTooLarge>(m =>
        {
            if (Admitted()) Reject(ErrorCodes.MessageTooLarge, $"message longer than {m.Limit} bytes ignored");
        });
        Receive<HeartbeatCheck>(_ => CheckHeartbeat());
        Receive<ConnectionCommands.CloseWith>(close => CloseWith(close.Code, close.Reason));
        Receive<SocketEvents.OutboundOverflow>(_ => CloseWith(CloseCodes.TryAgainLater, "client too slow: unsent ALERTs fill its outbound queue"));
        Receive<Terminated>(t => t.ActorRef.Equals(_registry), _ =>
            CloseWith(CloseCodes.ServiceRestart, "service restart: reconnect"));
        Receive<SocketEvents.Closed>(Ended);
    }

    /// <summary>
    /// Waiting for the socket to send what is queued and the close frame: the actor stays until the
    /// socket reports it closed (bounded by <see cref="CloseWait"/>), so whoever waits for this
    /// connection to end (the hub at shutdown) waits for the close frame, not just for the request.
    /// </summary>
    private void Closing()
    {
        Receive<SocketEvents.Closed>(Ended);
        Receive<CloseTimedOut>(_ => Context.Stop(Self));
        ReceiveAny(_ => { }); // the client's messages, liveness, further close requests: nothing more to do
    }

    private void CloseWith(int code, string reason)
    {
        _ending = $"closed by the server with {code} ({reason})";
        _closedByServer = true;
        _socket.Close(code, reason);
        Timers.Cancel(nameof(HeartbeatCheck));
        Timers.StartSingleTimer(nameof(CloseTimedOut), CloseTimedOut.Instance, CloseWait);
        Become(Closing);
    }

    private void Ended(SocketEvents.Closed closed)
    {
        _ending = _closedByServer ? $"{_ending}; socket: {closed.Reason}" : closed.Reason;
        _fault = closed.Fault;
        Context.Stop(Self);
    }

    /// <summary>Every client message counts as a sign of life, and against the rate limit.</summary>
    private bool Admitted()
    {
        Heard();
        switch (_rateLimit.Take(Now))
        {
            case InboundRateLimit.Verdict.Accept:
                return true;
            case InboundRateLimit.Verdict.DropAndTell:
                Reject(ConnectionErrorCodes.RateLimited,
                    $"more than {_rateLimit.PerSecond} messages a second (bursts of {_rateLimit.Burst}): messages over the limit are dropped");
                return false;
            case InboundRateLimit.Verdict.Disconnect:
                _log.Info("Client {0} kept sending over its rate limit ({1}/s, burst {2})", ClientId, _rateLimit.PerSecond, _rateLimit.Burst);
                CloseWith(CloseCodes.PolicyViolation, "rate limit exceeded: too many messages");
                return false;
            default:
                return false;
        }
    }

    private void Handle(ClientCommand command)
    {
        switch (command)
        {
            case ClientCommand.Ping:
                _socket.TrySend(ServerMessages.Pong(Now));
                break;
            case ClientCommand.Subscribe s:
                Subscribe(s);
                break;
            case ClientCommand.Unsubscribe u:
                ChangeTopics(_topics.Except(u.Topics), subscribed: false, u.Topics);
                break;
            case ClientCommand.Invalid bad:
                Reject(bad.Code, bad.Message);
                break;
        }
    }

    private void Subscribe(ClientCommand.Subscribe subscribe)
    {
        var next = _topics.Union(subscribe.Topics);
        if (subscribe.Since?.NotSubscribed(next) is { } problem)
        {
            Reject(ErrorCodes.InvalidPosition, problem);
            return;
        }
        if (subscribe.Deltas) _socket.UseDeltas();
        if (subscribe.Since is null)
        {
            ChangeTopics(next, subscribed: true, subscribe.Topics);
            return;
        }
        // A topic that cannot be recovered gets the current state: fetch it first, holding what else the client sends.
        _topics = next;
        _resuming = subscribe;
        _aggregator.Tell(AggregatorCommands.GetSnapshot.Instance);
        Become(AwaitingSnapshot);
    }

    /// <summary>The ack travels through the registry so that it reaches the client only once the change holds.</summary>
    private void ChangeTopics(TopicSet next, bool subscribed, TopicSet requested)
    {
        _topics = next;
        var ack = ServerMessages.SubscriptionAck(subscribed, requested, next, Now);
        _registry.Tell(new RegistryCommands.SetSubscriptions(Self, _socket, next, ack));
    }

    private void Reject(string code, string message)
    {
        _log.Info("Client {0} sent bad input ({1}): {2}", ClientId, code, message);
        _socket.TrySend(ServerMessages.Error(code, message, Now));
    }

    private void Heard() => _lastHeard = Now;

    private void CheckHeartbeat()
    {
        var silence = Now - _lastHeard;
        if (silence <= _settings.HeartbeatTimeout) return;
        _ending = $"silent for {silence.TotalSeconds:0.0} s (timeout {_settings.HeartbeatTimeout.TotalSeconds:0.0} s): dropped by the server";
        _metrics?.CountHeartbeatTermination();
        _socket.Abort();
        Context.Stop(Self);
    }
}
