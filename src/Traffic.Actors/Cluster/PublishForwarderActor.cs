using Akka.Actor;
using Akka.Event;
using Traffic.Actors.Routing;

namespace Traffic.Actors.Cluster;

/// <summary>
/// One per node (the cluster's <see cref="SequencerInbox"/>): gets this node's publishes to the
/// sequencer singleton, also while it moves. A singleton proxy sends to the node it last knew until
/// that node is removed from the cluster, so after a crash whatever it sends for several seconds is
/// lost; this forwarder numbers its publishes (<see cref="SequencerCommands.Forwarded"/>), keeps
/// each until the sequencer acknowledges it (<see cref="SequencerCommands.ForwardedUpTo"/>, cumulative),
/// and sends every unacknowledged one again, in order, every <see cref="ResendInterval"/>. The
/// sequencer takes each number once and in order, so nothing is lost or taken twice while it stays;
/// a new sequencer may take again what the old one took but never acknowledged (at least once,
/// only across a crash of the sequencer's node).
/// At most <see cref="MaxPending"/> publishes and <see cref="MaxPendingBytes"/> of their data wait;
/// past either the oldest are dropped, logged once per outage. A publish sent as
/// <see cref="SequencerCommands.PublishAndConfirm"/> (the publish API's) is confirmed to its sender
/// when the sequencer acknowledges it (with persistence: once written), refused (503) if it is dropped.
/// </summary>
public sealed class PublishForwarderActor : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan ResendInterval = TimeSpan.FromSeconds(1);
    public const int MaxPending = 10_000;

    /// <summary>The bytes of data (entity JSON, or a publish's raw JSON) that may wait: 64 MiB.</summary>
    public const long MaxPendingBytes = 64L << 20;

    private sealed record Resend
    {
        public static readonly Resend Instance = new();
    }

    private readonly IActorRef _sequencer;
    private readonly string _origin = Guid.NewGuid().ToString("N")[..12]; // this incarnation: a restarted node numbers anew
    private readonly LinkedList<SequencerCommands.Forwarded> _pending = new();
    private readonly Dictionary<long, IActorRef> _confirmTo = new(); // by number: who waits for a confirmation
    private readonly Queue<(long UpTo, long Id, IActorRef ReplyTo)> _barriers = new(); // ConfirmWritten, oldest first
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly long _maxPendingBytes;
    private long _pendingBytes;
    private long _next;
    private DateTime _lastProgress = DateTime.UtcNow;
    private bool _overflowLogged;

    /// <param name="sequencer">The sequencer singleton's proxy.</param>
    /// <param name="maxPendingBytes">The byte bound (specs pass a small one); default <see cref="MaxPendingBytes"/>.</param>
    /// <param name="confirmOnAck">With persistence: a <see cref="SequencerCommands.PublishAndConfirm"/> is confirmed once the
    /// sequencer acknowledges it (written). Without: at once, as this forwarder takes it (it sends it until the sequencer has it).</param>
    public PublishForwarderActor(IActorRef sequencer, long maxPendingBytes = MaxPendingBytes, bool confirmOnAck = true)
    {
        _sequencer = sequencer;
        _maxPendingBytes = maxPendingBytes;
        Receive<SequencerCommands.PublishEntities>(Forward);
        Receive<SequencerCommands.PublishData>(Forward);
        Receive<SequencerCommands.PublishAndConfirm>(c =>
        {
            Forward(c.Publish);
            if (confirmOnAck) _confirmTo[_next] = Sender;
            else Sender.Tell(SequencerCommands.PublishConfirmed.Instance);
        });
        Receive<SequencerCommands.ConfirmWritten>(c =>
        {
            // Nothing waiting (or nothing to wait for without persistence): everything before it is taken already.
            if (!confirmOnAck || _pending.Count == 0) Sender.Tell(new SequencerCommands.Written(c.Id));
            else _barriers.Enqueue((_next, c.Id, Sender));
        });
        Receive<SequencerCommands.ForwardedUpTo>(ack =>
        {
            if (ack.Origin != _origin) return;
            while (_barriers.TryPeek(out var barrier) && barrier.UpTo <= ack.Number)
            {
                _barriers.Dequeue();
                barrier.ReplyTo.Tell(new SequencerCommands.Written(barrier.Id));
            }
            var removed = false;
            while (_pending.First is { } first && first.Value.Number <= ack.Number)
            {
                RemoveOldest();
                if (_confirmTo.Remove(first.Value.Number, out var waiting)) waiting.Tell(SequencerCommands.PublishConfirmed.Instance);
                removed = true;
            }
            if (!removed) return;
            _lastProgress = DateTime.UtcNow;
            _overflowLogged = false;
        });
        Receive<GetPending>(_ => Sender.Tell(new Pending(_pending.Count, _pendingBytes)));
        Receive<Resend>(_ =>
        {
            if (_pending.Count == 0 || DateTime.UtcNow - _lastProgress < ResendInterval) return;
            _log.Debug("Sending {0} unacknowledged publishes to the sequencer again", _pending.Count);
            var oldest = _pending.First!.Value.Number;
            foreach (var forwarded in _pending) _sequencer.Tell(forwarded with { OldestUnacknowledged = oldest });
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef sequencer, long maxPendingBytes = MaxPendingBytes, bool confirmOnAck = true) =>
        Akka.Actor.Props.Create(() => new PublishForwarderActor(sequencer, maxPendingBytes, confirmOnAck));

    /// <summary>Publishes waiting for the sequencer's acknowledgement, and the bytes of their data (for specs and logs).</summary>
    public sealed record GetPending
    {
        public static readonly GetPending Instance = new();
    }

    public sealed record Pending(int Count, long Bytes);

    protected override void PreStart() => Timers.StartPeriodicTimer(nameof(Resend), Resend.Instance, ResendInterval);

    private void Forward(object publish)
    {
        if (_pending.Count == 0) _lastProgress = DateTime.UtcNow;
        var number = ++_next;
        var size = SizeOf(publish);
        var dropped = 0;
        while (_pending.Count > 0 && (_pending.Count >= MaxPending || _pendingBytes + size > _maxPendingBytes))
        {
            var droppedNumber = _pending.First!.Value.Number;
            RemoveOldest();
            if (_confirmTo.Remove(droppedNumber, out var waiting))
                waiting.Tell(new SequencerCommands.PublishRefused("the sequencer is not answering; try again shortly"));
            dropped++;
        }
        // Every barrier waiting covers the dropped publishes (the oldest): none of them can be confirmed.
        while (dropped > 0 && _barriers.TryDequeue(out var barrier))
            barrier.ReplyTo.Tell(new SequencerCommands.NotWritten(barrier.Id, "the sequencer is not answering; try again shortly"));
        if (dropped > 0 && !_overflowLogged)
        {
            _log.Warning("The sequencer has acknowledged nothing for a while: more than {0} publishes or {1} bytes would wait; dropping the oldest",
                MaxPending, _maxPendingBytes);
            _overflowLogged = true;
        }
        var oldest = _pending.First?.Value.Number ?? number;
        var forwarded = new SequencerCommands.Forwarded(_origin, number, oldest, publish, Self);
        _pending.AddLast(forwarded);
        _pendingBytes += size;
        _sequencer.Tell(forwarded);
    }

    private void RemoveOldest()
    {
        _pendingBytes -= SizeOf(_pending.First!.Value.Publish);
        _pending.RemoveFirst();
    }

    /// <summary>The bytes a publish holds: its data (entity JSON, or raw JSON), what grows with what clients publish.</summary>
    private static long SizeOf(object publish) => publish switch
    {
        SequencerCommands.PublishData data => data.DataJson.Length,
        SequencerCommands.PublishEntities entities => entities.Entities.Sum(e => (long)e.Utf8Json.Length + e.Id.Length),
        _ => 0,
    };
}
