namespace Traffic.Actors.Aggregation;

/// <summary>
/// Registry key for "who answers <see cref="AggregatorQueries.GetSnapshot"/> on this node": the
/// aggregator itself on a single node, the local snapshot replica in a cluster.
/// </summary>
public sealed class SnapshotSource
{
    private SnapshotSource() { }
}
