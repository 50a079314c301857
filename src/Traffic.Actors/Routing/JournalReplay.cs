using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>
/// What reading the streams' journal gathers, for both of its readers (<see cref="StreamJournalActor"/>,
/// <see cref="JournalReaderActor"/>): each stream's head, from its entries and heads marks, and the
/// entries a registry is given back (<see cref="RegistryCommands.RestoreHistory"/>).
/// </summary>
public sealed class JournalReplay
{
    private List<StreamJournal.Entry> _entries = [];

    /// <summary>Where each stream stands (by stream index; null: never numbered).</summary>
    public StreamPosition?[] Heads { get; } = new StreamPosition?[Streams.Count];

    /// <summary>An entry read back: its stream's head, and kept for the registry.</summary>
    public void Read(StreamJournal.Entry entry)
    {
        Advance(entry);
        _entries.Add(entry);
    }

    /// <summary>An entry written live: its stream's head only.</summary>
    public void Advance(StreamJournal.Entry entry) => Heads[entry.Stream] = entry.Frame.Sequence!.Position;

    /// <summary>A heads mark: every stream it names.</summary>
    public void Read(RegistryCommands.AnnounceHeads mark)
    {
        for (var stream = 0; stream < Math.Min(mark.Heads.Count, Streams.Count); stream++)
            if (mark.Heads[stream] is { } head) Heads[stream] = head;
    }

    /// <summary>The history for a registry: the entries read within <paramref name="timeToLive"/> of <paramref name="now"/>, then forgotten here.</summary>
    public RegistryCommands.RestoreHistory TakeHistory(DateTimeOffset now, TimeSpan timeToLive)
    {
        var oldest = (now - timeToLive).ToUnixTimeMilliseconds();
        var kept = _entries.Where(e => e.AtUnixMs >= oldest).ToList();
        _entries = [];
        return new RegistryCommands.RestoreHistory(kept, Heads.ToArray());
    }

    public string Describe() =>
        string.Join(", ", Enumerable.Range(0, Streams.Count).Where(s => Heads[s] is not null).Select(s => $"{Streams.Name(s)} {Heads[s]}"));
}
