using Akka.Configuration;

namespace Traffic.Tests.Support;

public static class VirtualTime
{
    /// <summary>ActorSystem config whose scheduler only moves when a spec calls TestScheduler.Advance.</summary>
    public static readonly Config Config = ConfigurationFactory.ParseString(
        "akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"");
}
