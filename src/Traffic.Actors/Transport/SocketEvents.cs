namespace Traffic.Actors.Transport;

/// <summary>What a socket tells its <see cref="ConnectionActor"/>.</summary>
public static class SocketEvents
{
    /// <summary>A complete text message from the client (UTF-8).</summary>
    public sealed record TextReceived(byte[] Utf8);

    /// <summary>A complete binary message; the protocol is text only.</summary>
    public sealed record BinaryReceived(int Length);

    /// <summary>The peer sent something (a pong, any frame): it is alive. Sent at most about once a second.</summary>
    public sealed record PeerActive
    {
        public static readonly PeerActive Instance = new();
    }

    /// <summary>
    /// The socket is closed (by the peer, a network error, or us); the actor should stop. Often the
    /// actor has stopped already (it aborted the socket itself): expected, so never a dead letter.
    /// <paramref name="Fault"/>: an unexpected exception (a bug, not a peer going away) that ended it.
    /// </summary>
    public sealed record Closed(string Reason, Exception? Fault = null) : Akka.Event.IDeadLetterSuppression;

    /// <summary>The outbound queue overflowed: the client reads slower than it is sent to.</summary>
    public sealed record OutboundOverflow
    {
        public static readonly OutboundOverflow Instance = new();
    }
}
