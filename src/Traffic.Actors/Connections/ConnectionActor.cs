using Akka.Actor;
using Akka.Event;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Actors.Transport;

namespace Traffic.Actors.Connections;

/// <summary>
/// One client connection: its topics, when it was last heard from, and its socket's lifetime.
/// Greets with the connection ACK, then registers with the <see cref="TopicRegistryActor"/>
/// together with the SNAPSHOT (so no publish can overtake the snapshot), answers client
/// commands within a rate limit, and ends the connection when the client goes silent, reads too
/// slowly or sends too much. The socket closing stops this actor; this actor stopping closes the
/// socket. Logs the connect and the disconnect once each (Information).
/// </summary>
public sealed class ConnectionActor : UntypedActor
{
    private sealed record HeartbeatCheck
    {
        public static readonly HeartbeatCheck Instance = new();
    }

    private sealed record CloseTimedOut
    {
        public static readonly CloseTimedOut Instance = new();
    }

    private enum State { AwaitingSnapshot, Ready, Closing }

    /// <summary>Client messages held while the SNAPSHOT is on its way (up to 10 s in a cluster); more are dropped.</summary>
    public const int MaxHeldBeforeSnapshot = 32;

    /// <summary>
    /// How long a closing connection waits for its socket to report the close. The socket itself
    /// drops a peer that has not finished the close handshake within 5 s; this is the bound on top.
    /// </summary>
    public static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(6);

    // One of these per client, thousands per node: an untyped actor with a state field (no handler
    // lists per instance, as a ReceiveActor builds for every Become), no stash and no timer scheduler
    // object, and no watch of the registry (the hub watches it for all: a watch costs each watcher a
    // dictionary); the held messages exist only while a SNAPSHOT is awaited. 5.5 KB of heap each before, 2.8 KB after.
    private readonly IClientSocket _socket;
    private readonly IActorRef _registry;
    private readonly IActorRef _snapshotSource;
    private readonly ConnectionSettings _settings;
    private readonly TrafficMetrics? _metrics;
    private readonly InboundRateLimit _rateLimit;
    private State _state = State.AwaitingSnapshot;
    private TopicSet _topics;
    private ResumeRequest? _since;                // positions to resume from, with the first registration
    private ClientCommand.Subscribe? _resuming;   // a subscribe with "since" waiting for the state it may need
    private List<SocketEvents.TextReceived>? _held; // client messages that came before the SNAPSHOT
    private int _heldCount;
    private ICancelable? _heartbeat;
    private ICancelable? _closeTimeout;
    private DateTimeOffset _lastHeard;
    private static readonly TimeSpan BadInputLogInterval = TimeSpan.FromSeconds(1);
    private DateTimeOffset _lastBadInputLogged = DateTimeOffset.MinValue;
    private int _badInputNotLogged;
    private DateTimeOffset _connectedAt;
    private string _ending = "stopped by the server"; // how the connection ended, for its disconnect line
    private bool _closedByServer;
    private Exception? _fault;

    /// <param name="snapshotSource">Who answers <see cref="AggregatorQueries.GetSnapshot"/> (the aggregator, or in a cluster the local snapshot replica).</param>
    /// <param name="since">Positions the client resumes from (from its URL), if any.</param>
    public ConnectionActor(IClientSocket socket, IActorRef registry, IActorRef snapshotSource, ConnectionSettings settings, TopicSet initialTopics,
        TrafficMetrics? metrics = null, ResumeRequest? since = null)
    {
        _since = since;
        _socket = socket;
        _registry = registry;
        _snapshotSource = snapshotSource;
        _settings = settings;
        _metrics = metrics;
        _topics = initialTopics;
        _rateLimit = new InboundRateLimit(settings.MessagesPerSecond, settings.MessageBurst);
    }

    /// <summary>
    /// Made by a producer that calls the constructor, not by <c>Props.Create(() => new ...)</c>: that
    /// form builds an expression tree and reflects over it for every actor, and one actor is made per
    /// connection (measured in a connection storm: bench/results/20261130-hot-path/).
    /// </summary>
    public static Props Props(IClientSocket socket, IActorRef registry, IActorRef snapshotSource, ConnectionSettings settings, TopicSet initialTopics,
        TrafficMetrics? metrics = null, ResumeRequest? since = null) =>
        Akka.Actor.Props.CreateBy(new Producer(socket, registry, snapshotSource, settings, initialTopics, metrics, since));

    private sealed class Producer(IClientSocket socket, IActorRef registry, IActorRef snapshotSource, ConnectionSettings settings, TopicSet initialTopics,
        TrafficMetrics? metrics, ResumeRequest? since) : IIndirectActorProducer
    {
        public Type ActorType => typeof(ConnectionActor);
        public ActorBase Produce() => new ConnectionActor(socket, registry, snapshotSource, settings, initialTopics, metrics, since);
        public void Release(ActorBase actor) { }
    }

    private string ClientId => Self.Path.Name;
    private DateTimeOffset Now => Context.System.Scheduler.Now;
    private static ILoggingAdapter Log => Context.GetLogger(); // made when used: a few lines per connection, not a field each

    protected override void PreStart()
    {
        _lastHeard = _connectedAt = Now;
        _metrics?.ConnectionOpened();
        Log.Info("Client {0} connected from {1}, topics {2}", ClientId, _socket.RemoteAddress, _topics);
        _socket.Start(Self);
        _socket.TrySend(ServerMessages.Connection(ClientId, _topics, _settings.HeartbeatInterval, Now));
        _snapshotSource.Tell(AggregatorQueries.GetSnapshot.Instance);
        _heartbeat = Context.System.Scheduler.ScheduleTellRepeatedlyCancelable(
            _settings.HeartbeatInterval, _settings.HeartbeatInterval, Self, HeartbeatCheck.Instance, Self);
    }

    protected override void PostStop()
    {
        _heartbeat?.Cancel();
        _closeTimeout?.Cancel();
        _socket.Close(CloseCodes.GoingAway, "server closed the connection");
        _metrics?.ConnectionClosed();
        var lasted = (Now - _connectedAt).TotalSeconds;
        if (_fault is null)
            Log.Info("Client {0} from {1} disconnected after {2:0.0} s: {3}", ClientId, _socket.RemoteAddress, lasted, _ending);
        else
            Log.Error(_fault, "Client {0} from {1} disconnected after {2:0.0} s: {3}", ClientId, _socket.RemoteAddress, lasted, _ending);
    }

    protected override void OnReceive(object message)
    {
        if (_state == State.Closing)
        {
            // Waiting for the socket to send what is queued and the close frame: the actor stays until the
            // socket reports it closed (bounded by CloseWait), so whoever waits for this connection to end
            // (the hub at shutdown) waits for the close frame, not just for the request. Anything else: nothing more to do.
            if (message is SocketEvents.Closed closed) Ended(closed);
            else if (message is CloseTimedOut) Context.Stop(Self);
            return;
        }

        switch (message)
        {
            case SocketEvents.TextReceived text when _state == State.Ready:
                if (Admitted()) Handle(ClientMessageParser.Parse(text.Utf8));
                break;
            case SocketEvents.TextReceived text:
                Hold(text);
                break;
            case AggregatorQueries.SnapshotReady ready when _state == State.AwaitingSnapshot:
                Register(ready.Frame);
                break;
            case SocketEvents.PeerActive:
                Heard();
                break;
            case SocketEvents.BinaryReceived b:
                if (Admitted()) Reject(ErrorCodes.BinaryNotSupported, $"binary frames are not supported ({b.Length} bytes ignored); send JSON text");
                break;
            case HeartbeatCheck:
                CheckHeartbeat();
                break;
            case ConnectionCommands.CloseWith close:
                CloseWith(close.Code, close.Reason);
                break;
            case SocketEvents.OutboundOverflow:
                CloseWith(CloseCodes.TryAgainLater, "client too slow: unsent ALERTs fill its outbound queue");
                break;
            case SocketEvents.Closed closed:
                Ended(closed);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>Before the SNAPSHOT: up to <see cref="MaxHeldBeforeSnapshot"/> messages wait for it, the rest are dropped.</summary>
    private void Hold(SocketEvents.TextReceived text)
    {
        if (!Admitted()) return;
        if (_heldCount < MaxHeldBeforeSnapshot)
        {
            _heldCount++;
            (_held ??= []).Add(text);
        }
        else if (_heldCount++ == MaxHeldBeforeSnapshot)
            Reject(ConnectionErrorCodes.NotReady,
                $"message dropped: the connection is still waiting for its SNAPSHOT, and holds at most {MaxHeldBeforeSnapshot} messages until then");
    }

    /// <summary>The SNAPSHOT (the state) is here: register, with it, then handle what was held, in order.</summary>
    private void Register(ServerFrame snapshot)
    {
        if (_resuming is { } subscribe)
        {
            // A subscribe with "since": its ack, then RESUMED and the missed messages, then the state if some topic was not recovered.
            var ack = ServerMessages.SubscriptionAck(true, subscribe.Topics, _topics, Now);
            _registry.Tell(new RegistryCommands.SetSubscriptions(Self, _socket, _topics, ack, snapshot, subscribe.Since, subscribe.Topics));
            _resuming = null;
        }
        else
        {
            _registry.Tell(new RegistryCommands.SetSubscriptions(Self, _socket, _topics, null, snapshot, _since, _topics));
            _since = null;
        }
        _state = State.Ready;
        _heldCount = 0;
        var held = _held;
        _held = null;
        if (held is null) return;
        // Handled as they would have been: counted against the rate limit when they came, so not again.
        for (var i = 0; i < held.Count; i++)
        {
            Handle(ClientMessageParser.Parse(held[i].Utf8));
            if (_state != State.Ready) // a subscribe with "since" waits for the state again: the rest wait behind it
            {
                _held = held.GetRange(i + 1, held.Count - i - 1);
                _heldCount = _held.Count;
                return;
            }
        }
    }

    private void CloseWith(int code, string reason)
    {
        _ending = $"closed by the server with {code} ({reason})";
        _closedByServer = true;
        _socket.Close(code, reason);
        _heartbeat?.Cancel();
        _closeTimeout = Context.System.Scheduler.ScheduleTellOnceCancelable(CloseWait, Self, CloseTimedOut.Instance, Self);
        _state = State.Closing;
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
                Log.Info("Client {0} kept sending over its rate limit ({1}/s, burst {2})", ClientId, _rateLimit.PerSecond, _rateLimit.Burst);
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
        _snapshotSource.Tell(AggregatorQueries.GetSnapshot.Instance);
        _state = State.AwaitingSnapshot;
    }

    /// <summary>The ack travels through the registry so that it reaches the client only once the change holds.</summary>
    private void ChangeTopics(TopicSet next, bool subscribed, TopicSet requested)
    {
        _topics = next;
        var ack = ServerMessages.SubscriptionAck(subscribed, requested, next, Now);
        _registry.Tell(new RegistryCommands.SetSubscriptions(Self, _socket, next, ack));
    }

    /// <summary>Answers bad input with an ERROR; logs it at most once a second per connection (a client cannot flood the log).</summary>
    private void Reject(string code, string message)
    {
        var now = Now;
        if (now - _lastBadInputLogged >= BadInputLogInterval)
        {
            var more = _badInputNotLogged == 0 ? "" : $" (and {_badInputNotLogged} more bad inputs in the last second, not logged)";
            Log.Info("Client {0} sent bad input ({1}): {2}{3}", ClientId, code, ClientText.Safe(message), more);
            _lastBadInputLogged = now;
            _badInputNotLogged = 0;
        }
        else _badInputNotLogged++;
        _socket.TrySend(ServerMessages.Error(code, message, now));
    }

    private void Heard() => _lastHeard = Now;

    /// <summary>
    /// Every heartbeat interval: a client silent for longer than the timeout is dropped; one quiet for at
    /// least half an interval is sent a protocol PING (its PONG is the next sign of life). Half, not a
    /// whole interval: the PONG to the last PING arrives just after that check, so a client that only
    /// answers PINGs is still pinged at every check, while one that sent something lately is left alone.
    /// </summary>
    private void CheckHeartbeat()
    {
        var silence = Now - _lastHeard;
        if (silence <= _settings.HeartbeatTimeout)
        {
            if (silence >= _settings.HeartbeatInterval / 2) _socket.Ping();
            return;
        }
        _ending = $"silent for {silence.TotalSeconds:0.0} s (timeout {_settings.HeartbeatTimeout.TotalSeconds:0.0} s): dropped by the server";
        _metrics?.CountHeartbeatTermination();
        _socket.Abort();
        Context.Stop(Self);
    }
}
