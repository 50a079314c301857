namespace Traffic.Actors.Routing;

/// <summary>
/// How much of each stream a node keeps for clients that resume: at most <paramref name="Size"/>
/// messages (HISTORY_SIZE), none older than <paramref name="TimeToLive"/> (HISTORY_TTL_MS).
/// </summary>
public sealed record HistorySettings(int Size, TimeSpan TimeToLive)
{
    /// <summary>1 000 messages, 10 minutes: a control room's blink, a laptop's sleep, a node's fail-over.</summary>
    public static readonly HistorySettings Default = new(1000, TimeSpan.FromMinutes(10));
}
