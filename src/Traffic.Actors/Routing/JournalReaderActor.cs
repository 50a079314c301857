using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>
/// In a cluster with persistence, every node reads the streams' journal once when it starts (a node
/// that joined late, restarted in a rolling deploy, or a whole cluster started again) and gives what
/// is within the history's time to live to its registry (<see cref="RegistryCommands.RestoreHistory"/>),
/// so that clients resume on any node, not only on the sequencer's. It only reads: the sequencer's
/// <see cref="StreamJournalActor"/> is the one writer. It stops once it has read.
/// </summary>
public sealed class JournalReaderActor : ReceivePersistentActor
{
    private readonly IActorRef _registry;
    private readonly JournalReplay _replay = new();

    public JournalReaderActor(IActorRef registry, HistorySettings history)
    {
        _registry = registry;
        Recover<StreamJournal.Entry>(_replay.Read);
        Recover<RegistryCommands.AnnounceHeads>(_replay.Read);
        Recover<RecoveryCompleted>(_ =>
        {
            var restore = _replay.TakeHistory(Context.System.Scheduler.Now, history.TimeToLive);
            Context.GetLogger().Info("Read {0} messages of the streams' journal for resumes on this node", restore.Entries.Count);
            _registry.Tell(restore);
            Context.Stop(Self);
        });
    }

    public override string PersistenceId => StreamJournal.PersistenceId;

    public static Props Props(IActorRef registry, HistorySettings history) =>
        Akka.Actor.Props.Create(() => new JournalReaderActor(registry, history));

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        Context.GetLogger().Warning("Could not read the streams' journal for resumes on this node: {0}", reason.Message);
        _registry.Tell(new RegistryCommands.RestoreHistory([], new StreamPosition?[Streams.Count])); // resumes wait no longer
        Context.Stop(Self);
    }
}
