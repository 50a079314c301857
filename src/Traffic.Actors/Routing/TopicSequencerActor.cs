using Akka.Actor;
using Akka.Event;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>
/// Numbers every UPDATE and ALERT on its stream (a topic, or "all") and encodes it, once, with its
/// position; then hands it to the <see cref="FanOutEntry"/>. Everything published goes through
/// it, so a stream's order is the order it numbered, on every node. In a cluster it runs once (a
/// singleton beside the aggregator); the publish API of every node sends to it: one hop more per
/// publish from another node, for positions that mean the same on every node.
/// <para>
/// It starts from where this node's registry says each stream stands (<see cref="RegistryCommands.GetHeads"/>):
/// a stream it knows continues in the same epoch, after a jump of <see cref="TakeOverJump"/>
/// offsets (the previous sequencer may have numbered messages that reached only its own node's
/// clients: no offset is ever given to two messages); an unknown stream starts a new epoch at 1.
/// It announces the streams' heads when it starts and every <see cref="AnnounceInterval"/>, so a
/// node that missed messages finds out.
/// </para>
/// It also makes each topic's delta UPDATE (what changed since the topic's previous UPDATE) for
/// clients that asked for deltas, once per UPDATE.
/// <para>
/// With persistence (docs/architecture.md, "Persistence") it first has its child, the
/// <see cref="StreamJournalActor"/>, recover: each stream the journal knows continues from its head,
/// densely (no jump: nothing numbered after it was ever delivered). Every numbered message then goes
/// through the journal, which delivers and acknowledges it once written. A journal that stops (the
/// database is away) is started again with back-off; meanwhile publishes that wait for a confirmation
/// are refused, ALERTs wait (up to <see cref="MaxWaitingWhileJournalDown"/>), scheduled UPDATEs are
/// skipped (the next one carries the whole list), and forwarded publishes go unacknowledged (resent).
/// </para>
/// </summary>
public sealed class TopicSequencerActor : ReceiveActor, IWithTimers, IWithStash
{
    public const long TakeOverJump = 1_000_000;
    public static readonly TimeSpan AnnounceInterval = TimeSpan.FromSeconds(5);

    /// <summary>A forwarder silent this long is forgotten (see <c>_takenFrom</c>).</summary>
    public static readonly TimeSpan ForwarderForgottenAfter = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan HeadsWait = TimeSpan.FromSeconds(3);
    public static readonly TimeSpan JournalRestartMin = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan JournalRestartMax = TimeSpan.FromSeconds(10);
    public const int MaxWaitingWhileJournalDown = 1000;
    public const string JournalDownReason = "the database is unreachable; try again shortly";

    private sealed record RestartJournal
    {
        public static readonly RestartJournal Instance = new();
    }

    private sealed record Announce
    {
        public static readonly Announce Instance = new();
    }

    private sealed record HeadsTimedOut
    {
        public static readonly HeadsTimedOut Instance = new();
    }

    /// <summary>A topic's last UPDATE made from entities, the base of the next one's delta.</summary>
    private sealed record LastUpdate(long Offset, Dictionary<string, byte[]> ById);

    private readonly IActorRef _publisher;
    private readonly IActorRef _registry;
    private readonly Props? _journalProps;
    private IActorRef? _journal;             // null without persistence, and while it is down
    private IReadOnlyList<StreamPosition?> _journalHeads = [];
    private TimeSpan _journalBackoff = JournalRestartMin;
    private int _waitingWhileDown;
    private bool _downLogged;
    private bool _started;
    private DateTimeOffset? _journalDownSince;
    private string? _journalFailure;
    private readonly string[] _epochs = new string[Streams.Count];
    private readonly long[] _offsets = new long[Streams.Count];
    private readonly long[] _previous = new long[Streams.Count]; // what the next message's PreviousOffset is
    private readonly LastUpdate?[] _lastUpdates = new LastUpdate?[Topics.Count];
    // Per forwarder (one per node incarnation): the last number taken, and when it last sent. A node
    // that left or restarted never sends again under that name: forgotten after ForwarderForgottenAfter
    // of silence (a forwarder with anything unacknowledged resends every second, so it is never forgotten).
    private readonly Dictionary<string, (long Taken, DateTimeOffset Heard)> _takenFrom = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <param name="publisher">Where numbered frames go (<see cref="FanOutEntry"/>).</param>
    /// <param name="registry">This node's registry: asked where the streams stand when starting.</param>
    /// <param name="journal">With persistence: the <see cref="StreamJournalActor"/>'s props (made a child of this actor).</param>
    public TopicSequencerActor(IActorRef publisher, IActorRef registry, Props? journal = null)
    {
        _publisher = publisher;
        _registry = registry;
        _journalProps = journal;
        Starting();
    }

    /// <summary>Until every stream's start is known: the journal's heads (with persistence), then the registry's.</summary>
    private void Starting()
    {
        Receive<StreamJournal.Recovered>(r =>
        {
            _journalHeads = r.Heads;
            AskRegistryForHeads();
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_journal), _ => JournalStopped());
        Receive<StreamJournal.Failed>(JournalFailed);
        Receive<RestartJournal>(_ => StartJournal());
        Receive<RegistryCommands.Heads>(h => Start(h.Positions));
        Receive<SequencerCommands.GetStatus>(_ => Sender.Tell(new SequencerCommands.Status(false, _journalProps is not null, _journalDownSince)));
        Receive<HeadsTimedOut>(_ =>
        {
            _log.Warning("No answer from this node's registry within {0:0.0} s; the sequencer starts new epochs", HeadsWait.TotalSeconds);
            Start(new StreamPosition?[Streams.Count]);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    public static Props Props(IActorRef publisher, IActorRef registry, Props? journal = null) =>
        Akka.Actor.Props.Create(() => new TopicSequencerActor(publisher, registry, journal));

    protected override void PreStart()
    {
        if (_journalProps is null) AskRegistryForHeads();
        else StartJournal();
    }

    /// <summary>A journal that fails is not restarted by Akka (it stops); this actor starts it again, with back-off.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    private void AskRegistryForHeads()
    {
        _registry.Tell(RegistryCommands.GetHeads.Instance);
        Timers.StartSingleTimer(nameof(HeadsTimedOut), HeadsTimedOut.Instance, HeadsWait);
    }

    private void StartJournal()
    {
        _journal = Context.ActorOf(_journalProps!, "journal");
        Context.Watch(_journal);
    }

    private void Start(IReadOnlyList<StreamPosition?> heads)
    {
        Timers.Cancel(nameof(HeadsTimedOut));
        _started = true;
        var newEpoch = StreamPosition.NewEpoch();
        var continued = new List<string>();
        for (var stream = 0; stream < Streams.Count; stream++)
        {
            if (stream < _journalHeads.Count && _journalHeads[stream] is { } kept)
            {
                // Written to the journal: everything numbered after it was never delivered, so no jump.
                _epochs[stream] = kept.Epoch;
                _previous[stream] = kept.Offset;
                _offsets[stream] = kept.Offset;
                continued.Add($"{Streams.Name(stream)} {kept}");
            }
            else if (stream < heads.Count && heads[stream] is { } head)
            {
                _epochs[stream] = head.Epoch;
                _previous[stream] = head.Offset;
                _offsets[stream] = head.Offset + TakeOverJump - 1;
                continued.Add($"{Streams.Name(stream)} {head}");
            }
            else _epochs[stream] = newEpoch;
        }
        if (continued.Count > 0) _log.Info("Sequencer continues {0}", string.Join(", ", continued));
        else _log.Info("Sequencer starts epoch {0}", newEpoch);
        // Every stream's epoch is kept from the start, not only from its first message.
        if (_journal is not null && continued.Count < Streams.Count) _journal.Tell(new StreamJournal.MarkHeads(CurrentHeads()));
        // Straight to the fan-out: nothing is being written yet, and clients need the positions before readiness says so.
        _publisher.Tell(new RegistryCommands.AnnounceHeads(CurrentHeads()));
        Timers.StartPeriodicTimer(nameof(Announce), Announce.Instance, AnnounceInterval);
        Become(Numbering);
        Stash.UnstashAll();
    }

    private void Numbering()
    {
        Receive<SequencerCommands.PublishEntities>(p => Number(p, null, null));
        Receive<SequencerCommands.PublishData>(p => Number(p, null, null));
        Receive<SequencerCommands.PublishAndConfirm>(c =>
        {
            if (c.GiveUpAtUtc is { } giveUp && DateTime.UtcNow > giveUp) return; // answered 503 already: never delivered
            if (c.Publish is SequencerCommands.PublishEntities entities) Number(entities, SequencerCommands.PublishConfirmed.Instance, Sender);
            else if (c.Publish is SequencerCommands.PublishData data) Number(data, SequencerCommands.PublishConfirmed.Instance, Sender);
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_journal), _ => JournalStopped());
        Receive<StreamJournal.Failed>(JournalFailed);
        Receive<SequencerCommands.GetStatus>(_ => Sender.Tell(new SequencerCommands.Status(true, _journalProps is not null, null)));
        Receive<SequencerCommands.ConfirmWritten>(c =>
        {
            // The journal writes in order: once what came before is written, so is every publish of this sender before it.
            if (_journal is null) Sender.Tell(new SequencerCommands.Written(c.Id));
            else _journal.Tell(new StreamJournal.AckWhenWritten(new SequencerCommands.Written(c.Id), Sender));
        });
        Receive<SequencerCommands.Forwarded>(f =>
        {
            // Each number once, in order: a repeat is acknowledged again, one past a gap waits for the resend.
            // A new sequencer starts each forwarder's count where the forwarder says it still waits, so a
            // new publish that overtakes the resent ones is not taken before them (they would then look like repeats).
            var taken = Math.Max(_takenFrom.TryGetValue(f.Origin, out var last) ? last.Taken : 0, f.OldestUnacknowledged - 1);
            var ack = new SequencerCommands.ForwardedUpTo(f.Origin, f.Number == taken + 1 ? f.Number : taken);
            if (f.Number == taken + 1)
            {
                // Acknowledged once written (with persistence), by the journal; else at once.
                if (f.Publish is SequencerCommands.PublishEntities entities) Number(entities, ack, f.ReplyTo);
                else if (f.Publish is SequencerCommands.PublishData data) Number(data, ack, f.ReplyTo);
                taken = f.Number;
            }
            else if (f.Number <= taken)
            {
                // A repeat: acknowledged again, after whatever is still being written (its first copy among them).
                if (_journal is null) f.ReplyTo.Tell(ack);
                else _journal.Tell(new StreamJournal.AckWhenWritten(ack, f.ReplyTo));
            }
            _takenFrom[f.Origin] = (taken, Now);
        });
        Receive<Announce>(_ =>
        {
            AnnounceHeads();
            ForgetSilentForwarders();
        });
        Receive<RegistryCommands.Heads>(_ => { }); // a late answer
    }

    /// <summary>
    /// The journal stopped (a write or the recovery failed: the database is away). Nothing is numbered
    /// until it is back, so that offsets stay dense and nothing is delivered that was not written.
    /// </summary>
    private void JournalStopped()
    {
        _journal = null;
        _journalDownSince ??= Now;
        LogOutage();
        Timers.StartSingleTimer(nameof(RestartJournal), RestartJournal.Instance, _journalBackoff);
        _journalBackoff = TimeSpan.FromTicks(Math.Min(_journalBackoff.Ticks * 2, JournalRestartMax.Ticks));
        Become(JournalDown);
    }

    /// <summary>The journal's reason may come before or after its Terminated (a system message): logged when both are in.</summary>
    private void JournalFailed(StreamJournal.Failed failed)
    {
        _journalFailure = failed.Reason;
        if (_journal is null) LogOutage();
    }

    /// <summary>One Error line per outage, with the journal's reason.</summary>
    private void LogOutage()
    {
        if (_downLogged || _journalFailure is null) return;
        _log.Error("The journal stopped ({0}); publishes are refused until the database is back, tried again after 1 s and then with back-off up to {1:0} s",
            _journalFailure, JournalRestartMax.TotalSeconds);
        _downLogged = true;
    }

    private void JournalDown()
    {
        Receive<RestartJournal>(_ => StartJournal());
        Receive<Terminated>(t => t.ActorRef.Equals(_journal), _ => JournalStopped());
        Receive<StreamJournal.Failed>(JournalFailed);
        Receive<StreamJournal.Recovered>(r =>
        {
            if (_journalDownSince is { } since) _log.Info("The journal is back after {0:0} s", (Now - since).TotalSeconds);
            _journalBackoff = JournalRestartMin;
            _journalDownSince = null;
            _journalFailure = null;
            _downLogged = false;
            _waitingWhileDown = 0;
            if (!_started)
            {
                _journalHeads = r.Heads;
                Become(Starting);
                AskRegistryForHeads();
                return;
            }
            // Back: continue from what was written. Numbers given to what the database never took are given again.
            for (var stream = 0; stream < Math.Min(r.Heads.Count, Streams.Count); stream++)
                if (r.Heads[stream] is { } kept)
                {
                    _epochs[stream] = kept.Epoch;
                    _previous[stream] = kept.Offset;
                    _offsets[stream] = kept.Offset;
                }
            Array.Clear(_lastUpdates); // a delta's base may never have been written
            // A stream the journal has no head of (its start's heads mark was not written): mark it now, or a restart would change its epoch.
            if (r.Heads.Count < Streams.Count || r.Heads.Any(h => h is null)) _journal?.Tell(new StreamJournal.MarkHeads(CurrentHeads()));
            Become(Numbering);
            Stash.UnstashAll();
        });
        Receive<SequencerCommands.PublishAndConfirm>(_ => Sender.Tell(new SequencerCommands.PublishRefused(JournalDownReason)));
        Receive<SequencerCommands.ConfirmWritten>(c => Sender.Tell(new SequencerCommands.NotWritten(c.Id, JournalDownReason)));
        Receive<SequencerCommands.GetStatus>(_ => Sender.Tell(new SequencerCommands.Status(_started, true, _journalDownSince)));
        Receive<SequencerCommands.PublishEntities>(_ => { }); // the next scheduled UPDATE carries the whole list
        Receive<SequencerCommands.PublishData>(p =>
        {
            if (++_waitingWhileDown <= MaxWaitingWhileJournalDown) Stash.Stash();
        });
        Receive<SequencerCommands.Forwarded>(_ => { }); // unacknowledged: its forwarder sends it again
        Receive<Announce>(_ => { }); // nothing is delivered while the journal is away; its heads may count what was never written
        Receive<RegistryCommands.Heads>(_ => { });
    }

    private void ForgetSilentForwarders()
    {
        foreach (var (origin, entry) in _takenFrom.Where(e => Now - e.Value.Heard > ForwarderForgottenAfter).ToList())
        {
            _takenFrom.Remove(origin);
            _log.Info("Sequencer forgets forwarder {0} (last number {1}): silent for {2:0} min", origin, entry.Taken, ForwarderForgottenAfter.TotalMinutes);
        }
    }

    private void Number(SequencerCommands.PublishEntities p, object? ack, IActorRef? ackTo)
    {
        var sequence = Next((int)p.Topic);
        var delta = DeltaOf(p.Topic, p.Entities);
        Publish(p.Topic, ServerMessages.Update(p.Topic, p.Entities, Now, sequence, delta), ack, ackTo);
        _lastUpdates[(int)p.Topic] = new LastUpdate(sequence.Offset, ById(p.Entities));
    }

    private void Number(SequencerCommands.PublishData p, object? ack, IActorRef? ackTo)
    {
        // A raw UPDATE replaces a client's list with whatever it holds: no delta can start from it.
        if (p.Type == ServerMessageType.Update && p.Topic is { } topic) _lastUpdates[(int)topic] = null;
        Publish(p.Topic, ServerMessages.Published(p.Type, p.Topic, p.DataJson, Now, Next(Streams.Of(p.Topic))), ack, ackTo);
    }

    private FrameSequence Next(int stream)
    {
        var sequence = new FrameSequence(_epochs[stream], ++_offsets[stream], _previous[stream]);
        _previous[stream] = sequence.Offset;
        return sequence;
    }

    private EntityChanges? DeltaOf(Topic topic, IReadOnlyList<EntityJson> entities)
    {
        if (_lastUpdates[(int)topic] is not { } last) return null;
        var upserted = new List<EntityJson>();
        var seen = new HashSet<string>();
        foreach (var entity in entities)
        {
            seen.Add(entity.Id);
            if (!last.ById.TryGetValue(entity.Id, out var before) || !before.AsSpan().SequenceEqual(entity.Utf8Json)) upserted.Add(entity);
        }
        var removed = last.ById.Keys.Where(id => !seen.Contains(id)).ToList();
        return new EntityChanges(last.Offset, upserted, removed);
    }

    private static Dictionary<string, byte[]> ById(IReadOnlyList<EntityJson> entities)
    {
        var byId = new Dictionary<string, byte[]>(entities.Count);
        foreach (var entity in entities) byId[entity.Id] = entity.Utf8Json;
        return byId;
    }

    /// <summary>To the fan-out, and <paramref name="ack"/> to <paramref name="ackTo"/>; with persistence both by the journal, once written.</summary>
    private void Publish(Topic? topic, ServerFrame frame, object? ack, IActorRef? ackTo)
    {
        if (_journal is not null)
        {
            _journal.Tell(new StreamJournal.Write(new StreamJournal.Entry(Now.ToUnixTimeMilliseconds(), topic, frame), ack, ackTo));
            return;
        }
        _publisher.Tell(topic is { } one ? new RegistryCommands.PublishToTopic(one, frame) : new RegistryCommands.PublishToAll(frame));
        if (ack is not null) ackTo?.Tell(ack);
    }

    /// <summary>Where each stream stands: the last offset numbered (before the first message after a take-over: the last one known).</summary>
    /// <summary>
    /// With a journal, after what is being written (the heads count it): an announcement that overtook
    /// frames still in the journal would look to every node like messages it missed.
    /// </summary>
    private void AnnounceHeads()
    {
        var announce = new RegistryCommands.AnnounceHeads(CurrentHeads());
        if (_journal is null) _publisher.Tell(announce);
        else _journal.Tell(new StreamJournal.AckWhenWritten(announce, _publisher));
    }

    private StreamPosition?[] CurrentHeads() =>
        Enumerable.Range(0, Streams.Count).Select(s => (StreamPosition?)new StreamPosition(_epochs[s], _previous[s])).ToArray();

    private DateTimeOffset Now => Context.System.Scheduler.Now;
}
