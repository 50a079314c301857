using Akka.Actor;
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

    /// <summary>The service is shutting down: stop every connection, so each closes its socket with 1001.</summary>
    public sealed record CloseAll
    {
        public static readonly CloseAll Instance = new();
    }

    private long _nextId;

    public ConnectionHubActor(IActorRef registry, IActorRef aggregator, ConnectionSettings settings)
    {
        Receive<Accept>(accept =>
            Context.ActorOf(ConnectionActor.Props(accept.Socket, registry, aggregator, settings, accept.Topics),
                $"client-{++_nextId}"));
        Receive<CloseAll>(_ =>
        {
            foreach (var child in Context.GetChildren()) Context.Stop(child);
        });
    }

    public static Props Props(IActorRef registry, IActorRef aggregator, ConnectionSettings settings) =>
        Akka.Actor.Props.Create(() => new ConnectionHubActor(registry, aggregator, settings));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);
}
