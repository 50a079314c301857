using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Traffic.Actors.Protocol;
using Traffic.Actors.Routing;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// The registry's answer to <see cref="RecentAlerts.Get"/> (GET /api/alerts/recent): the ALERTs its
/// histories hold from the window, across streams in the order they arrived, without UPDATEs.
/// </summary>
public sealed class RecentAlertsSpecs : TestKit
{
    private const string Epoch = "k3x9ab12";
    private readonly IActorRef _registry;

    public RecentAlertsSpecs() : base(VirtualTime.Config) =>
        _registry = Sys.ActorOf(TopicRegistryActor.Props(history: new HistorySettings(100, TimeSpan.FromMinutes(90))));

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private static ServerFrame Numbered(ServerMessageType type, Topic? topic, long offset, string marker) =>
        ServerMessages.Published(type, topic, Encoding.UTF8.GetBytes($$"""{"m":"{{marker}}"}"""), DateTimeOffset.UnixEpoch,
            new FrameSequence(Epoch, offset, offset - 1));

    private void Publish(ServerMessageType type, Topic? topic, long offset, string marker) =>
        _registry.Tell(topic is { } t
            ? new RegistryCommands.PublishToTopic(t, Numbered(type, t, offset, marker))
            : new RegistryCommands.PublishToAll(Numbered(type, null, offset, marker)));

    /// <summary>Lets the registry take what was told so far before the clock moves (it stamps arrivals with the virtual clock).</summary>
    private void Advance(TimeSpan by)
    {
        _registry.Tell(new Identify(null));
        ExpectMsg<ActorIdentity>();
        Scheduler.Advance(by);
    }

    private string[] Recent(TimeSpan window)
    {
        _registry.Tell(new RecentAlerts.Get(window));
        return ExpectMsg<RecentAlerts.Found>().Alerts
            .Select(f => Encoding.UTF8.GetString(f.Utf8Json))
            .Select(json => json[(json.IndexOf("\"m\":\"", StringComparison.Ordinal) + 5)..].Split('"')[0])
            .ToArray();
    }

    [Fact]
    public void The_alerts_of_the_window_come_oldest_first_across_streams_without_updates()
    {
        Publish(ServerMessageType.Alert, Topic.Accidents, 1, "old");
        Advance(TimeSpan.FromMinutes(30));
        Publish(ServerMessageType.Alert, Topic.Accidents, 2, "a1");
        Publish(ServerMessageType.Update, Topic.Accidents, 3, "u1");
        Publish(ServerMessageType.Alert, null, 1, "everyone");
        Publish(ServerMessageType.Alert, Topic.AirQuality, 1, "aqi");
        Publish(ServerMessageType.Alert, Topic.Accidents, 4, "a2");
        Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(["a1", "everyone", "aqi", "a2"], Recent(TimeSpan.FromMinutes(20)));
        Assert.Equal(["old", "a1", "everyone", "aqi", "a2"], Recent(TimeSpan.FromMinutes(60)));
        Assert.Empty(Recent(TimeSpan.FromMinutes(5)));
    }
}
