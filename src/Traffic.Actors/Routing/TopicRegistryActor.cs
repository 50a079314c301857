using Akka.Actor;
using Akka.Event;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Actors.Transport;

namespace Traffic.Actors.Routing;

/// <summary>
/// Knows who listens to what, and fans a published frame out to exactly those sockets.
/// The hot path: one message into this mailbox per publish, then a non-blocking enqueue per
/// subscriber straight into its socket's bounded queue (no mailbox hop per subscriber, no
/// re-encoding: every subscriber gets the same bytes). It also keeps the metrics of what it knows
/// first-hand: subscribers per topic, frames delivered and frames refused by a full queue, each
/// counted once per publish.
/// <para>
/// Write coalescing: a socket that was idle is not woken at once but once the messages already
/// in this mailbox are fanned out too (<see cref="WakeWriters"/>, sent to itself). Under a burst,
/// then, each socket's frames of every publish waiting here leave in one write instead of one
/// each; at idle the first send waits for one message more in this mailbox and nothing else.
/// </para>
/// </summary>
public sealed class TopicRegistryActor : ReceiveActor, IWithTimers
{
    private sealed class Subscriber(IActorRef connection, IClientSocket socket)
    {
        public readonly IActorRef Connection = connection;
        public readonly IClientSocket Socket = socket;
        public TopicSet Topics = TopicSet.None;
        public bool Overflowed;
    }

    /// <summary>Wakes the sockets that frames were queued to since the last one (see the class's remarks).</summary>
    private sealed class WakeWriters
    {
        public static readonly WakeWriters Instance = new();
    }

    private readonly Dictionary<IActorRef, Subscriber> _connections = new();
    private readonly List<IClientSocket> _toWake = new(); // not empty: a WakeWriters is in the mailbox
    private readonly HashSet<Subscriber>[] _byTopic = Topics.Every.Select(_ => new HashSet<Subscriber>()).ToArray();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly TrafficMetrics? _metrics;
    private readonly StreamHistory[] _histories;
    private long _arrivals;        // orders the messages of every stream as they arrived, for a resume across streams
    private long _restoredArrivals = long.MinValue / 2; // restored messages arrived "before" every live one
    private long _positionsChanged; // bumps with every message or announcement: the cached SNAPSHOT's positions are stale
    private (ServerFrame State, long Version, ServerFrame WithPositions)? _snapshot;
    private readonly bool _fillGaps;
    private readonly GapFill?[] _filling = new GapFill?[Streams.Count]; // by stream: missed messages being read from the journal
    private readonly Dictionary<IActorRef, ParkedResume> _parked = new(); // by connection: resumes waiting for older messages from the journal
    private readonly TimeSpan _timeToLive;

    /// <summary>Resumes served from the journal at once, at most (more are answered from memory: a reconnect storm reads the journal this many times, not once per client).</summary>
    public const int MaxResumesReading = 4;

    /// <summary>A subscription whose resume needs messages older than the memory history, while they are read from the journal.</summary>
    private sealed class ParkedResume(RegistryCommands.SetSubscriptions command, IActorRef reader)
    {
        public readonly RegistryCommands.SetSubscriptions Command = command;
        public readonly IActorRef Reader = reader;
        public readonly Queue<RegistryCommands.SetSubscriptions> Later = new(); // the connection's next changes, in order
    }

    private sealed record ResumeReadTimedOut(IActorRef Connection, IActorRef Reader);

    /// <summary>The registry's actor name, under /user (other nodes find it by this name).</summary>
    public const string Name = "topic-registry";

    /// <summary>How long a registry started with <c>awaitRestore</c> holds subscriptions for the journal's history.</summary>
    public static readonly TimeSpan RestoreWait = TimeSpan.FromSeconds(30);

    private sealed record RestoreTimedOut
    {
        public static readonly RestoreTimedOut Instance = new();
    }

    /// <param name="awaitRestore">With persistence: subscriptions (and their resumes) wait
    /// for the history the journal kept (<see cref="RegistryCommands.RestoreHistory"/>), at most <see cref="RestoreWait"/>.</param>
    /// <param name="fillGaps">With persistence: messages this node missed are read from the journal and delivered
    /// in order (<see cref="JournalRangeReaderActor"/>) before the stream goes on; told as a gap only where that fails.</param>
    public TopicRegistryActor(TrafficMetrics? metrics = null, HistorySettings? history = null, bool awaitRestore = false, bool fillGaps = false)
    {
        _metrics = metrics;
        _fillGaps = fillGaps;
        var settings = history ?? HistorySettings.Default;
        _timeToLive = settings.TimeToLive;
        _histories = Enumerable.Range(0, Streams.Count).Select(_ => new StreamHistory(settings.Size, settings.TimeToLive, settings.Bytes)).ToArray();
        _awaitRestore = awaitRestore;
        if (awaitRestore) AwaitingRestore();
        else Serving();
    }

    private readonly bool _awaitRestore;

    protected override void PreStart()
    {
        if (_awaitRestore) Timers.StartSingleTimer(nameof(RestoreTimedOut), RestoreTimedOut.Instance, RestoreWait);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    // Subscriptions held until the journal's history is in (no stash: that would give this hot-path actor a deque mailbox).
    private List<RegistryCommands.SetSubscriptions>? _held;
    private List<(RecentAlerts.Get Get, IActorRef Asker)>? _heldRecent;

    /// <summary>Until the journal's history is in: everything but subscriptions is served as usual.</summary>
    private void AwaitingRestore()
    {
        Receive<RegistryCommands.SetSubscriptions>(set => (_held ??= []).Add(set));
        Receive<RecentAlerts.Get>(get => (_heldRecent ??= []).Add((get, Sender))); // answered from the restored history
        Receive<RestoreTimedOut>(_ =>
        {
            _log.Warning("No history from the journal within {0:0} s; resumes are served from what arrives from now on", RestoreWait.TotalSeconds);
            BecomeServing();
        });
        Receive<RegistryCommands.RestoreHistory>(r =>
        {
            Restore(r);
            BecomeServing();
        });
        Serving();
    }

    private void BecomeServing()
    {
        Timers.Cancel(nameof(RestoreTimedOut));
        Become(Serving);
        foreach (var set in _held ?? []) SetOrRead(set);
        foreach (var (get, asker) in _heldRecent ?? []) asker.Tell(RecentAlerts.Collect(_histories, get.Window, Context.System.Scheduler.Now));
        _held = null;
        _heldRecent = null;
    }

    private void Serving()
    {
        Receive<RegistryCommands.PublishToTopic>(p =>
        {
            if (_fillGaps && HeldForFill(Streams.Of(p.Topic), p.Frame, p)) return;
            PublishToTopic(p);
        });
        Receive<RegistryCommands.PublishToAll>(p =>
        {
            if (_fillGaps && HeldForFill(Streams.All, p.Frame, p)) return;
            PublishToAll(p);
        });
        Receive<WakeWriters>(_ => WakeAll());
        Receive<RegistryCommands.AnnounceHeads>(a =>
        {
            for (var stream = 0; stream < Math.Min(a.Heads.Count, Streams.Count); stream++)
            {
                if (a.Heads[stream] is not { } head) continue;
                if (_fillGaps && _filling[stream] is not null) continue; // the fill brings the stream to its head; the next announcement checks again
                if (_fillGaps && _histories[stream].GapUpTo(head) is { } missed) StartFill(stream, head.Epoch, missed, head);
                else if (_histories[stream].Announce(head) is { } gap) TellGap(stream, gap, head);
            }
            _positionsChanged++;
        });
        Receive<RegistryCommands.JournalRead>(read =>
        {
            foreach (var parked in _parked.Values)
                if (parked.Reader.Equals(Sender))
                {
                    Unpark(parked, read.Entries);
                    return;
                }
            for (var stream = 0; stream < Streams.Count; stream++)
                if (_filling[stream] is { } fill && fill.Reader.Equals(Sender))
                {
                    FinishFill(stream, fill, read.Entries);
                    return;
                }
        });
        Receive<GapFill.TimedOut>(t =>
        {
            if (_filling[t.Stream] is not { } fill || !fill.Reader.Equals(t.Reader)) return;
            Context.Stop(fill.Reader);
            FinishFill(t.Stream, fill, null);
        });
        Receive<RegistryCommands.GetHeads>(_ => Sender.Tell(new RegistryCommands.Heads(CurrentHeads())));
        Receive<ResumeReadTimedOut>(t =>
        {
            if (!_parked.TryGetValue(t.Connection, out var parked) || !parked.Reader.Equals(t.Reader)) return;
            Context.Stop(parked.Reader);
            Unpark(parked, null);
        });
        Receive<RegistryCommands.SetSubscriptions>(SetOrRead);
        Receive<Terminated>(t =>
        {
            if (_parked.Remove(t.ActorRef, out var parked))
            {
                Context.Stop(parked.Reader);
                Timers.Cancel((nameof(ParkedResume), t.ActorRef));
            }
            Forget(t.ActorRef);
        });
        Receive<RegistryCommands.GetStats>(_ => Sender.Tell(CurrentStats()));
        Receive<RegistryCommands.RestoreHistory>(Restore); // a journal started again (the database was away)
        Receive<RecentAlerts.Get>(q => Sender.Tell(RecentAlerts.Collect(_histories, q.Window, Context.System.Scheduler.Now)));
    }

    public static Props Props(TrafficMetrics? metrics = null, HistorySettings? history = null, bool awaitRestore = false, bool fillGaps = false) =>
        Akka.Actor.Props.Create(() => new TopicRegistryActor(metrics, history, awaitRestore, fillGaps));

    private void PublishToTopic(RegistryCommands.PublishToTopic p)
    {
        Remember(p.Topic, p.Frame);
        Counted(p.Topic, _byTopic[(int)p.Topic].Count, Deliver(_byTopic[(int)p.Topic], p.Frame));
    }

    private void PublishToAll(RegistryCommands.PublishToAll p)
    {
        Remember(null, p.Frame);
        Counted(null, _connections.Count, Deliver(_connections.Values, p.Frame));
    }

    /// <summary>
    /// Holds <paramref name="publish"/> while its stream is being filled, or starts a fill when it shows
    /// that this node missed messages just before it.
    /// </summary>
    /// <returns>Whether it was held (delivered later, after the missed messages).</returns>
    private bool HeldForFill(int stream, ServerFrame frame, object publish)
    {
        if (_filling[stream] is { } fill)
        {
            fill.Held.Add(publish);
            if (fill.Held.Count >= GapFill.MaxHeld) FinishFill(stream, fill, null); // too long a wait: told as a gap
            return true;
        }
        if (frame.Sequence is not { } sequence || _histories[stream].GapBefore(sequence) is not { } missed) return false;
        StartFill(stream, sequence.Epoch, missed, null).Held.Add(publish);
        return true;
    }

    private GapFill StartFill(int stream, string epoch, (long From, long To) missed, StreamPosition? announced)
    {
        var range = new JournalRange(stream, epoch, missed.From, missed.To);
        var reader = Context.ActorOf(JournalRangeReaderActor.Props([range]));
        var fill = new GapFill(range, reader, announced);
        _filling[stream] = fill;
        Timers.StartSingleTimer((nameof(GapFill), stream), new GapFill.TimedOut(stream, reader), GapFill.ReadWait);
        return fill;
    }

    /// <summary>
    /// Delivers the missed messages read from the journal, then what was held, in order. Where the
    /// journal did not have them all (or was not read in time), the subscribers are told of the gap
    /// (<see cref="TellGap"/>, as without persistence) and what was held goes on after it.
    /// </summary>
    private void FinishFill(int stream, GapFill fill, IReadOnlyList<StreamJournal.Entry>? entries)
    {
        _filling[stream] = null;
        Timers.Cancel((nameof(GapFill), stream));
        var filled = entries is not null && fill.Missed.IsCompletedBy(entries);
        if (filled)
        {
            _log.Info("This node missed offsets {0}..{1} of {2}; read them from the journal and delivered them in order",
                fill.Missed.From, fill.Missed.To, Streams.Name(stream));
            foreach (var entry in entries!)
                if (entry.Topic is { } topic) PublishToTopic(new RegistryCommands.PublishToTopic(topic, entry.Frame));
                else PublishToAll(new RegistryCommands.PublishToAll(entry.Frame));
        }
        else if (fill.Announced is { } head && _histories[stream].Announce(head) is { } gap)
        {
            TellGap(stream, gap, head);
        }
        // After a fill each held one may show a new gap (and start a new fill); after a failed one the first tells the gap.
        foreach (var publish in fill.Held)
            switch (publish)
            {
                case RegistryCommands.PublishToTopic toTopic when !(filled && HeldForFill(stream, toTopic.Frame, toTopic)):
                    PublishToTopic(toTopic);
                    break;
                case RegistryCommands.PublishToAll toAll when !(filled && HeldForFill(stream, toAll.Frame, toAll)):
                    PublishToAll(toAll);
                    break;
            }
        _positionsChanged++;
    }

    private void Restore(RegistryCommands.RestoreHistory restore)
    {
        var now = Context.System.Scheduler.Now;
        // Arrivals in the journal's order, before every live one: a resume across streams replays them in the order numbered.
        var first = _restoredArrivals;
        _restoredArrivals += restore.Entries.Count;
        var numbered = restore.Entries.Select((entry, i) => (Entry: entry, Arrival: first + i)).ToList();
        for (var stream = 0; stream < Streams.Count; stream++)
        {
            var mine = numbered.Where(e => e.Entry.Stream == stream).Select(e => (e.Entry.Frame, e.Entry.At, e.Arrival));
            _histories[stream].Restore(mine, restore.Heads.Count > stream ? restore.Heads[stream] : null, now);
        }
        _positionsChanged++;
    }

    /// <summary>
    /// A failure restarts the registry empty (the guardian's default). Its connections would then
    /// silently receive nothing more, so every one of them is told to close with 1012 (service
    /// restart: reconnect); reconnecting, each registers with the new instance and gets a fresh SNAPSHOT.
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        _log.Error(reason, "Topic registry failed on {0}; closing its {1} connections with 1012 so that they reconnect",
            message?.GetType().Name ?? "(none)", _connections.Count);
        WakeAll(); // what was queued still leaves, before the close
        foreach (var connection in _connections.Keys.Concat(_parked.Keys))
            connection.Tell(new ConnectionCommands.CloseWith(CloseCodes.ServiceRestart, "service restart: reconnect"));
        base.PreRestart(reason, message);
    }

    /// <summary>A restarted registry serves at once: the journal's history came (or not) to the failed instance.</summary>
    protected override void PostRestart(Exception reason) => Become(Serving);

    protected override void PostStop() => WakeAll(); // a socket told to wait is never left waiting

    /// <summary>
    /// <see cref="Set"/>, unless its resume needs messages older than the memory history that the journal
    /// may still hold (persistence): then it waits while they are read (<see cref="JournalRangeReaderActor"/>),
    /// and so do the connection's later changes. Live messages meanwhile go into the history, so the
    /// resume, once served, still sends everything after the client's position, in order.
    /// </summary>
    private void SetOrRead(RegistryCommands.SetSubscriptions command)
    {
        if (_parked.TryGetValue(command.Connection, out var waiting))
        {
            waiting.Later.Enqueue(command);
            return;
        }
        if (!_fillGaps || command.Since is not { } since || _parked.Count >= MaxResumesReading || OlderThanHeld(since) is not { Count: > 0 } ranges)
        {
            Set(command);
            return;
        }
        var notBefore = (Context.System.Scheduler.Now - _timeToLive).ToUnixTimeMilliseconds(); // what resumes may reach, as from memory
        var reader = Context.ActorOf(JournalRangeReaderActor.Props(ranges, notBefore));
        _parked[command.Connection] = new ParkedResume(command, reader);
        Context.Watch(command.Connection);
        Timers.StartSingleTimer((nameof(ParkedResume), command.Connection), new ResumeReadTimedOut(command.Connection, reader), GapFill.ReadWait);
    }

    private List<JournalRange> OlderThanHeld(ResumeRequest since)
    {
        var ranges = new List<JournalRange>();
        foreach (var (stream, position) in since.Positions)
            if (_histories[stream].OlderThanHeld(position) is { } older) ranges.Add(new JournalRange(stream, position.Epoch, older.From, older.To));
        return ranges;
    }

    /// <summary>Serves a parked resume with what the journal gave (null: nothing, it is answered from memory), then the connection's later changes.</summary>
    private void Unpark(ParkedResume parked, IReadOnlyList<StreamJournal.Entry>? entries)
    {
        _parked.Remove(parked.Command.Connection);
        Timers.Cancel((nameof(ParkedResume), parked.Command.Connection));
        List<StreamHistory.Entry>?[]? older = null;
        if (entries is not null)
        {
            older = new List<StreamHistory.Entry>?[Streams.Count];
            var arrival = long.MinValue; // in the journal's order, before every message held in memory (restored ones included)
            foreach (var entry in entries) (older[entry.Stream] ??= []).Add(new StreamHistory.Entry(entry.Frame, arrival++, entry.At));
        }
        Set(parked.Command, older);
        while (parked.Later.TryDequeue(out var next)) SetOrRead(next);
    }

    private void Set(RegistryCommands.SetSubscriptions command, List<StreamHistory.Entry>?[]? older = null)
    {
        if (!_connections.TryGetValue(command.Connection, out var subscriber))
        {
            subscriber = new Subscriber(command.Connection, command.Socket);
            _connections.Add(command.Connection, subscriber);
            Context.Watch(command.Connection);
        }

        foreach (var topic in Topics.Every)
        {
            if (command.Topics.Contains(topic)) _byTopic[(int)topic].Add(subscriber);
            else _byTopic[(int)topic].Remove(subscriber);
        }
        _metrics?.SubscriptionsChanged(subscriber.Topics, command.Topics);
        subscriber.Topics = command.Topics;

        // A refused follow-up (SNAPSHOT, ack) closes the connection like any refused frame; it is no publish's drop.
        if (command.ThenSend is { } frame) Send(subscriber, frame);
        var needState = command.Snapshot is not null;
        if (command.Since is { } since) needState = Resume(subscriber, since, command.NeedState, older);
        if (needState && command.Snapshot is { } state) Send(subscriber, SnapshotWithPositions(state));
    }

    /// <summary>
    /// Sends RESUMED and then what the client missed on every stream it named, in the order the
    /// messages arrived here, in this one turn: no publish can come between, none is sent twice.
    /// </summary>
    /// <returns>Whether the client still needs the state: a topic of <paramref name="needState"/> was not recovered or not named.</returns>
    /// <param name="older">By stream: messages older than the memory history, read from the journal for this resume.</param>
    private bool Resume(Subscriber subscriber, ResumeRequest since, TopicSet needState, List<StreamHistory.Entry>?[]? older)
    {
        var now = Context.System.Scheduler.Now;
        var missed = new List<StreamHistory.Entry>();
        var outcomes = new List<ResumeOutcome>(since.Positions.Count);
        var stateNeeded = false;
        foreach (var (stream, position) in since.Positions.OrderBy(p => p.Key))
        {
            var outcome = older?[stream] is { } read
                ? _histories[stream].ResumeWith(stream, position, now, missed, read)
                : _histories[stream].Resume(stream, position, now, missed);
            outcomes.Add(outcome);
            if (!outcome.Recovered && stream != Streams.All) stateNeeded = true;
        }
        foreach (var topic in needState.Members())
            if (!since.Positions.ContainsKey((int)topic)) stateNeeded = true;
        Send(subscriber, ServerMessages.Resumed(outcomes, now));
        missed.Sort((a, b) => a.Arrival.CompareTo(b.Arrival));
        foreach (var entry in missed) Send(subscriber, entry.Frame);
        _metrics?.CountResume(outcomes.Count(o => o.Recovered), outcomes.Count(o => !o.Recovered), missed.Count);
        return stateNeeded;
    }

    /// <summary>The state with every stream's position, made once per change of either, not once per client.</summary>
    private ServerFrame SnapshotWithPositions(ServerFrame state)
    {
        if (_snapshot is { } cached && ReferenceEquals(cached.State, state) && cached.Version == _positionsChanged) return cached.WithPositions;
        var frame = ServerMessages.WithPositions(state, CurrentHeads());
        _snapshot = (state, _positionsChanged, frame);
        return frame;
    }

    private void Remember(Topic? topic, ServerFrame frame)
    {
        if (frame.Sequence is null) return; // not numbered (a spec's frame): nothing to resume to
        var stream = Streams.Of(topic);
        if (_histories[stream].Append(frame, ++_arrivals, Context.System.Scheduler.Now) is { } gap)
            TellGap(stream, gap, new StreamPosition(frame.Sequence.Epoch, frame.Sequence.PreviousOffset));
        _positionsChanged++;
    }

    /// <summary>
    /// This node missed messages of a stream (a message between nodes lost): never silently. Its live
    /// subscribers of the stream are told at once, before the next message, as a resume that could not
    /// recover (RESUMED, reason <see cref="ResumeOutcome.Gap"/>, where the stream continues from); the app
    /// tells its user, and the topic's next UPDATE brings its whole state.
    /// </summary>
    private void TellGap(int stream, (long From, long To) gap, StreamPosition continuesFrom)
    {
        var subscribers = stream == Streams.All ? _connections.Values.ToList() : _byTopic[stream].ToList();
        _log.Warning("This node missed offsets {0}..{1} of {2} (a message between nodes lost); its {3} subscribers are told (RESUMED, reason gap)",
            gap.From, gap.To, Streams.Name(stream), subscribers.Count);
        var notice = ServerMessages.Resumed([new ResumeOutcome(stream, false, ResumeOutcome.Gap, continuesFrom, null)], Context.System.Scheduler.Now);
        foreach (var subscriber in subscribers) Send(subscriber, notice);
    }

    private StreamPosition?[] CurrentHeads() => _histories.Select(h => h.Head).ToArray();

    /// <returns>How many subscribers refused the frame (full queues).</returns>
    private int Deliver(HashSet<Subscriber> subscribers, ServerFrame frame)
    {
        var refused = 0;
        foreach (var subscriber in subscribers)
            if (!Send(subscriber, frame)) refused++;
        return refused;
    }

    private int Deliver(Dictionary<IActorRef, Subscriber>.ValueCollection subscribers, ServerFrame frame)
    {
        var refused = 0;
        foreach (var subscriber in subscribers)
            if (!Send(subscriber, frame)) refused++;
        return refused;
    }

    /// <summary>
    /// Once a socket has refused a frame it gets nothing more from here: a later frame that found room
    /// would leave a gap the client cannot see (it would resume from past it, and lose the refused one).
    /// What was queued before still goes out, then the close (1013), and the client resumes from there.
    /// </summary>
    private bool Send(Subscriber subscriber, ServerFrame frame)
    {
        if (subscriber.Overflowed) return false;
        switch (subscriber.Socket.Offer(frame))
        {
            case Offered.Queued:
                return true;
            case Offered.QueuedWake:
                if (_toWake.Count == 0) Self.Tell(WakeWriters.Instance);
                _toWake.Add(subscriber.Socket);
                return true;
        }
        // Tell the connection once; it closes the socket and its Terminated removes it here.
        subscriber.Overflowed = true;
        subscriber.Connection.Tell(SocketEvents.OutboundOverflow.Instance);
        return false;
    }

    private void WakeAll()
    {
        foreach (var socket in _toWake) socket.Wake();
        _toWake.Clear();
    }

    private void Counted(Topic? topic, int offered, int refused) =>
        _metrics?.CountFanOut(topic, delivered: offered - refused, refused: refused);

    private void Forget(IActorRef connection)
    {
        if (!_connections.Remove(connection, out var subscriber)) return;
        foreach (var set in _byTopic) set.Remove(subscriber);
        _metrics?.SubscriptionsChanged(subscriber.Topics, TopicSet.None);
        _log.Debug("Forgot connection {0}", connection.Path.Name);
    }

    private RegistryCommands.Stats CurrentStats() =>
        new(_connections.Count, Topics.Every.ToDictionary(t => t, t => _byTopic[(int)t].Count));
}
