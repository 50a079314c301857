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

    /// <summary>A numbered UPDATE or ALERT (see <see cref="Sequence"/>).</summary>
    public ServerFrame(ServerMessageType type, Topic? topic, byte[] utf8Json, FrameSequence sequence, FrameDelta? delta = null)
        : this(type, topic, utf8Json)
    {
        Sequence = sequence;
        Delta = delta;
    }

    /// <summary>
    /// Where a published UPDATE or ALERT stands on its stream (<see cref="Streams.Of"/> its topic),
    /// as numbered by the sequencer; null for frames that are not published (SNAPSHOT, acks, ...).
    /// </summary>
    public FrameSequence? Sequence { get; }

    /// <summary>
    /// The same UPDATE as only what changed since the previous UPDATE of its topic, for clients that
    /// asked for deltas; null when there is none (no previous UPDATE, an UPDATE posted as raw data).
    /// </summary>
    public FrameDelta? Delta { get; }

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

    // permessage-deflate forms of Utf8Json and of Delta's bytes, made at most once (see Deflated).
    private byte[]? _deflated, _deflatedDelta;
    private object? _deflateLock;

    /// <summary>
    /// The frame's bytes (or its <see cref="Delta"/>'s) as compressed by <paramref name="deflate"/>,
    /// made by the first caller and then shared: every socket that negotiated compression sends the
    /// same bytes, so a publish costs one compression however many subscribers it reaches.
    /// </summary>
    public byte[] Deflated(bool delta, Func<byte[], byte[]> deflate)
    {
        var cached = Volatile.Read(ref delta ? ref _deflatedDelta : ref _deflated);
        if (cached is not null) return cached;
        // A lock, not a compare-and-swap: two drains on two cores must not both compress the same frame.
        // A private one (made only for frames that are compressed): a frame sits in many queues, anyone could lock it.
        lock (LazyInitializer.EnsureInitialized(ref _deflateLock, static () => new object()))
        {
            ref var slot = ref delta ? ref _deflatedDelta : ref _deflated;
            if (slot is null)
                Volatile.Write(ref slot, deflate(delta ? Delta!.Utf8Json : Utf8Json));
            return slot!;
        }
    }

    public override string ToString() => System.Text.Encoding.UTF8.GetString(Utf8Json);
}

/// <summary>
/// A published frame's position (<see cref="Epoch"/>, <see cref="Offset"/>, on the wire) and
/// <see cref="PreviousOffset"/>: the offset the sequencer numbered before it on the same stream
/// (<c>Offset - 1</c>, except for the first message of a sequencer that took over, which jumps).
/// A node's history uses it to tell a jump (nothing was missed) from messages it never received.
/// </summary>
public sealed record FrameSequence(string Epoch, long Offset, long PreviousOffset)
{
    public StreamPosition Position => new(Epoch, Offset);
}

/// <summary>A delta UPDATE's bytes, valid for a client whose last UPDATE of the topic had offset <paramref name="BaseOffset"/>.</summary>
public sealed record FrameDelta(long BaseOffset, byte[] Utf8Json);

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
    Resumed,
}
