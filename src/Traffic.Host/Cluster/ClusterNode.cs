using System.Diagnostics.Metrics;
using Akka;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Event;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Traffic.Actors.Cluster;
using Traffic.Actors.Connections;
using Traffic.Actors.Metrics;
using Traffic.Host.Configuration;
using Traffic.Actors.Transport;

namespace Traffic.Host.Cluster;

/// <summary>The host's side of cluster mode: remoting, clustering, split brain resolver, leaving.</summary>
public static class ClusterNode
{
    /// <summary>What a leaving node tells its clients: reconnect, another node serves you (RFC 6455: 1012 service restart).</summary>
    public static readonly ConnectionHubCommands.CloseAll CloseForRestart =
        new(CloseCodes.ServiceRestart, "service restart: reconnect, another node serves you");

    /// <summary>How long a client that connects to a node that has no state yet waits for its SNAPSHOT.</summary>
    public static readonly TimeSpan SnapshotWaitLimit = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan CloseAllTimeout = TimeSpan.FromSeconds(5);

    public static void Configure(AkkaConfigurationBuilder akka, ClusterNodeOptions cluster, ServiceOptions options, TrafficMetrics metrics,
        ILoggerFactory loggers)
    {
        var remote = new RemoteOptions
        {
            HostName = cluster.BindHostname ?? cluster.Hostname,
            PublicHostName = cluster.Hostname,
            Port = cluster.Port,
        };
        if (cluster.Tls is { Certificate: { } certificate, Authority: { } authority })
        {
            // Mutual TLS (docs/operations.md, "Cluster security"): both sides present a certificate
            // and both check the other's against the cluster's CA only; host names are not checked.
            remote.EnableSsl = true;
            remote.Ssl = new SslOptions
            {
                X509Certificate = certificate,
                SuppressValidation = false,
                RequireMutualAuthentication = true,
                ValidateCertificateHostname = false,
                CustomValidator = new ClusterCertificateValidator(authority, loggers.CreateLogger<ClusterCertificateValidator>()).Callback,
            };
        }
        else if (cluster.Tls.Warning is { } warning)
        {
            loggers.CreateLogger(typeof(ClusterNode).FullName!).LogWarning("{Warning}", warning);
        }

        akka.AddHoconFile(Path.Combine(AppContext.BaseDirectory, "hocon", "cluster.hocon"), HoconAddMode.Prepend)
            .WithRemoting(remote)
            .WithClustering(new ClusterOptions
            {
                SeedNodes = cluster.SeedNodes.Count > 0 ? cluster.SeedNodes.ToArray() : null,
                SplitBrainResolver = new KeepMajorityOption(),
            })
            .WithBootstrap(cluster.Discovery)
            .AddHocon($"akka.cluster.split-brain-resolver.stable-after = {(long)cluster.StableAfter.TotalMilliseconds}ms", HoconAddMode.Prepend)
            .AddClusterServices(options.Schedule, options.SimulatorEnabled ? options.Simulation : null, SnapshotWaitLimit, metrics, options.Ingest,
                options.Persistence.Kind == PersistenceKind.None ? null : options.History, options.StateLimits)
            .WithActors((system, _) =>
            {
                var self = Akka.Cluster.Cluster.Get(system);
                // No seed nodes and no discovery: this node starts a cluster of its own, which others may join.
                // With discovery the bootstrap decides who starts the cluster (the lowest contact point), never each node.
                if (cluster.JoinsItself) self.Join(self.SelfAddress);
                AddMemberGauges(metrics.Meter, self);
            });
    }

    /// <summary>
    /// Whenever this node leaves the cluster (SIGTERM, or downed by the split brain resolver), its
    /// clients are closed with 1012 before the cluster is left, so they reconnect elsewhere at once.
    /// </summary>
    public static void AddLeaveHooks(AkkaConfigurationBuilder akka) =>
        akka.WithActors((system, registry) =>
        {
            var hub = registry.Get<ConnectionHubActor>();
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "close-websockets", async () =>
            {
                try { await hub.Ask<Done>(CloseForRestart, CloseAllTimeout); }
                catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
                {
                    system.Log.Warning("Leaving the cluster: this node's clients were not all closed (1012) within {0:0} s; leaving anyway",
                        CloseAllTimeout.TotalSeconds);
                }
                return Done.Instance;
            });
        });

    private static void AddMemberGauges(Meter meter, Akka.Cluster.Cluster cluster)
    {
        var statuses = Enum.GetValues<Akka.Cluster.MemberStatus>();
        meter.CreateObservableGauge("traffic.cluster.members", () =>
        {
            var members = cluster.State.Members;
            return statuses.Select(status => new Measurement<int>(members.Count(m => m.Status == status),
                new KeyValuePair<string, object?>("status", status.ToString().ToLowerInvariant())));
        }, unit: "{node}", description: "Members of the cluster as this node sees them, per status");
        meter.CreateObservableGauge("traffic.cluster.unreachable", () => cluster.State.Unreachable.Count,
            unit: "{node}", description: "Members this node's failure detector finds unreachable");
    }
}
