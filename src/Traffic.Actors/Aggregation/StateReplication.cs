using Traffic.Actors.Protocol;

namespace Traffic.Actors.Aggregation;

/// <summary>
/// How the aggregator's state reaches a copy on every node of a cluster (the
/// <c>SnapshotReplicaActor</c>), so that a connecting client's SNAPSHOT is served locally. The
/// aggregator numbers its changes: <c>Incarnation</c> is drawn once per aggregator (not a stream's epoch)
/// (a new one after a fail-over), the version counts changes within it. A replica that sees a gap
/// or a new incarnation asks for the whole state again.
/// </summary>
public static class StateReplication
{
    /// <summary>Marks every message that travels on the state topic between the aggregator and the replicas.</summary>
    public interface IStateEvent;

    /// <summary>One topic's whole list changed; it is change number <paramref name="Version"/> of this incarnation.</summary>
    public sealed record TopicState(long Incarnation, long Version, Topic Topic, IReadOnlyList<EntityJson> Entities) : IStateEvent;

    /// <summary>Sent with every scheduled UPDATE: "my latest change is this one", so a replica that missed one finds out.</summary>
    public sealed record StateVersion(long Incarnation, long Version) : IStateEvent;

    /// <summary>Asks the aggregator for <see cref="FullState"/>.</summary>
    public sealed record GetFullState
    {
        public static readonly GetFullState Instance = new();
    }

    /// <summary>Every topic's whole list as of change <paramref name="Version"/>.</summary>
    public sealed record FullState(long Incarnation, long Version, IReadOnlyDictionary<Topic, IReadOnlyList<EntityJson>> Topics);
}
