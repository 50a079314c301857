namespace Traffic.Actors.Connections;

/// <summary>What a socket tells its <see cref="ConnectionActor"/>.</summary>
public static class SocketEvents
{
    public interface ISocketEvent;

    /// <summary>A complete text message from the client (UTF-8).</summary>
    public sealed record TextReceived(byte[] Utf8) : ISocketEvent;

    /// <summary>A complete binary message; the protocol is text only.</summary>
    public sealed record BinaryReceived(int Length) : ISocketEvent;

    /// <summary>A message longer than the configured limit; it was discarded.</summary>
    public sealed record MessageTooLarge(int Limit) : ISocketEvent;

    /// <summary>The peer sent something (a pong, any frame): it is alive. Sent at most about once a second.</summary>
    public sealed record PeerActive : ISocketEvent
    {
        public static readonly PeerActive Instance = new();
    }

    /// <summary>
    /// The socket is closed (by the peer, a network error, or us); the actor should stop. Often the
    /// actor has stopped already (it aborted the socket itself): expected, so never a dead letter.
    /// </summary>
    public sealed record Closed(string Reason) : ISocketEvent, Akka.Event.IDeadLetterSuppression;

    /// <summary>The outbound queue overflowed: the client reads slower than it is sent to.</summary>
    public sealed record OutboundOverflow : ISocketEvent
    {
        public static readonly OutboundOverflow Instance = new();
    }
}
