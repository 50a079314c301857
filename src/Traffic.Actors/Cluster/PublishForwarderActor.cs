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
/// At most <see cref="MaxPending"/> publishes wait; past that the oldest are dropped, logged once per outage.
/// A publish sent as <see cref="SequencerCommands.PublishAndConfirm"/> is confirmed to its sender when
/// the sequencer acknowledges it (with persistence: once written), refused if it is dropped.
/// </summary>
public sealed class PublishForwarderActor : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan ResendInterval = TimeSpan.FromSeconds(1);
    public const int MaxPending = 10_000;

    private sealed record Resend
    {
        public static readonly Resend Instance = new();
    }

    private readonly IActorRef _sequencer;
    private readonly string _origin = Guid.NewGuid().ToString("N")[..12]; // this incarnation: a restarted node numbers anew
    private readonly LinkedList<SequencerCommands.Forwarded> _pending = new();
    private readonly Dictionary<long, IActorRef> _confirmTo = new(); // by number: who waits for a confirmation
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _next;
    private DateTime _lastProgress = DateTime.UtcNow;
    private bool _overflowLogged;

    /// <param name="sequencer">The sequencer singleton's proxy.</param>
    public PublishForwarderActor(IActorRef sequencer)
    {
        _sequencer = sequencer;
        Receive<SequencerCommands.PublishEntities>(Forward);
        Receive<SequencerCommands.PublishData>(Forward);
        Receive<SequencerCommands.PublishAndConfirm>(c =>
        {
            Forward(c.Publish);
            _confirmTo[_next] = Sender;
        });
        Receive<SequencerCommands.ForwardedUpTo>(ack =>
        {
            if (ack.Origin != _origin) return;
            var removed = false;
            while (_pending.First is { } first && first.Value.Number <= ack.Number)
            {
                _pending.RemoveFirst();
                if (_confirmTo.Remove(first.Value.Number, out var waiting)) waiting.Tell(SequencerCommands.PublishConfirmed.Instance);
                removed = true;
            }
            if (!removed) return;
            _lastProgress = DateTime.UtcNow;
            _overflowLogged = false;
        });
        Receive<Resend>(_ =>
        {
            if (_pending.Count == 0 || DateTime.UtcNow - _lastProgress < ResendInterval) return;
            _log.Debug("Sending {0} unacknowledged publishes to the sequencer again", _pending.Count);
            var oldest = _pending.First!.Value.Number;
            foreach (var forwarded in _pending) _sequencer.Tell(forwarded with { OldestUnacknowledged = oldest });
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef sequencer) => Akka.Actor.Props.Create(() => new PublishForwarderActor(sequencer));

    protected override void PreStart() => Timers.StartPeriodicTimer(nameof(Resend), Resend.Instance, ResendInterval);

    private void Forward(object publish)
    {
        if (_pending.Count == 0) _lastProgress = DateTime.UtcNow;
        var number = ++_next;
        if (_pending.Count >= MaxPending)
        {
            var dropped = _pending.First!.Value.Number;
            _pending.RemoveFirst();
            if (_confirmTo.Remove(dropped, out var waiting))
                waiting.Tell(new SequencerCommands.PublishRefused("the sequencer is not answering; try again shortly"));
            if (!_overflowLogged) _log.Warning("The sequencer has acknowledged nothing for a while: more than {0} publishes wait; dropping the oldest", MaxPending);
            _overflowLogged = true;
        }
        var oldest = _pending.First?.Value.Number ?? number;
        var forwarded = new SequencerCommands.Forwarded(_origin, number, oldest, publish, Self);
        _pending.AddLast(forwarded);
        _sequencer.Tell(forwarded);
    }
}
