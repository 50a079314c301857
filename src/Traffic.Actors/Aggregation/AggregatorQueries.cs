using Traffic.Actors.Protocol;

namespace Traffic.Actors.Aggregation;

/// <summary>
/// Questions a <see cref="SnapshotSource"/> answers (the aggregator on a single node; in a cluster
/// this node's snapshot replica), and their answers.
/// </summary>
public static class AggregatorQueries
{
    /// <summary>Asks for the current SNAPSHOT; answered with <see cref="SnapshotReady"/>.</summary>
    public sealed record GetSnapshot
    {
        public static readonly GetSnapshot Instance = new();
    }

    /// <summary>The SNAPSHOT of every topic, encoded once for every client that asked.</summary>
    public sealed record SnapshotReady(ServerFrame Frame);
}
