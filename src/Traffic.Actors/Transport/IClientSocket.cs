using Akka.Actor;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Transport;

/// <summary>
/// One client's socket as the actors see it. The host adapts a WebSocket to it; tests use a probe.
/// Every member is safe to call from any thread and never blocks.
/// </summary>
public interface IClientSocket
{
    /// <summary>Where the client connects from (address:port), for the logs.</summary>
    string RemoteAddress { get; }

    /// <summary>Starts reading; everything the client sends reaches <paramref name="connection"/> as <see cref="SocketEvents"/>.</summary>
    void Start(IActorRef connection);

    /// <summary>
    /// Queues a frame for sending. False only when the bounded outbound queue is full, in frames or
    /// in bytes (a slow consumer); a socket that is closing takes the frame and drops it.
    /// </summary>
    bool TrySend(ServerFrame frame);

    /// <summary>
    /// Queues a frame like <see cref="TrySend"/> but leaves starting the send to the caller: on
    /// <see cref="Offered.QueuedWake"/> the socket waits, and the caller must call <see cref="Wake"/>
    /// (once, soon). A publisher that fans out several frames in a row wakes each socket once, after
    /// the last, so that they leave in one write (the registry does; see its WakeWriters).
    /// </summary>
    Offered Offer(ServerFrame frame) => TrySend(frame) ? Offered.Queued : Offered.Refused;

    /// <summary>Starts sending what <see cref="Offer"/> queued (after <see cref="Offered.QueuedWake"/>).</summary>
    void Wake() { }

    /// <summary>
    /// Sends a protocol PING (the keep-alive: the connection's heartbeat asks for it while the client is
    /// quiet). A socket whose runtime sends its own keep-alive PINGs does nothing.
    /// </summary>
    void Ping() { }

    /// <summary>Sends what is queued, then a close frame with this status and reason; idempotent.</summary>
    void Close(int status, string reason);

    /// <summary>Drops the connection at once, without a close handshake (the peer is gone).</summary>
    void Abort();

    /// <summary>
    /// From now on, send an UPDATE as its delta (<see cref="ServerFrame.Delta"/>) whenever the last
    /// UPDATE of its topic sent on this socket is the delta's base; otherwise the whole list.
    /// </summary>
    void UseDeltas() { }
}

/// <summary>What <see cref="IClientSocket.Offer"/> did with a frame.</summary>
public enum Offered
{
    /// <summary>Not taken: the bounded outbound queue is full (see <see cref="IClientSocket.TrySend"/>).</summary>
    Refused,
    /// <summary>Queued; a send is already under way or due, nothing to do.</summary>
    Queued,
    /// <summary>Queued on an idle socket: the caller must <see cref="IClientSocket.Wake"/> it.</summary>
    QueuedWake,
}

/// <summary>WebSocket close codes the service uses (RFC 6455 section 7.4).</summary>
public static class CloseCodes
{
    public const int Normal = 1000;
    public const int GoingAway = 1001;
    public const int PolicyViolation = 1008;
    public const int MessageTooBig = 1009;
    public const int ServiceRestart = 1012;
    public const int TryAgainLater = 1013;
}
