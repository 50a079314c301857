using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Connections;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Tests.Support;
using Xunit;
using Traffic.Actors.Transport;

namespace Traffic.Tests.Actors;

public sealed class TopicRegistrySpecs : TestKit
{
    private readonly IActorRef _registry;

    public TopicRegistrySpecs() => _registry = Sys.ActorOf(TopicRegistryActor.Props());

    /// <summary>A connection stand-in: a probe as the actor (for Watch/Terminated) and a probe socket.</summary>
    private (TestProbe Connection, ProbeSocket Socket) Connect(TopicSet topics)
    {
        var connection = CreateTestProbe();
        var socket = new ProbeSocket(CreateTestProbe());
        _registry.Tell(new RegistryCommands.SetSubscriptions(connection.Ref, socket, topics, null));
        return (connection, socket);
    }

    private static ServerFrame Update(Topic topic, string marker) =>
        ServerMessages.Published(ServerMessageType.Update, topic, System.Text.Encoding.UTF8.GetBytes($"\"{marker}\""), DateTimeOffset.UtcNow);

    private RegistryCommands.Stats Stats()
    {
        _registry.Tell(RegistryCommands.GetStats.Instance);
        return ExpectMsg<RegistryCommands.Stats>();
    }

    [Fact]
    public void A_publish_reaches_exactly_the_subscribers_of_its_topic()
    {
        var (_, cameras) = Connect(TopicSet.Of(Topic.Cameras));
        var (_, weather) = Connect(TopicSet.Of(Topic.Weather));
        var (_, both) = Connect(TopicSet.Of(Topic.Cameras, Topic.Weather));

        var frame = Update(Topic.Cameras, "c1");
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Cameras, frame));

        Assert.Same(frame, cameras.Probe.ExpectMsg<ServerFrame>());
        Assert.Same(frame, both.Probe.ExpectMsg<ServerFrame>());
        // The weather subscriber must not get it: a later weather publish is the next thing it sees.
        var weatherFrame = Update(Topic.Weather, "w1");
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Weather, weatherFrame));
        Assert.Same(weatherFrame, weather.Probe.ExpectMsg<ServerFrame>());
        Assert.Same(weatherFrame, both.Probe.ExpectMsg<ServerFrame>());
        cameras.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void The_same_encoded_frame_is_handed_to_every_subscriber()
    {
        var sockets = Enumerable.Range(0, 5).Select(_ => Connect(TopicSet.All).Socket).ToArray();
        var frame = Update(Topic.Accidents, "a");
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Accidents, frame));
        foreach (var socket in sockets) Assert.Same(frame, socket.Probe.ExpectMsg<ServerFrame>());
    }

    [Fact]
    public void Publish_to_all_reaches_every_connection_even_one_with_no_topics()
    {
        var (_, none) = Connect(TopicSet.None);
        var (_, some) = Connect(TopicSet.Of(Topic.Patterns));
        var frame = ServerMessages.Published(ServerMessageType.Alert, null, "{}"u8, DateTimeOffset.UtcNow);
        _registry.Tell(new RegistryCommands.PublishToAll(frame));
        Assert.Same(frame, none.Probe.ExpectMsg<ServerFrame>());
        Assert.Same(frame, some.Probe.ExpectMsg<ServerFrame>());
    }

    [Fact]
    public void Setting_subscriptions_replaces_the_whole_set_and_sends_the_follow_up_frame_after_it_holds()
    {
        var connection = CreateTestProbe();
        var socket = new ProbeSocket(CreateTestProbe());
        _registry.Tell(new RegistryCommands.SetSubscriptions(connection.Ref, socket, TopicSet.Of(Topic.Cameras), null));
        var ack = ServerMessages.SubscriptionAck(true, TopicSet.Of(Topic.Weather), TopicSet.Of(Topic.Weather), DateTimeOffset.UtcNow);
        _registry.Tell(new RegistryCommands.SetSubscriptions(connection.Ref, socket, TopicSet.Of(Topic.Weather), ack));
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Cameras, Update(Topic.Cameras, "gone")));
        var weather = Update(Topic.Weather, "w");
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Weather, weather));

        Assert.Same(ack, socket.Probe.ExpectMsg<ServerFrame>());
        Assert.Same(weather, socket.Probe.ExpectMsg<ServerFrame>()); // and no cameras frame in between
        var stats = Stats();
        Assert.Equal(1, stats.Clients);
        Assert.Equal(0, stats.Subscribers[Topic.Cameras]);
        Assert.Equal(1, stats.Subscribers[Topic.Weather]);
    }

    [Fact]
    public void A_terminated_connection_is_forgotten()
    {
        var (connection, socket) = Connect(TopicSet.All);
        var (_, other) = Connect(TopicSet.All);
        Assert.Equal(2, Stats().Clients);

        Sys.Stop(connection.Ref);
        AwaitAssert(() => Assert.Equal(1, Stats().Clients), TimeSpan.FromSeconds(10));

        var frame = Update(Topic.Cameras, "after");
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Cameras, frame));
        Assert.Same(frame, other.Probe.ExpectMsg<ServerFrame>());
        socket.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.All(Stats().Subscribers.Values, count => Assert.Equal(1, count));
    }

    [Fact]
    public void A_full_outbound_queue_is_reported_to_the_connection_once()
    {
        var (connection, socket) = Connect(TopicSet.All);
        socket.Accepting = false;
        for (var i = 0; i < 3; i++) _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Cameras, Update(Topic.Cameras, $"{i}")));
        connection.ExpectMsg<SocketEvents.OutboundOverflow>();
        connection.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void After_a_refused_frame_a_socket_gets_nothing_more_so_the_client_never_sees_a_gap()
    {
        var (connection, socket) = Connect(TopicSet.All);
        socket.Accepting = false;
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Accidents, Update(Topic.Accidents, "refused")));
        connection.ExpectMsg<SocketEvents.OutboundOverflow>();
        socket.Accepting = true; // the queue drained a little: the next frame would fit
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Accidents, Update(Topic.Accidents, "after")));
        _registry.Tell(RegistryCommands.GetStats.Instance);
        ExpectMsg<RegistryCommands.Stats>();
        socket.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Metrics_count_subscribers_and_each_publishs_delivered_and_refused_frames_once()
    {
        using var meter = new System.Diagnostics.Metrics.Meter("registry-spec");
        var metrics = new Traffic.Actors.Metrics.TrafficMetrics(meter);

        var registry = Sys.ActorOf(TopicRegistryActor.Props(metrics));
        var sockets = Enumerable.Range(0, 3).Select(_ => new ProbeSocket(CreateTestProbe())).ToArray();
        var connections = sockets.Select(_ => CreateTestProbe()).ToArray();
        for (var i = 0; i < 3; i++)
            registry.Tell(new RegistryCommands.SetSubscriptions(connections[i].Ref, sockets[i], i < 2 ? TopicSet.Of(Topic.Cameras) : TopicSet.Of(Topic.Weather), null));
        sockets[1].Accepting = false;

        registry.Tell(new RegistryCommands.PublishToTopic(Topic.Cameras, Update(Topic.Cameras, "m")));
        registry.Tell(RegistryCommands.GetStats.Instance);
        ExpectMsg<RegistryCommands.Stats>(); // the publish has been fanned out

        Assert.Equal(2, metrics.SubscribersOf(Topic.Cameras));
        Assert.Equal(1, metrics.SubscribersOf(Topic.Weather));
        Assert.Equal(1, metrics.DeliveredOf(Topic.Cameras));
        Assert.Equal(1, metrics.DroppedOf(Topic.Cameras));

        Sys.Stop(connections[0].Ref);
        AwaitAssert(() => Assert.Equal(1, metrics.SubscribersOf(Topic.Cameras)), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_refused_follow_up_frame_is_not_counted_against_the_next_publish()
    {
        using var meter = new System.Diagnostics.Metrics.Meter("registry-follow-up-spec");
        var metrics = new Traffic.Actors.Metrics.TrafficMetrics(meter);
        var registry = Sys.ActorOf(TopicRegistryActor.Props(metrics));
        var full = new ProbeSocket(CreateTestProbe()) { Accepting = false };
        var ack = ServerMessages.SubscriptionAck(true, TopicSet.Of(Topic.Cameras), TopicSet.Of(Topic.Cameras), DateTimeOffset.UtcNow);
        registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, full, TopicSet.Of(Topic.Cameras), ack)); // refused
        var healthy = new ProbeSocket(CreateTestProbe());
        registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, healthy, TopicSet.Of(Topic.Weather), null));

        registry.Tell(new RegistryCommands.PublishToTopic(Topic.Weather, Update(Topic.Weather, "w")));
        healthy.Probe.ExpectMsg<ServerFrame>();
        registry.Tell(RegistryCommands.GetStats.Instance);
        ExpectMsg<RegistryCommands.Stats>();

        Assert.Equal(1, metrics.DeliveredOf(Topic.Weather));
        Assert.Equal(0, metrics.DroppedOf(Topic.Weather));
    }

    /// <summary>A socket adapter with a bug: every send throws.</summary>
    private sealed class BrokenSocket : IClientSocket
    {
        public string RemoteAddress => "127.0.0.1:1";
        public void Start(IActorRef connection) { }
        public bool TrySend(ServerFrame frame) => throw new InvalidOperationException("a bug in a socket adapter");
        public void Close(int status, string reason) { }
        public void Abort() { }
    }

    [Fact]
    public void A_registry_that_fails_tells_every_connection_to_reconnect_with_1012_and_serves_new_ones()
    {
        var (first, _) = Connect(TopicSet.All);
        var broken = CreateTestProbe();
        _registry.Tell(new RegistryCommands.SetSubscriptions(broken.Ref, new BrokenSocket(), TopicSet.All, null));

        // Throws: restarted. Two errors are expected and kept out of the log: Akka's report of the
        // failure and the registry's own line saying it closes its connections.
        EventFilter.Exception<InvalidOperationException>().Expect(2, () =>
            _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Cameras, Update(Topic.Cameras, "boom"))));
        foreach (var connection in new[] { first, broken })
            Assert.Equal(new ConnectionCommands.CloseWith(CloseCodes.ServiceRestart, "service restart: reconnect"),
                connection.ExpectMsg<ConnectionCommands.CloseWith>());

        var (_, fresh) = Connect(TopicSet.Of(Topic.Weather)); // the restarted registry serves whoever reconnects
        var frame = Update(Topic.Weather, "after");
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Weather, frame));
        Assert.Same(frame, fresh.Probe.ExpectMsg<ServerFrame>());
        Assert.Equal(1, Stats().Clients);
    }
    /// <summary>
    /// Like the real socket: an Offer to an idle socket answers QueuedWake, and what is queued reaches
    /// the probe only when the socket is woken (each wake is reported as <see cref="Woken"/>).
    /// </summary>
    private sealed class WakeableSocket(TestProbe probe) : IClientSocket
    {
        public sealed record Woken(int Frames);

        private readonly List<ServerFrame> _queued = new();
        private bool _wakeOwed;

        public string RemoteAddress => "127.0.0.1:2";
        public void Start(IActorRef connection) { }
        public void Close(int status, string reason) { }
        public void Abort() { }

        public bool TrySend(ServerFrame frame)
        {
            if (Offer(frame) == Offered.QueuedWake) Wake();
            return true;
        }

        public Offered Offer(ServerFrame frame)
        {
            lock (_queued)
            {
                _queued.Add(frame);
                if (_wakeOwed) return Offered.Queued;
                _wakeOwed = true;
                return Offered.QueuedWake;
            }
        }

        public void Wake()
        {
            lock (_queued)
            {
                probe.Ref.Tell(new Woken(_queued.Count));
                foreach (var frame in _queued) probe.Ref.Tell(frame);
                _queued.Clear();
                _wakeOwed = false;
            }
        }
    }

    /// <summary>
    /// A socket whose first Offer holds the registry's thread until the spec lets it go: whatever the
    /// spec tells the registry meanwhile is in its mailbox, behind the publish being fanned out.
    /// </summary>
    private sealed class GateSocket(Offered answer = Offered.Queued, TestProbe? wakes = null) : IClientSocket, IDisposable
    {
        public sealed record Woken;

        private readonly ManualResetEventSlim _entered = new();
        private readonly ManualResetEventSlim _open = new();

        public void Wake() => wakes?.Ref.Tell(new Woken());

        public string RemoteAddress => "127.0.0.1:3";
        public void Start(IActorRef connection) { }
        public bool TrySend(ServerFrame frame) => Offer(frame) != Offered.Refused;
        public void Close(int status, string reason) { }
        public void Abort() { }

        public Offered Offer(ServerFrame frame)
        {
            _entered.Set();
            Assert.True(_open.Wait(TimeSpan.FromSeconds(30)), "the spec opens the gate");
            return answer;
        }

        /// <summary>Waits until the registry is inside <see cref="Offer"/>.</summary>
        public void AwaitEntered() => Assert.True(_entered.Wait(TimeSpan.FromSeconds(30)), "the registry offers to the gate");
        public void Open() => _open.Set();

        public void Dispose()
        {
            _open.Set();
            _entered.Dispose();
        }
    }

    [Fact]
    public void Under_a_burst_each_idle_socket_is_woken_once_after_every_waiting_publish_is_queued_to_it_and_they_leave_in_publish_order()
    {
        // The registry is held inside a fan-out while a burst of five publishes lands in its mailbox.
        using var gate = new GateSocket();
        _registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, gate, TopicSet.Of(Topic.Patterns), null));
        var probes = new[] { CreateTestProbe(), CreateTestProbe() };
        foreach (var probe in probes)
            _registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, new WakeableSocket(probe), TopicSet.Of(Topic.Cameras), null));
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Patterns, Update(Topic.Patterns, "hold")));
        gate.AwaitEntered();
        var frames = Enumerable.Range(1, 5).Select(i => Update(Topic.Cameras, $"c{i}")).ToArray();
        foreach (var frame in frames) _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Cameras, frame));
        gate.Open();

        // Each socket is woken once, with the whole burst queued, which then leaves in publish order;
        // a registry that woke a socket at its first frame would wake it with one frame queued.
        foreach (var probe in probes)
        {
            Assert.Equal(new WakeableSocket.Woken(frames.Length), probe.ExpectMsg<WakeableSocket.Woken>());
            foreach (var frame in frames) Assert.Same(frame, probe.ExpectMsg<ServerFrame>());
        }
        _registry.Tell(RegistryCommands.GetStats.Instance);
        ExpectMsg<RegistryCommands.Stats>(); // the registry has handled everything sent to it: no second wake is owed
        foreach (var probe in probes) probe.ExpectNoMsg(TimeSpan.Zero);

        // Idle again: the next publish wakes each socket once more, with that one frame.
        var next = Update(Topic.Cameras, "c6");
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Cameras, next));
        foreach (var probe in probes)
        {
            Assert.Equal(new WakeableSocket.Woken(1), probe.ExpectMsg<WakeableSocket.Woken>());
            Assert.Same(next, probe.ExpectMsg<ServerFrame>());
        }
    }

    [Fact]
    public void A_registry_that_stops_wakes_the_sockets_it_owed_a_wake()
    {
        var wakes = CreateTestProbe();
        using var gate = new GateSocket(Offered.QueuedWake, wakes);
        _registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, gate, TopicSet.Of(Topic.Patterns), null));
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Patterns, Update(Topic.Patterns, "owed")));
        gate.AwaitEntered();
        Watch(_registry);
        Sys.Stop(_registry); // handled before the WakeWriters the fan-out is about to send itself
        gate.Open();
        ExpectTerminated(_registry);
        wakes.ExpectMsg<GateSocket.Woken>();
    }

    [Fact]
    public void A_registry_that_fails_wakes_the_sockets_it_owed_a_wake_before_it_restarts()
    {
        var wakes = CreateTestProbe();
        using var gate = new GateSocket(Offered.QueuedWake, wakes);
        _registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, gate, TopicSet.Of(Topic.Patterns), null));
        var broken = CreateTestProbe();
        _registry.Tell(new RegistryCommands.SetSubscriptions(broken.Ref, new BrokenSocket(), TopicSet.Of(Topic.Cameras), null));
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Patterns, Update(Topic.Patterns, "owed")));
        gate.AwaitEntered();
        _registry.Tell(new RegistryCommands.PublishToTopic(Topic.Cameras, Update(Topic.Cameras, "boom"))); // before the WakeWriters: fails
        gate.Open();
        broken.ExpectMsg<ConnectionCommands.CloseWith>();
        wakes.ExpectMsg<GateSocket.Woken>(); // by the failing instance; the restarted one owes nothing
        _registry.Tell(RegistryCommands.GetStats.Instance);
        ExpectMsg<RegistryCommands.Stats>();
        wakes.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void Metrics_count_a_frame_queued_to_an_idle_socket_as_delivered_and_every_frame_after_an_overflow_as_dropped()
    {
        using var meter = new System.Diagnostics.Metrics.Meter("registry-wake-metrics-spec");
        var metrics = new Traffic.Actors.Metrics.TrafficMetrics(meter);
        var registry = Sys.ActorOf(TopicRegistryActor.Props(metrics));
        var idle = CreateTestProbe();
        registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, new WakeableSocket(idle), TopicSet.Of(Topic.Cameras), null));
        var full = new ProbeSocket(CreateTestProbe()) { Accepting = false };
        var fullConnection = CreateTestProbe();
        registry.Tell(new RegistryCommands.SetSubscriptions(fullConnection.Ref, full, TopicSet.Of(Topic.Weather), null));

        registry.Tell(new RegistryCommands.PublishToTopic(Topic.Cameras, Update(Topic.Cameras, "c")));
        idle.ExpectMsg<WakeableSocket.Woken>();
        registry.Tell(new RegistryCommands.PublishToTopic(Topic.Weather, Update(Topic.Weather, "w1"))); // refused: overflow
        fullConnection.ExpectMsg<SocketEvents.OutboundOverflow>();
        full.Accepting = true; // room again, but a socket that refused gets nothing more
        registry.Tell(new RegistryCommands.PublishToTopic(Topic.Weather, Update(Topic.Weather, "w2")));
        registry.Tell(RegistryCommands.GetStats.Instance);
        ExpectMsg<RegistryCommands.Stats>();

        Assert.Equal(1, metrics.DeliveredOf(Topic.Cameras));
        Assert.Equal(0, metrics.DroppedOf(Topic.Cameras));
        Assert.Equal(0, metrics.DeliveredOf(Topic.Weather));
        Assert.Equal(2, metrics.DroppedOf(Topic.Weather));
    }

    [Fact]
    public void Metrics_count_a_publish_to_all_under_the_all_stream()
    {
        using var meter = new System.Diagnostics.Metrics.Meter("registry-all-metrics-spec");
        var metrics = new Traffic.Actors.Metrics.TrafficMetrics(meter);
        var registry = Sys.ActorOf(TopicRegistryActor.Props(metrics));
        var open = new ProbeSocket(CreateTestProbe());
        var full = new ProbeSocket(CreateTestProbe()) { Accepting = false };
        registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, open, TopicSet.None, null));
        registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, new ProbeSocket(CreateTestProbe()), TopicSet.Of(Topic.Cameras), null));
        registry.Tell(new RegistryCommands.SetSubscriptions(CreateTestProbe().Ref, full, TopicSet.All, null));
        registry.Tell(new RegistryCommands.PublishToAll(ServerMessages.Published(ServerMessageType.Alert, null, "{}"u8, DateTimeOffset.UtcNow)));
        registry.Tell(RegistryCommands.GetStats.Instance);
        ExpectMsg<RegistryCommands.Stats>();
        Assert.Equal(2, metrics.DeliveredOf(null));
        Assert.Equal(1, metrics.DroppedOf(null));
    }
}
