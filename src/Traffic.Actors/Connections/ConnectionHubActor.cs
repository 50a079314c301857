using Akka;
using Akka.Actor;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Connections;

/// <summary>
/// Parent of every <see cref="ConnectionActor"/>. A failing connection is stopped, never restarted
/// (a restart would lose its subscriptions while its socket stayed open).
/// </summary>
public sealed class ConnectionHubActor : ReceiveActor
{
    /// <summary>A new socket to serve, subscribed to <paramref name="Topics"/> to begin with.</summary>
    public sealed record Accept(IClientSocket Socket, TopicSet Topics);

    /// <summary>
    /// The service is shutting down: close every connection, and every one that still arrives, with
    /// this code. <see cref="Instance"/> (a single node) is 1001; a cluster node that leaves uses
    /// 1012 (service restart: reconnect, another node serves you). Answered with <see cref="Done"/>.
    /// </summary>
    public sealed record CloseAll(int Code, string Reason)
    {
        public static readonly CloseAll Instance = new(CloseCodes.GoingAway, "server shutting down");
    }

    private long _nextId;
    private CloseAll? _closing;

    public ConnectionHubActor(IActorRef registry, IActorRef snapshotSource, ConnectionSettings settings, TrafficMetrics? metrics = null)
    {
        Receive<Accept>(accept =>
        {
            var connection = Context.ActorOf(ConnectionActor.Props(accept.Socket, registry, snapshotSource, settings, accept.Topics, metrics),
                $"client-{++_nextId}");
            if (_closing is { } closing) connection.Tell(new ConnectionActor.CloseWith(closing.Code, closing.Reason));
        });
        Receive<CloseAll>(close =>
        {
            // Connections still arriving while the server stops are closed the same way.
            _closing = close;
            foreach (var child in Context.GetChildren()) child.Tell(new ConnectionActor.CloseWith(close.Code, close.Reason));
            if (!Sender.IsNobody()) Sender.Tell(Done.Instance);
        });
    }

    public static Props Props(IActorRef registry, IActorRef snapshotSource, ConnectionSettings settings, TrafficMetrics? metrics = null) =>
        Akka.Actor.Props.Create(() => new ConnectionHubActor(registry, snapshotSource, settings, metrics));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);
}
