namespace Traffic.Actors.Sources;

/// <summary>
/// Where the simulated city stands: it started at <paramref name="OriginUtcTicks"/> and has taken
/// <paramref name="Step"/> steps of the feed's step interval since. The simulation is deterministic
/// from its seed and these steps, so this is all a new feed needs to continue the same city after a
/// fail-over. The feed singleton publishes it after every step to every node
/// (<see cref="SimulationClockReplicaActor"/>).
/// </summary>
public sealed record SimulationClock(long OriginUtcTicks, long Step)
{
    public DateTimeOffset Origin => new(OriginUtcTicks, TimeSpan.Zero);
}

/// <summary>Messages of <see cref="SimulationClockReplicaActor"/>.</summary>
public static class SimulationClockCommands
{
    /// <summary>The DistributedPubSub topic the feed publishes its <see cref="SimulationClock"/> on.</summary>
    public const string Topic = "traffic-simulation-clock";

    /// <summary>Asks for the latest clock this node has heard of; answered with <see cref="Latest"/>.</summary>
    public sealed record GetLatest
    {
        public static readonly GetLatest Instance = new();
    }

    /// <summary>The latest clock heard of, or null when no feed has run in this cluster yet.</summary>
    public sealed record Latest(SimulationClock? Clock);
}
