namespace Traffic.Actors.Connections;

/// <summary>Per-connection settings, bound once from configuration.</summary>
/// <param name="HeartbeatInterval">How often the server pings, and how often silence is checked.</param>
/// <param name="HeartbeatTimeout">A connection silent for longer than this is ended.</param>
public sealed record ConnectionSettings(TimeSpan HeartbeatInterval, TimeSpan HeartbeatTimeout)
{
    public static ConnectionSettings Default { get; } = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));

    /// <summary>Client messages a second a connection may send on average (CLIENT_MESSAGES_PER_SECOND).</summary>
    public int MessagesPerSecond { get; init; } = 50;

    /// <summary>Client messages a connection may send at once above the average (CLIENT_MESSAGE_BURST).</summary>
    public int MessageBurst { get; init; } = 100;
}
