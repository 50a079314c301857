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

    /// <summary>The registry's actor name, under /user (other nodes find it by this name).</summary>
    public const string Name = "topic-registry";

    public TopicRegistryActor(TrafficMetrics? metrics = null)
    {
        _metrics = metrics;
        Receive<RegistryCommands.PublishToTopic>(p => Counted(p.Topic, _byTopic[(int)p.Topic].Count, Deliver(_byTopic[(int)p.Topic], p.Frame)));
        Receive<RegistryCommands.PublishToAll>(p => Counted(null, _connections.Count, Deliver(_connections.Values, p.Frame)));
        Receive<RegistryCommands.SetSubscriptions>(Set);
        Receive<Terminated>(t => Forget(t.ActorRef));
        Receive<RegistryCommands.GetStats>(_ => Sender.Tell(CurrentStats()));
    }

    public static Props Props(TrafficMetrics? metrics = null) => Akka.Actor.Props.Create(() => new TopicRegistryActor(metrics));

    /// <summary>
    /// A failure restarts the registry empty (the guardian's default). Its connections would then
    /// silently receive nothing more, so every one of them is told to close with 1012 (service
    /// restart: reconnect); reconnecting, each registers with the new instance and gets a fresh SNAPSHOT.
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        _log.Error(reason, "Topic registry failed on {0}; closing its {1} connections with 1012 so that they reconnect",
            message?.GetType().Name ?? "(none)", _connections.Count);
        foreach (var connection in _connections.Keys)
            connection.Tell(new ConnectionCommands.CloseWith(CloseCodes.ServiceRestart, "service restart: reconnect"));
        base.PreRestart(reason, message);
    }

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

        // A refused follow-up (SNAPSHOT, ack) closes the connection like any refused frame; it is no publish's drop.
        if (command.ThenSend is { } frame) Send(subscriber, frame);
    }

    /// <returns>How many subscribers refused the frame (full queues).</returns>
    private int Deliver(HashSet<Subscriber> subscribers, ServerFrame frame)
    {
        var refused = 0;
        foreach (var subscriber in subscribers)
            if (!Send(subscriber, frame)) refused++;
        return refused;
    }

    private int Deliver(Dictionary<IActorRef, Subscriber>.ValueCollection subscribers, ServerFrame frame)
    {
        var refused = 0;
        foreach (var subscriber in subscribers)
            if (!Send(subscriber, frame)) refused++;
        return refused;
    }

    private static bool Send(Subscriber subscriber, ServerFrame frame)
    {
        if (subscriber.Socket.TrySend(frame)) return true;
        if (subscriber.Overflowed) return false;
        // Tell the connection once; it closes the socket and its Terminated removes it here.
        subscriber.Overflowed = true;
        subscriber.Connection.Tell(SocketEvents.OutboundOverflow.Instance);
        return false;
    }

    private void Counted(Topic? topic, int offered, int refused) =>
        _metrics?.CountFanOut(topic, delivered: offered - refused, refused: refused);

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
