namespace Traffic.Actors.Aggregation;

/// <summary>
/// How much city state the aggregator holds (docs/operations.md, "Limits and admission"): entities per
/// topic (<c>MAX_ENTITIES_PER_TOPIC</c>) and bytes over every topic (<c>MAX_STATE_BYTES</c>). The
/// whole state travels in one message (a new node's replica, a SNAPSHOT frame) and a topic's list in
/// one UPDATE: in a cluster each must stay under Akka.Remote's 4 MiB frame, or the replicas would
/// silently stop following. So the bytes bound's ceiling is 3 MiB, leaving room for the framing
/// (<see cref="StateBudget.SizeOf"/> counts a little per entity for it) and the envelope.
/// </summary>
public sealed record StateLimits(int MaxEntitiesPerTopic, long MaxStateBytes)
{
    /// <summary>The ceiling of <see cref="MaxStateBytes"/>: Akka.Remote's maximum frame (4 MiB, hocon/cluster.hocon) less 1 MiB.</summary>
    public const long MaxStateBytesCeiling = 3L * 1024 * 1024;

    /// <summary>10 000 entities a topic (a city's cameras, its stations) and the whole 3 MiB.</summary>
    public static readonly StateLimits Default = new(10_000, MaxStateBytesCeiling);
}
