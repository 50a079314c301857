using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace Traffic.Actors.Routing;

/// <summary>
/// Reads the streams' journal once for the messages a <see cref="TopicRegistryActor"/> does not hold
/// in memory: those this node missed (a gap: a message between nodes lost) or those a client resumes
/// from that are older than the memory history. It gives them to its parent, the registry, as
/// <see cref="RegistryCommands.JournalRead"/> (in numbering order) and stops. The sequencer writes
/// every message before it delivers it, so what a node saw a later message of is in the journal
/// already. It only reads (the journal's one writer is the sequencer's <see cref="StreamJournalActor"/>);
/// the journal holds at most the history's time to live and such reads are rare, so reading it
/// whole is cheap enough and needs no index by stream.
/// </summary>
public sealed class JournalRangeReaderActor : ReceivePersistentActor
{
    public JournalRangeReaderActor(IReadOnlyList<JournalRange> ranges, long notBeforeUnixMs)
    {
        var found = new List<StreamJournal.Entry>();
        Recover<StreamJournal.Entry>(entry =>
        {
            if (entry.AtUnixMs >= notBeforeUnixMs && ranges.Any(range => range.Holds(entry))) found.Add(entry);
        });
        Recover<RegistryCommands.AnnounceHeads>(_ => { }); // heads marks: nothing to deliver
        Recover<RecoveryCompleted>(_ =>
        {
            Context.Parent.Tell(new RegistryCommands.JournalRead(found));
            Context.Stop(Self);
        });
    }

    public override string PersistenceId => StreamJournal.PersistenceId;

    public static Props Props(IReadOnlyList<JournalRange> ranges, long notBeforeUnixMs = long.MinValue) =>
        Akka.Actor.Props.Create(() => new JournalRangeReaderActor(ranges, notBeforeUnixMs));

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        Context.GetLogger().Warning("Could not read the streams' journal for messages not held in memory: {0}", reason.Message);
        Context.Parent.Tell(new RegistryCommands.JournalRead(null));
        Context.Stop(Self);
    }
}

/// <summary>Offsets <paramref name="From"/>..<paramref name="To"/> of one stream's epoch.</summary>
public readonly record struct JournalRange(int Stream, string Epoch, long From, long To)
{
    public bool Holds(StreamJournal.Entry entry) =>
        entry.Stream == Stream && entry.Frame.Sequence is { } sequence && sequence.Epoch == Epoch && sequence.Offset >= From && sequence.Offset <= To;

    /// <summary>Whether <paramref name="entries"/> (in numbering order) hold this range's offsets exactly, each once.</summary>
    public bool IsCompletedBy(IEnumerable<StreamJournal.Entry> entries)
    {
        var next = From;
        foreach (var entry in entries)
        {
            if (entry.Stream != Stream) continue;
            if (entry.Frame.Sequence is not { } sequence || sequence.Epoch != Epoch || sequence.Offset != next) return false;
            next++;
        }
        return next == To + 1;
    }
}
