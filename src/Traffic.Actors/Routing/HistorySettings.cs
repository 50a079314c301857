namespace Traffic.Actors.Routing;

/// <summary>
/// How much of each stream a node keeps in memory for clients that resume: at most <paramref name="Size"/>
/// messages (HISTORY_SIZE) of at most <paramref name="Bytes"/> bytes in all (HISTORY_BYTES), none older
/// than <paramref name="TimeToLive"/> (HISTORY_TTL_MS; with persistence, also how long the journal keeps them).
/// </summary>
public sealed record HistorySettings(int Size, TimeSpan TimeToLive, long Bytes = HistorySettings.DefaultBytes)
{
    /// <summary>16 MiB per stream: 1 000 ALERTs of 16 KB, or 64 of 256 KB.</summary>
    public const long DefaultBytes = 16L * 1024 * 1024;

    /// <summary>1 000 messages, 10 minutes: a control room's blink, a laptop's sleep, a node's fail-over.</summary>
    public static readonly HistorySettings Default = new(1000, TimeSpan.FromMinutes(10));
}
