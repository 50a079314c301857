namespace Traffic.Actors.Protocol;

/// <summary>
/// What a resume did for one stream: <see cref="Recovered"/> (its missed messages, offsets
/// <see cref="Replayed"/>, follow; none when nothing was missed) or not, with the
/// <see cref="Reason"/> (<see cref="TooOld"/>, <see cref="EpochChanged"/>, <see cref="NoHistory"/>),
/// and where the stream stands (<see cref="Head"/>).
/// </summary>
public sealed record ResumeOutcome(int Stream, bool Recovered, string? Reason, StreamPosition? Head, (long From, long To)? Replayed)
{
    /// <summary>The position is older than the history this node keeps (HISTORY_SIZE, HISTORY_TTL_MS).</summary>
    public const string TooOld = "too_old";

    /// <summary>The position is of another epoch: the stream's history was lost (a cold start) since.</summary>
    public const string EpochChanged = "epoch_changed";

    /// <summary>This node has heard nothing of the stream yet (it has just started): reconnecting a moment later may recover.</summary>
    public const string NoHistory = "no_history";

    /// <summary>
    /// Not an answer to a resume: this node found it missed messages of the stream (a message between
    /// nodes lost), and tells its live subscribers of the stream at once, before the next message.
    /// </summary>
    public const string Gap = "gap";
}

/// <summary>What changed in a topic's list between two UPDATEs, for a delta UPDATE.</summary>
public sealed record EntityChanges(long BaseOffset, IReadOnlyList<EntityJson> Upserted, IReadOnlyList<string> RemovedIds);
