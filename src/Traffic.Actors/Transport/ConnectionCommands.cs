namespace Traffic.Actors.Transport;

/// <summary>Messages of <see cref="ConnectionActor"/> from the server's side (what its socket tells it is in <see cref="SocketEvents"/>).</summary>
public static class ConnectionCommands
{
    /// <summary>Closes the socket with this code and reason (after what is queued), and stops once the socket is closed.</summary>
    public sealed record CloseWith(int Code, string Reason);
}
