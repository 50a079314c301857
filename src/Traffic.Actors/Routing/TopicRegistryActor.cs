using Akka.Actor;
using Akka.Event;
using Traffic.Actors.Connections;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>
/// Knows who listens to what, and fans a published frame out to exactly those sockets.
/// The hot path: one message into this mailbox per publish, then a non-blocking enqueue per
/// subscriber straight into its socket's bounded queue (no mailbox hop per subscriber, no
/// re-encoding: every subscriber gets the same bytes).
/// </summary>
public sealed class TopicRegistryActor : ReceiveActor
{
    private sealed class Subscriber(IActorRef connection, IClientSocket socket)
    {
        public readonly IActorRef Connection = connection;
        public readonly IClientSocket Socket = socket;
        public TopicSet Topics = TopicSet.None;
        public bool Overflowed;
    }

    private readonly Dictionary<IActorRef, Subscriber> _connections = new();
    private readonly HashSet<Subscriber>[] _byTopic = Topics.Every.Select(_ => new HashSet<Subscriber>()).ToArray();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public TopicRegistryActor()
    {
        Receive<RegistryCommands.PublishToTopic>(p => Deliver(_byTopic[(int)p.Topic], p.Frame));
        Receive<RegistryCommands.PublishToAll>(p => Deliver(_connections.Values, p.Frame));
        Receive<RegistryCommands.SetSubscriptions>(Set);
        Receive<Terminated>(t => Forget(t.ActorRef));
        Receive<RegistryCommands.GetStats>(_ => Sender.Tell(CurrentStats()));
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new TopicRegistryActor());

    private void Set(RegistryCommands.SetSubscriptions command)
    {
        if (!_connections.TryGetValue(command.Connection, out var subscriber))
        {
            subscriber = new Subscriber(command.Connection, command.Socket);
            _connections.Add(command.Connection, subscriber);
            Context.Watch(command.Connection);
        }

        foreach (var topic in Topics.Every)
        {
            if (command.Topics.Contains(topic)) _byTopic[(int)topic].Add(subscriber);
            else _byTopic[(int)topic].Remove(subscriber);
        }
        subscriber.Topics = command.Topics;

        if (command.ThenSend is { } frame) Send(subscriber, frame);
    }

    private void Deliver(HashSet<Subscriber> subscribers, ServerFrame frame)
    {
        foreach (var subscriber in subscribers) Send(subscriber, frame);
    }

    private void Deliver(Dictionary<IActorRef, Subscriber>.ValueCollection subscribers, ServerFrame frame)
    {
        foreach (var subscriber in subscribers) Send(subscriber, frame);
    }

    private static void Send(Subscriber subscriber, ServerFrame frame)
    {
        if (subscriber.Socket.TrySend(frame) || subscriber.Overflowed) return;
        // Tell the connection once; it closes the socket and its Terminated removes it here.
        subscriber.Overflowed = true;
        subscriber.Connection.Tell(SocketEvents.OutboundOverflow.Instance);
    }

    private void Forget(IActorRef connection)
    {
        if (!_connections.Remove(connection, out var subscriber)) return;
        foreach (var set in _byTopic) set.Remove(subscriber);
        _log.Debug("Forgot connection {0}", connection.Path.Name);
    }

    private RegistryCommands.Stats CurrentStats() =>
        new(_connections.Count, Topics.Every.ToDictionary(t => t, t => _byTopic[(int)t].Count));
}
