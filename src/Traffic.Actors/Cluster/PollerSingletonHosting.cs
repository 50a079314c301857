using Akka.Cluster.Hosting;
using Akka.Hosting;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Hosting;
using Traffic.Actors.Ingest;

namespace Traffic.Actors.Cluster;

/// <summary>Polling of the NGSI-LD broker in a cluster: one poller for every node.</summary>
public static class PollerSingletonHosting
{
    public const string PollerSingletonName = "ngsi-ld-poller";

    /// <summary>
    /// The <see cref="PollingActor"/> runs once in the cluster (a singleton, on the oldest node): N nodes put the load
    /// of one poller on the broker, not N. When its node goes, it starts on the next oldest, seeded from the aggregator's
    /// state (so what it already knew raises no ALERT again). Nothing is sent to it, so it needs no proxy. Its node's
    /// <see cref="PollingServices"/> (HTTP client, broker and graph state, metrics) come from that node's services.
    /// </summary>
    public static AkkaConfigurationBuilder AddPollerSingleton(this AkkaConfigurationBuilder builder, IngestSettings ingest, TopicSchedule schedule) =>
        builder.Needs<AggregatorActor>(nameof(AddPollerSingleton))
            .WithSingleton<PollingActor>(PollerSingletonName,
                (_, registry, resolver) => PollingActor.Props(ingest, schedule, registry.Get<AggregatorActor>(),
                    resolver.GetService<PollingServices>()),
                new ClusterSingletonOptions { LogSingletonIdentificationFailure = false },
                createProxyToo: false);
}
