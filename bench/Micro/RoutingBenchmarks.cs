using Akka.Actor;
using BenchmarkDotNet.Attributes;
using Traffic.Actors.Connections;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Actors.Transport;

namespace Bench.Micro;

/// <summary>
/// One publish through the registry's mailbox to N subscribers, each a socket that only counts
/// (so what is measured is the mailbox hop plus the fan-out loop, not the network).
/// </summary>
[MemoryDiagnoser]
public class RoutingBenchmarks
{
    private sealed class CountingSocket(Counter counter) : IClientSocket
    {
        public string RemoteAddress => "bench";
        public void Start(IActorRef connection) { }
        public bool TrySend(ServerFrame frame) { counter.Increment(); return true; }
        public void Close(int status, string reason) { }
        public void Abort() { }
    }

    private sealed class Counter
    {
        private long _value;
        public void Increment() => Interlocked.Increment(ref _value);
        public long Value => Volatile.Read(ref _value);
    }

    private sealed class Idle : ReceiveActor;

    private ActorSystem _system = null!;
    private IActorRef _registry = null!;
    private readonly Counter _delivered = new();
    private RegistryCommands.PublishToTopic _publish = null!;

    [Params(1_000, 10_000)]
    public int Subscribers;

    [GlobalSetup]
    public void Setup()
    {
        _system = ActorSystem.Create("routing", "akka.loglevel = WARNING");
        _registry = _system.ActorOf(TopicRegistryActor.Props());
        for (var i = 0; i < Subscribers; i++)
        {
            var connection = _system.ActorOf(Props.Create(() => new Idle()));
            _registry.Tell(new RegistryCommands.SetSubscriptions(connection, new CountingSocket(_delivered), TopicSet.Of(Topic.Cameras), null));
        }
        _publish = new RegistryCommands.PublishToTopic(Topic.Cameras,
            ServerMessages.Published(ServerMessageType.Update, Topic.Cameras, Payloads.Data, DateTimeOffset.UtcNow));
        var stats = _registry.Ask<RegistryCommands.Stats>(RegistryCommands.GetStats.Instance).GetAwaiter().GetResult();
        if (stats.Subscribers[Topic.Cameras] != Subscribers) throw new InvalidOperationException("setup incomplete");
    }

    [GlobalCleanup]
    public void Cleanup() => _system.Terminate().Wait();

    [Benchmark(Description = "publish to N subscribers, until all enqueued")]
    public void PublishToAll()
    {
        var target = _delivered.Value + Subscribers;
        _registry.Tell(_publish);
        var spin = new SpinWait();
        while (_delivered.Value < target) spin.SpinOnce(-1);
    }
}
