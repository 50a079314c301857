using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace Traffic.Actors.Routing;

/// <summary>
/// Reads the streams' journal once for the messages of one stream that this node missed (offsets
/// <c>from</c>..<c>to</c> of one epoch: a message between nodes lost), gives them to its parent, the
/// <see cref="TopicRegistryActor"/>, as <see cref="RegistryCommands.GapRead"/>, and stops. The
/// sequencer writes every message before it delivers it, so what a node saw a later message of is
/// in the journal already. It only reads (the journal's one writer is the sequencer's
/// <see cref="StreamJournalActor"/>); the journal holds at most the history's time to live, and a
/// gap is rare, so reading it whole is cheap enough and needs no index.
/// </summary>
public sealed class JournalGapReaderActor : ReceivePersistentActor
{
    private readonly int _stream;

    public JournalGapReaderActor(int stream, string epoch, long from, long to)
    {
        _stream = stream;
        var found = new List<StreamJournal.Entry>();
        Recover<StreamJournal.Entry>(entry =>
        {
            var sequence = entry.Frame.Sequence!;
            if (entry.Stream == stream && sequence.Epoch == epoch && sequence.Offset >= from && sequence.Offset <= to) found.Add(entry);
        });
        Recover<RegistryCommands.AnnounceHeads>(_ => { }); // heads marks: nothing to deliver
        Recover<RecoveryCompleted>(_ =>
        {
            Context.Parent.Tell(new RegistryCommands.GapRead(stream, found));
            Context.Stop(Self);
        });
    }

    public override string PersistenceId => StreamJournal.PersistenceId;

    public static Props Props(int stream, string epoch, long from, long to) =>
        Akka.Actor.Props.Create(() => new JournalGapReaderActor(stream, epoch, from, to));

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        Context.GetLogger().Warning("Could not read the streams' journal for messages this node missed: {0}", reason.Message);
        Context.Parent.Tell(new RegistryCommands.GapRead(_stream, null));
        Context.Stop(Self);
    }
}
