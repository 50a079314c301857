namespace Traffic.Actors.Protocol;

/// <summary>
/// One server-to-client message, encoded to UTF-8 JSON exactly once and shared by every
/// connection it is delivered to. Immutable: the same instance sits in many outbound queues.
/// </summary>
public sealed class ServerFrame
{
    public ServerFrame(ServerMessageType type, Topic? topic, byte[] utf8Json)
    {
        Type = type;
        Topic = topic;
        Utf8Json = utf8Json;
        ConflationTopic = type == ServerMessageType.Update ? topic : null;
    }

    public ServerMessageType Type { get; }

    /// <summary>The topic of an UPDATE or ALERT; null for everything else.</summary>
    public Topic? Topic { get; }

    public byte[] Utf8Json { get; }

    /// <summary>
    /// The topic whose whole state this frame carries (an UPDATE of one topic), so that a newer one
    /// may replace it in a slow client's queue; null for frames that are never conflated (ALERTs,
    /// UPDATEs to all, SNAPSHOT, acks, PONG, ERROR). Decided once, where the frame is made.
    /// </summary>
    public Topic? ConflationTopic { get; }

    public override string ToString() => System.Text.Encoding.UTF8.GetString(Utf8Json);
}

public enum ServerMessageType
{
    Connection,
    Snapshot,
    Update,
    Alert,
    Pong,
    Subscribed,
    Unsubscribed,
    Error,
}
