using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// An actor system on virtual time whose journal and snapshot store are Akka.Persistence.TestKit's
/// in-memory ones (one per system, so every spec has its own empty database), which a spec can make
/// fail and succeed again (<see cref="Journal"/>, <see cref="Snapshots"/>).
/// </summary>
public abstract class PersistenceSpecKit : TestKit
{
    public static readonly Config Config = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.test"
        akka.persistence.journal.test {
          class = "Akka.Persistence.TestKit.TestJournal, Akka.Persistence.TestKit"
          plugin-dispatcher = "akka.actor.default-dispatcher"
        }
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.test"
        akka.persistence.snapshot-store.test {
          class = "Akka.Persistence.TestKit.TestSnapshotStore, Akka.Persistence.TestKit"
          plugin-dispatcher = "akka.actor.default-dispatcher"
        }
        """).WithFallback(VirtualTime.Config);

    /// <summary>Generous: the machine running the specs is shared and loaded.</summary>
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    protected PersistenceSpecKit() : base(Config) { }

    protected TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    protected ITestJournal Journal => TestJournal.FromRef(Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null));

    protected ITestSnapshotStore Snapshots => TestSnapshotStore.FromRef(Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null));

    /// <summary>Advances virtual time one <paramref name="step"/> at a time (a periodic timer fires at most once per advance).</summary>
    protected void AdvanceBy(TimeSpan total, TimeSpan step, Action? afterEachStep = null)
    {
        for (var moved = TimeSpan.Zero; moved < total; moved += step)
        {
            Scheduler.Advance(step);
            afterEachStep?.Invoke();
        }
    }

    /// <summary>Stops <paramref name="actor"/> and waits until it (and its children) stopped.</summary>
    protected void StopAndWait(IActorRef actor)
    {
        var watcher = CreateTestProbe();
        watcher.Watch(actor);
        Sys.Stop(actor);
        watcher.ExpectTerminated(actor, Patience);
    }

    /// <summary>Waits until <paramref name="actor"/> has handled everything sent to it before.</summary>
    protected void Barrier(IActorRef actor)
    {
        var probe = CreateTestProbe();
        actor.Tell(new Identify("barrier"), probe.Ref);
        probe.ExpectMsg<ActorIdentity>(Patience);
    }

    /// <summary>Holds every write or read of the journal it intercepts (<c>Journal.OnWrite</c>, <c>Journal.OnRecovery</c>) until <see cref="Open"/>.</summary>
    protected sealed class JournalGate : IJournalInterceptor
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public volatile int Held;

        public void Open() => _open.TrySetResult();

        public async Task InterceptAsync(IPersistentRepresentation message)
        {
            Interlocked.Increment(ref Held);
            await _open.Task;
        }
    }

    public static SequencerCommands.PublishData Alert(Topic? topic, string marker) =>
        new(ServerMessageType.Alert, topic, Encoding.UTF8.GetBytes($$"""{"marker":"{{marker}}"}"""));

    /// <summary>A registry that answers the sequencer's <see cref="RegistryCommands.GetHeads"/> with <paramref name="heads"/>.</summary>
    protected TestProbe RegistryAnswering(params StreamPosition?[] heads)
    {
        var registry = CreateTestProbe();
        var answer = new StreamPosition?[Streams.Count];
        heads.CopyTo(answer, 0);
        registry.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (message is RegistryCommands.GetHeads) sender.Tell(new RegistryCommands.Heads(answer));
            return AutoPilot.KeepRunning;
        }));
        return registry;
    }

    /// <summary>What a fan-out probe got: the frame's topic (null: all), marker and position.</summary>
    public static (Topic? Topic, string? Marker, FrameSequence Sequence, string Type) Published(object message)
    {
        var (topic, frame) = message switch
        {
            RegistryCommands.PublishToTopic p => ((Topic?)p.Topic, p.Frame),
            RegistryCommands.PublishToAll p => (null, p.Frame),
            var other => throw new Xunit.Sdk.XunitException($"unexpected {other}"),
        };
        var json = JsonDocument.Parse(frame.Utf8Json).RootElement;
        Assert.Equal(frame.Sequence!.Epoch, json.GetProperty("epoch").GetString());
        Assert.Equal(frame.Sequence.Offset, json.GetProperty("offset").GetInt64());
        var data = json.GetProperty("data");
        var marker = data.ValueKind == JsonValueKind.Object && data.TryGetProperty("marker", out var m) ? m.GetString() : null;
        return (topic, marker, frame.Sequence, json.GetProperty("type").GetString()!);
    }

    public static string? MarkerOf(StreamJournal.Entry entry) =>
        JsonDocument.Parse(entry.Frame.Utf8Json).RootElement.GetProperty("data").GetProperty("marker").GetString();
}
