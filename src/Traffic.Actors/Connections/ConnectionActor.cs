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
/// commands, and ends the connection when the client goes silent or reads too slowly.
/// The socket closing stops this actor; this actor stopping closes the socket.
/// </summary>
public sealed class ConnectionActor : ReceiveActor, IWithTimers, IWithStash
{
    private sealed record HeartbeatCheck
    {
        public static readonly HeartbeatCheck Instance = new();
    }

    /// <summary>Closes the socket with this code and reason (after what is queued), and stops.</summary>
    public sealed record CloseWith(int Code, string Reason);

    private readonly IClientSocket _socket;
    private readonly IActorRef _registry;
    private readonly IActorRef _aggregator;
    private readonly ConnectionSettings _settings;
    private readonly TrafficMetrics? _metrics;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private TopicSet _topics;
    private DateTimeOffset _lastHeard;

    /// <param name="aggregator">Who answers <see cref="AggregatorCommands.GetSnapshot"/> (the aggregator, or in a cluster the local snapshot replica).</param>
    public ConnectionActor(IClientSocket socket, IActorRef registry, IActorRef aggregator, ConnectionSettings settings, TopicSet initialTopics,
        TrafficMetrics? metrics = null)
    {
        _socket = socket;
        _registry = registry;
        _aggregator = aggregator;
        _settings = settings;
        _metrics = metrics;
        _topics = initialTopics;
        Become(AwaitingSnapshot);
    }

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    public static Props Props(IClientSocket socket, IActorRef registry, IActorRef aggregator, ConnectionSettings settings, TopicSet initialTopics,
        TrafficMetrics? metrics = null) =>
        Akka.Actor.Props.Create(() => new ConnectionActor(socket, registry, aggregator, settings, initialTopics, metrics));

    private string ClientId => Self.Path.Name;
    private DateTimeOffset Now => Context.System.Scheduler.Now;

    protected override void PreStart()
    {
        _lastHeard = Now;
        _metrics?.ConnectionOpened();
        _socket.Start(Self);
        _socket.TrySend(ServerMessages.Connection(ClientId, _topics, _settings.HeartbeatInterval, Now));
        _aggregator.Tell(AggregatorCommands.GetSnapshot.Instance);
        Timers.StartPeriodicTimer(nameof(HeartbeatCheck), HeartbeatCheck.Instance, _settings.HeartbeatInterval);
    }

    protected override void PostStop()
    {
        _socket.Close(CloseCodes.GoingAway, "server closed the connection");
        _metrics?.ConnectionClosed();
    }

    private void AwaitingSnapshot()
    {
        Receive<AggregatorCommands.SnapshotReady>(ready =>
        {
            _registry.Tell(new RegistryCommands.SetSubscriptions(Self, _socket, _topics, ready.Frame));
            Become(Ready);
            Stash.UnstashAll();
        });
        Receive<SocketEvents.TextReceived>(_ => { Heard(); Stash.Stash(); });
        Lifecycle();
    }

    private void Ready()
    {
        Receive<SocketEvents.TextReceived>(text =>
        {
            Heard();
            Handle(ClientMessageParser.Parse(text.Utf8));
        });
        Lifecycle();
    }

    /// <summary>What the connection does in every state: liveness, bad frames, closing.</summary>
    private void Lifecycle()
    {
        Receive<SocketEvents.PeerActive>(_ => Heard());
        Receive<SocketEvents.BinaryReceived>(b =>
        {
            Heard();
            Reject(ErrorCodes.BinaryNotSupported, $"binary frames are not supported ({b.Length} bytes ignored); send JSON text");
        });
        Receive<SocketEvents.MessageTooLarge>(m =>
        {
            Heard();
            Reject(ErrorCodes.MessageTooLarge, $"message longer than {m.Limit} bytes ignored");
        });
        Receive<HeartbeatCheck>(_ => CheckHeartbeat());
        Receive<CloseWith>(close =>
        {
            _log.Debug("Connection {0} closed by the server: {1} {2}", ClientId, close.Code, close.Reason);
            _socket.Close(close.Code, close.Reason);
            Context.Stop(Self);
        });
        Receive<SocketEvents.OutboundOverflow>(_ =>
        {
            _log.Warning("Connection {0} reads too slowly: its outbound queue is full; closing it", ClientId);
            _socket.Close(CloseCodes.TryAgainLater, "client too slow: outbound queue full");
            Context.Stop(Self);
        });
        Receive<SocketEvents.Closed>(c =>
        {
            _log.Debug("Connection {0} closed: {1}", ClientId, c.Reason);
            Context.Stop(Self);
        });
    }

    private void Handle(ClientCommand command)
    {
        switch (command)
        {
            case ClientCommand.Ping:
                _socket.TrySend(ServerMessages.Pong(Now));
                break;
            case ClientCommand.Subscribe s:
                ChangeTopics(_topics.Union(s.Topics), subscribed: true, s.Topics);
                break;
            case ClientCommand.Unsubscribe u:
                ChangeTopics(_topics.Except(u.Topics), subscribed: false, u.Topics);
                break;
            case ClientCommand.Invalid bad:
                Reject(bad.Code, bad.Message);
                break;
        }
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
        _log.Info("Connection {0} sent bad input ({1}): {2}", ClientId, code, message);
        _socket.TrySend(ServerMessages.Error(code, message, Now));
    }

    private void Heard() => _lastHeard = Now;

    private void CheckHeartbeat()
    {
        var silence = Now - _lastHeard;
        if (silence <= _settings.HeartbeatTimeout) return;
        _log.Info("Connection {0} silent for {1:0.0} s (timeout {2:0.0} s); ending it",
            ClientId, silence.TotalSeconds, _settings.HeartbeatTimeout.TotalSeconds);
        _metrics?.CountHeartbeatTermination();
        _socket.Abort();
        Context.Stop(Self);
    }
}
