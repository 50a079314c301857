namespace Traffic.Actors.Routing;

/// <summary>
/// How much of each stream a node keeps in memory for clients that resume: at most <paramref name="Size"/>
/// messages (HISTORY_SIZE) of at most <paramref name="Bytes"/> bytes in all (HISTORY_BYTES), none older
/// than <paramref name="TimeToLive"/> (HISTORY_TTL_MS; with persistence, also how long the journal keeps them).
/// </summary>
public sealed record HistorySettings(int Size, TimeSpan TimeToLive, long Bytes = HistorySettings.DefaultBytes)
{
    /// <summary>8 MiB per stream (56 MiB for the seven at most): 10 000 ALERTs of 800 bytes, or 32 of 256 KB.</summary>
    public const long DefaultBytes = 8L * 1024 * 1024;

    /// <summary>
    /// 10 000 messages, 10 minutes: a control room's blink, a laptop's sleep, a node's fail-over, a
    /// restart (50 ALERTs/s for 3 minutes). The bytes bound, not the count, is what caps the memory.
    /// </summary>
    public static readonly HistorySettings Default = new(10_000, TimeSpan.FromMinutes(10));
}
