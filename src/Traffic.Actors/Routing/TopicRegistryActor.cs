using Akka.Actor;
using Akka.Event;
using Traffic.Actors.Connections;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>
/// Knows who listens to what, and fans a published frame out to exactly those sockets.
/// The hot path: one message into this mailbox per publish, then a non-blocking enqueue per
/// subscriber straight into its socket's bounded queue (no mailbox hop per subscriber, no
/// re-encoding: every subscriber gets the same bytes). It also keeps the metrics of what it knows
/// first-hand: subscribers per topic, frames delivered and frames refused by a full queue, each
/// counted once per publish.
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
    private readonly TrafficMetrics? _metrics;
    private int _refused; // frames refused during the fan-out in progress

    public TopicRegistryActor(TrafficMetrics? metrics = null)
    {
        _metrics = metrics;
        Receive<RegistryCommands.PublishToTopic>(p => Counted(p.Topic, Deliver(_byTopic[(int)p.Topic], p.Frame)));
        Receive<RegistryCommands.PublishToAll>(p => Counted(null, Deliver(_connections.Values, p.Frame)));
        Receive<RegistryCommands.SetSubscriptions>(Set);
        Receive<Terminated>(t => Forget(t.ActorRef));
        Receive<RegistryCommands.GetStats>(_ => Sender.Tell(CurrentStats()));
    }

    public static Props Props(TrafficMetrics? metrics = null) => Akka.Actor.Props.Create(() => new TopicRegistryActor(metrics));

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
        _metrics?.SubscriptionsChanged(subscriber.Topics, command.Topics);
        subscriber.Topics = command.Topics;

        if (command.ThenSend is { } frame) Send(subscriber, frame);
    }

    /// <returns>How many subscribers the frame was offered to.</returns>
    private int Deliver(HashSet<Subscriber> subscribers, ServerFrame frame)
    {
        foreach (var subscriber in subscribers) Send(subscriber, frame);
        return subscribers.Count;
    }

    private int Deliver(Dictionary<IActorRef, Subscriber>.ValueCollection subscribers, ServerFrame frame)
    {
        foreach (var subscriber in subscribers) Send(subscriber, frame);
        return subscribers.Count;
    }

    private void Send(Subscriber subscriber, ServerFrame frame)
    {
        if (subscriber.Socket.TrySend(frame)) return;
        _refused++;
        if (subscriber.Overflowed) return;
        // Tell the connection once; it closes the socket and its Terminated removes it here.
        subscriber.Overflowed = true;
        subscriber.Connection.Tell(SocketEvents.OutboundOverflow.Instance);
    }

    private void Counted(Topic? topic, int offered)
    {
        _metrics?.CountFanOut(topic, delivered: offered - _refused, refused: _refused);
        _refused = 0;
    }

    private void Forget(IActorRef connection)
    {
        if (!_connections.Remove(connection, out var subscriber)) return;
        foreach (var set in _byTopic) set.Remove(subscriber);
        _metrics?.SubscriptionsChanged(subscriber.Topics, TopicSet.None);
        _log.Debug("Forgot connection {0}", connection.Path.Name);
    }

    private RegistryCommands.Stats CurrentStats() =>
        new(_connections.Count, Topics.Every.ToDictionary(t => t, t => _byTopic[(int)t].Count));
}
