namespace Traffic.Actors.Protocol;

/// <summary>
/// The numbered streams of messages: one per topic, and one more for what is published to every
/// client (<see cref="All"/>, named "all"). Each UPDATE and ALERT has a position on exactly one of
/// them (see <see cref="StreamPosition"/>). A stream is an index: the topic's own number, or <see cref="All"/>.
/// </summary>
public static class Streams
{
    /// <summary>The stream of messages published to everyone (topic `all`, or no topic).</summary>
    public const int All = 6;

    public const int Count = 7;

    public static int Of(Topic? topic) => topic is { } t ? (int)t : All;

    public static string Name(int stream) => stream == All ? Topics.AllName : ((Topic)stream).WireName();

    public static bool TryParse(string? name, out int stream)
    {
        if (name == Topics.AllName) { stream = All; return true; }
        var ok = Topics.TryParse(name, out var topic);
        stream = ok ? (int)topic : -1;
        return ok;
    }

    /// <summary>Whether a client subscribed to <paramref name="topics"/> gets the messages of <paramref name="stream"/> (everyone gets "all").</summary>
    public static bool IsReceivedWith(int stream, TopicSet topics) => stream == All || topics.Contains((Topic)stream);
}

/// <summary>
/// Where a message stands on its stream: the stream's <paramref name="Epoch"/> (changes only when
/// the stream's history was lost) and its <paramref name="Offset"/> (+1 per message published on
/// the stream; 0 = nothing published yet in this epoch).
/// </summary>
public readonly record struct StreamPosition(string Epoch, long Offset)
{
    /// <summary>The longest epoch a client may name; epochs are [0-9a-z] only.</summary>
    public const int MaxEpochLength = 32;

    /// <summary>A new epoch: 8 random base-36 characters.</summary>
    public static string NewEpoch() => RandomId.Base36(8);

    public static bool IsValidEpoch(string? epoch) =>
        epoch is { Length: > 0 and <= MaxEpochLength } && epoch.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'z');

    public override string ToString() => $"{Epoch}:{Offset}";
}
