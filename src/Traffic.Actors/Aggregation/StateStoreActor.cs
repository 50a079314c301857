using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Aggregation;

/// <summary>
/// The city's current state in the database (Akka.Persistence snapshots; docs/architecture.md,
/// "Persistence"), so that a restart, even of a whole cluster, starts from it instead of empty: with
/// NGSI-LD notifications a topic would otherwise stay empty until each entity happened to change.
/// A child of the <see cref="AggregatorActor"/>, which tells it every change
/// (<see cref="StateReplication.TopicState"/>, <see cref="StateReplication.FullState"/>) and asks it
/// once, at start, for what it saved (<see cref="StateReplication.GetFullState"/>, answered after its
/// recovery). Unless someone waits (below), it writes at most every <see cref="SaveInterval"/>, the whole state as one snapshot that
/// replaces the previous one (one row in the snapshot table). What the aggregator alerts on is the
/// state itself (a known accident, its severity), so a restart raises no alert twice.
/// <para>
/// <see cref="ConfirmSaved"/> (the ingest waits on it before it answers a notification) is answered once a
/// save that holds every change told before it has succeeded; with someone waiting, the store saves at
/// once instead of at the next interval, and the changes that come in during a save go together in the
/// next one (one write for many notifications under load).
/// </para>
/// </summary>
public sealed class StateStoreActor : ReceivePersistentActor, IWithTimers
{
    public const string StatePersistenceId = "traffic-state";
    public static readonly TimeSpan SaveInterval = TimeSpan.FromSeconds(1);

    private sealed record SaveDue
    {
        public static readonly SaveDue Instance = new();
    }

    /// <summary>Answered <see cref="Saved"/> once every change told before it is saved, <see cref="NotSaved"/> when a save failed.</summary>
    public sealed record ConfirmSaved(long Id);

    public sealed record Saved(long Id);

    public sealed record NotSaved(long Id, string Reason);

    private readonly CityState _state = new();
    private List<(long Id, IActorRef ReplyTo)> _waitingForSave = []; // held by the save in flight
    private List<(long Id, IActorRef ReplyTo)> _waitingForNext = []; // need the next save (changes since the one in flight)
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _changed;
    private bool _saving;
    private bool _failureLogged;

    public StateStoreActor()
    {
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not StateReplication.FullState saved) return;
            _state.Take(saved.Topics, emptyTheRest: true);
            _log.Info("City state read back from the database ({0} entities, saved {1:u})",
                saved.Topics.Values.Sum(list => list.Count), offer.Metadata.Timestamp);
        });
        Command<StateReplication.GetFullState>(_ => Sender.Tell(_state.Full()));
        Command<StateReplication.TopicState>(change =>
        {
            _state[change.Topic] = change.Entities;
            _changed = true;
        });
        Command<StateReplication.FullState>(full =>
        {
            _state.Take(full.Topics, emptyTheRest: true);
            _changed = true;
        });
        Command<ConfirmSaved>(confirm =>
        {
            if (!_changed && !_saving) Sender.Tell(new Saved(confirm.Id)); // nothing unsaved
            else if (!_changed) _waitingForSave.Add((confirm.Id, Sender)); // the save in flight holds it all
            else
            {
                _waitingForNext.Add((confirm.Id, Sender));
                SaveIfIdle(); // someone waits: now, not at the next interval
            }
        });
        Command<SaveDue>(_ => SaveIfIdle());
        Command<SaveSnapshotSuccess>(_ =>
        {
            _saving = false;
            if (_failureLogged) _log.Info("City state saved again");
            _failureLogged = false;
            foreach (var (id, replyTo) in _waitingForSave) replyTo.Tell(new Saved(id));
            _waitingForSave.Clear();
            if (_waitingForNext.Count > 0) SaveIfIdle();
        });
        Command<SaveSnapshotFailure>(failure =>
        {
            _saving = false;
            _changed = true; // tried again at the next interval
            if (!_failureLogged) _log.Warning("Could not save the city state (tried again every {0:0} s): {1}", SaveInterval.TotalSeconds, failure.Cause.Message);
            _failureLogged = true;
            var reason = $"the city state could not be saved ({failure.Cause.Message})";
            foreach (var (id, replyTo) in _waitingForSave.Concat(_waitingForNext)) replyTo.Tell(new NotSaved(id, reason));
            _waitingForSave.Clear();
            _waitingForNext.Clear();
        });
    }

    /// <summary>Saves what changed unless a save is in flight (its success starts the next one if anyone waits).</summary>
    private void SaveIfIdle()
    {
        if (!_changed || _saving) return;
        _changed = false;
        _saving = true;
        (_waitingForSave, _waitingForNext) = (_waitingForNext, _waitingForSave); // this save holds what they wait for
        SaveSnapshot(new StateReplication.FullState(0, 0, _state.Copy()));
    }

    public override string PersistenceId => StatePersistenceId;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props() => Akka.Actor.Props.Create(() => new StateStoreActor());

    protected override void PreStart()
    {
        base.PreStart();
        Timers.StartPeriodicTimer(nameof(SaveDue), SaveDue.Instance, SaveInterval);
    }

    /// <summary>A database that cannot be read: the aggregator starts without the saved state (logged once), the store keeps trying to save.</summary>
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _log.Warning("Could not read the saved city state; starting without it: {0}", reason.Message);
        Context.Parent.Tell(_state.Full()); // empty: the aggregator does not wait
        base.OnRecoveryFailure(reason, message);
    }
}
