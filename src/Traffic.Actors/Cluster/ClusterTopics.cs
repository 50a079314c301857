namespace Traffic.Actors.Cluster;

/// <summary>The DistributedPubSub topics between the nodes of a cluster.</summary>
public static class ClusterTopics
{
    /// <summary>Every UPDATE and ALERT published anywhere: each node's registry fans it out to its own clients.</summary>
    public const string Frames = "traffic-frames";

    /// <summary>The aggregator's changes of state, for each node's snapshot replica.</summary>
    public const string State = "traffic-state";
}
