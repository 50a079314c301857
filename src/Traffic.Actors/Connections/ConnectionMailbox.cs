using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Dispatch.MessageQueues;

namespace Traffic.Actors.Connections;

/// <summary>
/// The mailbox of a <see cref="ConnectionActor"/>: the default one's <c>ConcurrentQueue</c> allocates a
/// first segment of 32 slots (about 1 KB) for every actor, and an idle connection gets a message every
/// few seconds at most. This one holds no array until the first message, then 4 slots, doubling as
/// needed (a connection's inbound messages are bounded by its rate limit). One lock per message; its
/// writers (the socket's receive loop, the scheduler, the registry) seldom meet.
/// </summary>
public sealed class ConnectionMailbox(Settings settings, Config config) : MailboxType(settings, config), IProducesMessageQueue<ConnectionMessageQueue>
{
    /// <summary>Where the mailbox is configured (<see cref="Hocon"/>), for <c>Props.WithMailbox</c>.</summary>
    public const string Id = "traffic-connection-mailbox";

    /// <summary>The configuration that makes <see cref="Id"/> this mailbox.</summary>
    public static readonly string Hocon = $"{Id}.mailbox-type = \"{typeof(ConnectionMailbox).FullName}, {typeof(ConnectionMailbox).Assembly.GetName().Name}\"";

    public override IMessageQueue Create(IActorRef owner, ActorSystem system) => new ConnectionMessageQueue();
}

/// <summary>An unbounded FIFO message queue behind a lock, with no storage until it is first used.</summary>
public sealed class ConnectionMessageQueue : IMessageQueue, IUnboundedMessageQueueSemantics
{
    private readonly Queue<Envelope> _queue = new(); // no array until the first Enqueue
    private volatile int _count; // read without the lock: the dispatcher asks HasMessages after every run

    public bool HasMessages => _count > 0;

    public int Count => _count;

    public void Enqueue(IActorRef receiver, Envelope envelope)
    {
        lock (_queue)
        {
            _queue.Enqueue(envelope);
            _count = _queue.Count;
        }
    }

    public bool TryDequeue(out Envelope envelope)
    {
        lock (_queue)
        {
            if (!_queue.TryDequeue(out envelope)) return false;
            _count = _queue.Count;
            return true;
        }
    }

    public void CleanUp(IActorRef owner, IMessageQueue deadletters)
    {
        while (TryDequeue(out var envelope)) deadletters.Enqueue(owner, envelope);
    }
}
