using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Traffic.Actors.Routing;

namespace Traffic.Actors.Cluster;

/// <summary>
/// One per node: subscribed to <see cref="ClusterTopics.Frames"/>, it passes every publish of the
/// cluster to this node's <see cref="TopicRegistryActor"/> (one local hop per publish, none per
/// subscriber).
/// It also says <see cref="Hello"/> on that topic every <see cref="HelloInterval"/> and notes whose
/// hellos reach it: DistributedPubSub learns of a new node's subscriber a second or two after the
/// node is Up, and until then publishes from that node would miss this one (and the other way
/// round). <see cref="GetReach"/> tells which nodes' publishes arrive here; the node is ready for
/// clients when every member's do.
/// </summary>
public sealed class ClusterFanOutActor : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan HelloInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan HelloForgottenAfter = TimeSpan.FromSeconds(5);

    /// <summary>"Publishes from <paramref name="Node"/> reach you": sent on the frames topic by every node.</summary>
    public sealed record Hello(string Node);

    /// <summary>Asks which nodes' publishes reach this one; answered with <see cref="Reach"/>.</summary>
    public sealed record GetReach
    {
        public static readonly GetReach Instance = new();
    }

    /// <summary>The addresses of the nodes whose hello arrived in the last few seconds.</summary>
    public sealed record Reach(IReadOnlySet<string> Nodes);

    private sealed record SayHello
    {
        public static readonly SayHello Instance = new();
    }

    private readonly IActorRef _mediator;
    private readonly Dictionary<string, DateTime> _heard = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public ClusterFanOutActor(IActorRef mediator, IActorRef registry, string selfAddress)
    {
        _mediator = mediator;
        var hello = new Publish(ClusterTopics.Frames, new Hello(selfAddress));
        Receive<RegistryCommands.PublishToTopic>(p => registry.Tell(p));
        Receive<RegistryCommands.PublishToAll>(p => registry.Tell(p));
        Receive<RegistryCommands.AnnounceHeads>(a => registry.Tell(a));
        Receive<Hello>(h =>
        {
            if (!_heard.ContainsKey(h.Node)) _log.Info("Publishes from {0} reach this node", h.Node);
            _heard[h.Node] = DateTime.UtcNow;
        });
        Receive<SayHello>(_ =>
        {
            _mediator.Tell(hello);
            ForgetSilentNodes();
        });
        Receive<GetReach>(_ =>
        {
            var since = DateTime.UtcNow - HelloForgottenAfter;
            Sender.Tell(new Reach(_heard.Where(h => h.Value >= since).Select(h => h.Key).ToHashSet()));
        });
        Receive<SubscribeAck>(_ => _log.Debug("Subscribed to the cluster's {0} topic", ClusterTopics.Frames));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// A node whose hellos stopped (it left, or restarted under a new address) is no longer listed:
    /// the map holds the nodes heard from lately, not every node that was ever a member.
    /// </summary>
    private void ForgetSilentNodes()
    {
        var since = DateTime.UtcNow - HelloForgottenAfter;
        foreach (var node in _heard.Where(h => h.Value < since).Select(h => h.Key).ToList())
        {
            _heard.Remove(node);
            _log.Info("No publishes from {0} for {1:0} s: forgotten until it says hello again", node, HelloForgottenAfter.TotalSeconds);
        }
    }

    public static Props Props(IActorRef mediator, IActorRef registry, string selfAddress) =>
        Akka.Actor.Props.Create(() => new ClusterFanOutActor(mediator, registry, selfAddress));

    protected override void PreStart()
    {
        _mediator.Tell(new Subscribe(ClusterTopics.Frames, Self));
        Timers.StartPeriodicTimer(nameof(SayHello), SayHello.Instance, HelloInterval);
    }
}
