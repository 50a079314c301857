using Akka;
using Akka.Actor;
using Akka.Event;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Actors.Transport;

namespace Traffic.Actors.Connections;

/// <summary>
/// Parent of every <see cref="ConnectionActor"/>. A failing connection is stopped, never restarted
/// (a restart would lose its subscriptions while its socket stayed open). Names each connection
/// with a client id unique across the cluster: <c>client-{node tag}-{n}</c>, the tag drawn at
/// random when the hub starts.
/// </summary>
public sealed class ConnectionHubActor : ReceiveActor, IWithTimers
{
    private sealed record CloseAllTimedOut
    {
        public static readonly CloseAllTimedOut Instance = new();
    }

    /// <summary>How long <see cref="ConnectionHubCommands.CloseAll"/> waits for the sockets before answering anyway (under the 5 s a leaving cluster node gives it).</summary>
    public static readonly TimeSpan DefaultCloseAllBound = TimeSpan.FromSeconds(4);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _registry;
    private readonly List<IActorRef> _waiting = [];
    private long _nextId;
    private ConnectionHubCommands.CloseAll? _closing;
    private bool _boundPassed;

    /// <param name="nodeTag">Makes client ids unique across nodes; random when not given.</param>
    /// <param name="closeAllBound">See <see cref="DefaultCloseAllBound"/>.</param>
    public ConnectionHubActor(IActorRef registry, IActorRef snapshotSource, ConnectionSettings settings, TrafficMetrics? metrics = null,
        string? nodeTag = null, TimeSpan? closeAllBound = null)
    {
        _registry = registry;
        var tag = nodeTag ?? NewNodeTag();
        // The light mailbox where the system has it (AddConnectionHub configures it); the default one otherwise.
        var lightMailbox = Context.System.Settings.Config.HasPath(ConnectionMailbox.Id);
        Receive<ConnectionHubCommands.Accept>(accept =>
        {
            var props = ConnectionActor.Props(accept.Socket, registry, snapshotSource, settings, accept.Topics, metrics, accept.Since);
            var connection = Context.ActorOf(lightMailbox ? props.WithMailbox(ConnectionMailbox.Id) : props, $"client-{tag}-{++_nextId}");
            Context.Watch(connection);
            if (_closing is { } closing) connection.Tell(new ConnectionCommands.CloseWith(closing.Code, closing.Reason));
        });
        Receive<ConnectionHubCommands.CloseAll>(close =>
        {
            // Connections still arriving while the server stops are closed the same way.
            if (_closing is null)
            {
                _closing = close;
                foreach (var child in Context.GetChildren()) child.Tell(new ConnectionCommands.CloseWith(close.Code, close.Reason));
                Timers.StartSingleTimer(nameof(CloseAllTimedOut), CloseAllTimedOut.Instance, closeAllBound ?? DefaultCloseAllBound);
            }
            if (!Sender.IsNobody()) _waiting.Add(Sender);
            AnswerWhenAllClosed();
        });
        // A registry that stops takes every subscription with it: its connections would silently get
        // nothing more. One watch here for all of them (a watch per connection costs each a dictionary).
        Receive<Terminated>(t => t.ActorRef.Equals(registry), _ =>
        {
            foreach (var child in Context.GetChildren()) child.Tell(new ConnectionCommands.CloseWith(CloseCodes.ServiceRestart, "service restart: reconnect"));
        });
        Receive<Terminated>(_ => AnswerWhenAllClosed());
        Receive<CloseAllTimedOut>(_ =>
        {
            var open = Context.GetChildren().Count();
            if (open > 0) _log.Warning("{0} connections had not closed within the shutdown bound; not waiting for them", open);
            _boundPassed = true;
            Answer();
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => Context.Watch(_registry);

    public static Props Props(IActorRef registry, IActorRef snapshotSource, ConnectionSettings settings, TrafficMetrics? metrics = null,
        string? nodeTag = null, TimeSpan? closeAllBound = null) =>
        Akka.Actor.Props.Create(() => new ConnectionHubActor(registry, snapshotSource, settings, metrics, nodeTag, closeAllBound));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    private void AnswerWhenAllClosed()
    {
        if (_closing is not null && (_boundPassed || !Context.GetChildren().Any())) Answer();
    }

    private void Answer()
    {
        foreach (var waiter in _waiting) waiter.Tell(Done.Instance);
        _waiting.Clear();
    }

    /// <summary>Six base-36 characters: two billion values, so nodes of one cluster practically never share one.</summary>
    private static string NewNodeTag() => RandomId.Base36(6);
}
