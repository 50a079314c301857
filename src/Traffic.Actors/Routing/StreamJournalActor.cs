using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>
/// The streams' history in a database (Akka.Persistence; docs/architecture.md, "Persistence"). The
/// <see cref="TopicSequencerActor"/> numbers a message and hands it here (<see cref="StreamJournal.Write"/>);
/// it is written (batched by the journal), and only then delivered to the fan-out and acknowledged to
/// its publisher: a message that was never written was never delivered, so offsets stay dense across
/// a crash. On start it replays what the journal keeps: each stream's epoch and head go to the
/// sequencer (<see cref="StreamJournal.Recovered"/>), the messages to this node's registry
/// (<see cref="RegistryCommands.RestoreHistory"/>), so clients resume across a restart.
/// <para>
/// Retention: entries older than the history's time to live are deleted every <see cref="RetentionInterval"/>;
/// a heads mark (<see cref="RegistryCommands.AnnounceHeads"/> as an event) is written first, so a stream
/// quiet for longer keeps its epoch and head. A write that fails stops this actor (Akka.Persistence's
/// rule); its parent, the sequencer, starts it again with back-off.
/// </para>
/// </summary>
public sealed class StreamJournalActor : ReceivePersistentActor, IWithTimers
{
    public static readonly TimeSpan RetentionInterval = TimeSpan.FromMinutes(1);

    private sealed record RetentionDue
    {
        public static readonly RetentionDue Instance = new();
    }

    private readonly IActorRef _fanOut;
    private readonly IActorRef _registry;
    private readonly HistorySettings _history;
    private readonly JournalReplay _replay = new(); // the heads, and while recovering the entries read
    private readonly Queue<(long SequenceNr, long AtUnixMs)> _written = new(); // oldest first, for retention
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _deletingUpTo;

    /// <param name="fanOut">Where written messages go (<see cref="FanOutEntry"/>).</param>
    /// <param name="registry">This node's registry: given the replayed history once recovered.</param>
    public StreamJournalActor(IActorRef fanOut, IActorRef registry, HistorySettings history)
    {
        _fanOut = fanOut;
        _registry = registry;
        _history = history;

        Recover<StreamJournal.Entry>(entry =>
        {
            _replay.Read(entry);
            _written.Enqueue((LastSequenceNr, entry.AtUnixMs));
        });
        Recover<RegistryCommands.AnnounceHeads>(_replay.Read);
        Recover<RecoveryCompleted>(_ => Recovered());

        Command<StreamJournal.Write>(write => PersistAsync(write.Entry, entry =>
        {
            Advance(entry);
            _fanOut.Tell(entry.Topic is { } topic
                ? new RegistryCommands.PublishToTopic(topic, entry.Frame)
                : new RegistryCommands.PublishToAll(entry.Frame));
            write.AckTo?.Tell(write.Ack!);
        }));
        Command<StreamJournal.MarkHeads>(mark => PersistAsync(new RegistryCommands.AnnounceHeads(mark.Heads), _replay.Read));
        Command<StreamJournal.AckWhenWritten>(ack => DeferAsync(ack, a => a.To.Tell(a.Ack)));
        Command<RetentionDue>(_ => DeleteExpired());
        Command<DeleteMessagesSuccess>(done => _log.Debug("Journal entries up to {0} deleted", done.ToSequenceNr));
        Command<DeleteMessagesFailure>(failed =>
            _log.Warning("Could not delete journal entries up to {0} (tried again in {1:0} s): {2}", failed.ToSequenceNr,
                RetentionInterval.TotalSeconds, failed.Cause.Message));
    }

    public override string PersistenceId => StreamJournal.PersistenceId;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef fanOut, IActorRef registry, HistorySettings history) =>
        Akka.Actor.Props.Create(() => new StreamJournalActor(fanOut, registry, history));

    private void Advance(StreamJournal.Entry entry)
    {
        _replay.Advance(entry);
        _written.Enqueue((LastSequenceNr, entry.AtUnixMs));
    }

    private void Recovered()
    {
        var history = _replay.TakeHistory(Context.System.Scheduler.Now, _history.TimeToLive);
        if (LastSequenceNr > 0)
            _log.Info("Journal recovered: {0} ({1} messages within the history's {2:0} s kept for resumes)",
                _replay.Describe(), history.Entries.Count, _history.TimeToLive.TotalSeconds);
        _registry.Tell(history);
        Context.Parent.Tell(new StreamJournal.Recovered(_replay.Heads.ToArray()));
        Timers.StartPeriodicTimer(nameof(RetentionDue), RetentionDue.Instance, RetentionInterval);
    }

    /// <summary>
    /// Deletes what is older than the history's time to live (no resume can use it), after writing
    /// where every stream stands, so that the journal keeps each stream's epoch and head however old.
    /// </summary>
    private void DeleteExpired()
    {
        var oldest = (Context.System.Scheduler.Now - _history.TimeToLive).ToUnixTimeMilliseconds();
        var cut = 0L;
        while (_written.Count > 0 && _written.Peek().AtUnixMs < oldest) cut = _written.Dequeue().SequenceNr;
        if (cut <= _deletingUpTo) return;
        _deletingUpTo = cut;
        PersistAsync(new RegistryCommands.AnnounceHeads(_replay.Heads.ToArray()), _ => DeleteMessages(cut));
    }

    /// <summary>Not Akka's own handling (a stack trace per attempt): the parent logs one line per outage.</summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr) => Fail($"writing failed: {Innermost(cause)}");

    protected override void OnRecoveryFailure(Exception reason, object? message = null) => Fail($"reading failed: {Innermost(reason)}");

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr) =>
        _log.Error("The journal refused entry {0} ({1}): {2}", sequenceNr, @event.GetType().Name, Innermost(cause));

    private void Fail(string reason)
    {
        _log.Debug("Journal stops: {0}", reason);
        Context.Parent.Tell(new StreamJournal.Failed(reason));
        Context.Stop(Self);
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e.Message;
    }
}
