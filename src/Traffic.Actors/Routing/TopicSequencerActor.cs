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
/// </summary>
public sealed class TopicSequencerActor : ReceiveActor, IWithTimers, IWithStash
{
    public const long TakeOverJump = 1_000_000;
    public static readonly TimeSpan AnnounceInterval = TimeSpan.FromSeconds(5);

    /// <summary>A forwarder silent this long is forgotten (see <c>_takenFrom</c>).</summary>
    public static readonly TimeSpan ForwarderForgottenAfter = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan HeadsWait = TimeSpan.FromSeconds(3);

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
    public TopicSequencerActor(IActorRef publisher, IActorRef registry)
    {
        _publisher = publisher;
        _registry = registry;
        Receive<RegistryCommands.Heads>(h => Start(h.Positions));
        Receive<HeadsTimedOut>(_ =>
        {
            _log.Warning("No answer from this node's registry within {0:0.0} s; the sequencer starts new epochs", HeadsWait.TotalSeconds);
            Start(new StreamPosition?[Streams.Count]);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    public static Props Props(IActorRef publisher, IActorRef registry) =>
        Akka.Actor.Props.Create(() => new TopicSequencerActor(publisher, registry));

    protected override void PreStart()
    {
        _registry.Tell(RegistryCommands.GetHeads.Instance);
        Timers.StartSingleTimer(nameof(HeadsTimedOut), HeadsTimedOut.Instance, HeadsWait);
    }

    private void Start(IReadOnlyList<StreamPosition?> heads)
    {
        Timers.Cancel(nameof(HeadsTimedOut));
        var newEpoch = StreamPosition.NewEpoch();
        var continued = new List<string>();
        for (var stream = 0; stream < Streams.Count; stream++)
        {
            if (stream < heads.Count && heads[stream] is { } head)
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
        AnnounceHeads();
        Timers.StartPeriodicTimer(nameof(Announce), Announce.Instance, AnnounceInterval);
        Become(Numbering);
        Stash.UnstashAll();
    }

    private void Numbering()
    {
        Receive<SequencerCommands.PublishEntities>(Number);
        Receive<SequencerCommands.PublishData>(Number);
        Receive<SequencerCommands.Forwarded>(f =>
        {
            // Each number once, in order: a repeat is acknowledged again, one past a gap waits for the resend.
            // A new sequencer starts each forwarder's count where the forwarder says it still waits, so a
            // new publish that overtakes the resent ones is not taken before them (they would then look like repeats).
            var taken = Math.Max(_takenFrom.TryGetValue(f.Origin, out var last) ? last.Taken : 0, f.OldestUnacknowledged - 1);
            if (f.Number == taken + 1)
            {
                if (f.Publish is SequencerCommands.PublishEntities entities) Number(entities);
                else if (f.Publish is SequencerCommands.PublishData data) Number(data);
                taken = f.Number;
            }
            _takenFrom[f.Origin] = (taken, Now);
            if (f.Number <= taken) f.ReplyTo.Tell(new SequencerCommands.ForwardedUpTo(f.Origin, taken));
        });
        Receive<Announce>(_ =>
        {
            AnnounceHeads();
            ForgetSilentForwarders();
        });
        Receive<RegistryCommands.Heads>(_ => { }); // a late answer
    }

    private void ForgetSilentForwarders()
    {
        foreach (var (origin, entry) in _takenFrom.Where(e => Now - e.Value.Heard > ForwarderForgottenAfter).ToList())
        {
            _takenFrom.Remove(origin);
            _log.Info("Sequencer forgets forwarder {0} (last number {1}): silent for {2:0} min", origin, entry.Taken, ForwarderForgottenAfter.TotalMinutes);
        }
    }

    private void Number(SequencerCommands.PublishEntities p)
    {
        var sequence = Next((int)p.Topic);
        var delta = DeltaOf(p.Topic, p.Entities);
        Publish(p.Topic, ServerMessages.Update(p.Topic, p.Entities, Now, sequence, delta));
        _lastUpdates[(int)p.Topic] = new LastUpdate(sequence.Offset, ById(p.Entities));
    }

    private void Number(SequencerCommands.PublishData p)
    {
        // A raw UPDATE replaces a client's list with whatever it holds: no delta can start from it.
        if (p.Type == ServerMessageType.Update && p.Topic is { } topic) _lastUpdates[(int)topic] = null;
        Publish(p.Topic, ServerMessages.Published(p.Type, p.Topic, p.DataJson, Now, Next(Streams.Of(p.Topic))));
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

    private void Publish(Topic? topic, ServerFrame frame) =>
        _publisher.Tell(topic is { } one ? new RegistryCommands.PublishToTopic(one, frame) : new RegistryCommands.PublishToAll(frame));

    /// <summary>Where each stream stands: the last offset numbered (before the first message after a take-over: the last one known).</summary>
    private void AnnounceHeads() =>
        _publisher.Tell(new RegistryCommands.AnnounceHeads(
            Enumerable.Range(0, Streams.Count).Select(s => (StreamPosition?)new StreamPosition(_epochs[s], _previous[s])).ToArray()));

    private DateTimeOffset Now => Context.System.Scheduler.Now;
}
