using System.Text.Json.Nodes;

namespace Traffic.Actors.Sources.Simulation;

/// <summary>What a site of a feed is: something that becomes one entity of its topic.</summary>
internal interface IObservedSite
{
    JsonObject ToEntity();
}

/// <summary>
/// A topic of the simulated city made of fixed sites that are all observed on one cadence, and
/// whose topic is every site's entity. A feed says how one site is observed (<see cref="Observe"/>);
/// its sites are observed once at the start, when the feed calls <see cref="ObserveAll"/> from its
/// constructor (after its own fields are set, since observing reads them).
/// </summary>
internal abstract class ObservedSitesFeed<TSite>(DateTimeOffset start, TimeSpan interval, TSite[] sites) where TSite : IObservedSite
{
    private readonly Cadence _cadence = new(start, interval);

    protected TSite[] Sites { get; } = sites;

    /// <summary>True when the cadence fired: every site was observed anew.</summary>
    public bool Advance(DateTimeOffset now)
    {
        if (!_cadence.TryFire(now, out var seconds)) return false;
        ObserveAll(now, seconds);
        return true;
    }

    public IReadOnlyList<JsonObject> Snapshot() => Sites.Select(s => s.ToEntity()).ToArray();

    protected void ObserveAll(DateTimeOffset now, double seconds)
    {
        foreach (var site in Sites) Observe(site, now, seconds);
    }

    /// <param name="seconds">Since the previous observation (0 at the start).</param>
    protected abstract void Observe(TSite site, DateTimeOffset now, double seconds);
}
