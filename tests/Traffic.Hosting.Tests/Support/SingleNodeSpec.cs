using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Akka.TestKit;
using Microsoft.Extensions.DependencyInjection;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Connections;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Actors.Sources;
using Xunit;

namespace Traffic.Hosting.Tests.Support;

/// <summary>
/// A single node's actors, started the way the host starts them: the production Akka.Hosting
/// extensions (<c>AddTopicRegistry</c>, <c>AddTopicSequencer</c>, <c>AddAggregator</c>,
/// <c>AddConnectionHub</c>, <c>AddSimulatedFeed</c>), called in the order of
/// <c>TrafficApp.ConfigureAkka</c> (src/Traffic.Host/TrafficApp.cs; private to the host) with the
/// production hocon/akka.hocon. Specs reach the actors as the host's endpoints do: through
/// <c>IRequiredActor&lt;T&gt;</c> from the host's services. Time is virtual (Akka's TestScheduler):
/// it moves only when a spec calls <see cref="Advance"/>, so the simulated city is the one a spec
/// can compute from <see cref="Seed"/> and <see cref="Origin"/>.
/// </summary>
public abstract class SingleNodeSpec(ITestOutputHelper output) : Akka.Hosting.TestKit.TestKit(output: output)
{
    protected const int Seed = 20251129;
    /// <summary>SIMULATOR_STEP_MS: 30 s, so that the first step changes a few topics (their cadences are 15 to 60 s of simulated time).</summary>
    protected static readonly TimeSpan StepInterval = TimeSpan.FromSeconds(30);

    private readonly Meter _meter = new("Traffic.Hosting.Tests");
    private TrafficMetrics? _metrics;

    /// <summary>The node's counters, as the host's <c>/metrics</c> reads them.</summary>
    protected TrafficMetrics Metrics => _metrics ??= new TrafficMetrics(_meter);

    /// <summary>Each topic's UPDATE schedule (UPDATE_INTERVALS_MS); the seed's table unless a spec says otherwise.</summary>
    protected virtual TopicSchedule Schedule => TopicSchedule.Default;

    /// <summary>
    /// HEARTBEAT_*: the default interval, and a timeout longer than any spec moves virtual time, so that
    /// a probe socket (which never reports the peer active) is not ended as silent in the middle of a spec.
    /// </summary>
    protected virtual ConnectionSettings Connection => ConnectionSettings.Default with { HeartbeatTimeout = TimeSpan.FromMinutes(10) };

    protected override Config Config => ConfigurationFactory.ParseString(
        "akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"");

    protected override void ConfigureAkka(AkkaConfigurationBuilder builder, IServiceProvider provider)
    {
        builder.AddHoconFile(Path.Combine(AppContext.BaseDirectory, "hocon", "akka.hocon"), HoconAddMode.Prepend)
            .AddTopicRegistry(Metrics, HistorySettings.Default)
            .AddTopicSequencer()
            .AddAggregator(Schedule, Metrics)
            .AddConnectionHub(Connection, Metrics)
            .AddSimulatedFeed(new SimulationSettings(Seed, StepInterval));
    }

    /// <summary>The actor the host's endpoints get for <typeparamref name="TKey"/> (an <c>IRequiredActor</c> from its services).</summary>
    protected IActorRef Required<TKey>() => Host.Services.GetRequiredService<IRequiredActor<TKey>>().ActorRef;

    protected TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    /// <summary>
    /// Where the simulated city's clock started: the scheduler's time when the feed was added, and
    /// virtual time has not moved since unless a spec advanced it.
    /// </summary>
    protected DateTimeOffset Origin { get; private set; }

    protected override Task BeforeTestStart()
    {
        Origin = Sys.Scheduler.Now;
        return base.BeforeTestStart();
    }

    protected void Advance(TimeSpan by) => Scheduler.Advance(by);

    /// <summary>Returns once <paramref name="actor"/> has handled everything sent to it before (Identify is answered in mailbox order).</summary>
    protected void Barrier(IActorRef actor) => Barrier(Sys.ActorSelection(actor.Path));

    /// <summary>The same for the actor at a path (one the host does not register, like the simulated feed); fails if there is none.</summary>
    protected void Barrier(ActorSelection actor)
    {
        var probe = CreateTestProbe();
        actor.Tell(new Identify(null), probe.Ref);
        Assert.NotNull(probe.ExpectMsg<ActorIdentity>().Subject);
    }

    /// <summary>A client connecting as the WebSocket endpoint connects one: a socket accepted through the hub.</summary>
    protected ProbeSocket Connect(TopicSet topics)
    {
        var socket = new ProbeSocket(CreateTestProbe());
        Required<ConnectionHubActor>().Tell(new ConnectionHubCommands.Accept(socket, topics));
        socket.Probe.ExpectMsg<ProbeSocket.Started>();
        return socket;
    }

    protected override async Task AfterAllAsync()
    {
        await base.AfterAllAsync();
        _meter.Dispose();
    }
}
