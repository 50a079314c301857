using Akka.Discovery.Config.Hosting;
using Akka.Event;
using Akka.Discovery.KubernetesApi;
using Akka.Hosting;
using Akka.Management.Dsl;
using Akka.Management.Cluster.Bootstrap;
using Traffic.Host.Configuration;

namespace Traffic.Host.Cluster;

/// <summary>
/// A cluster that forms by itself (docs/operations.md, "Discovery"): this node's contact point on
/// its own port (<see cref="ManagementEndpoint"/>, <c>GET /bootstrap/seed-nodes</c>), a discovery
/// method that lists the nodes' contact points, and Cluster Bootstrap started with the actor system.
/// </summary>
public static class ClusterBootstrapHosting
{
    /// <summary>Nothing without <paramref name="discovery"/>: the seed list (or a cluster of its own) as before.</summary>
    public static AkkaConfigurationBuilder WithBootstrap(this AkkaConfigurationBuilder akka, ClusterDiscoveryOptions? discovery)
    {
        if (discovery is null) return akka;

        // Akka.Management's own settings, for what reads them (its HTTP server is not started: see ManagementEndpoint).
        akka.AddHocon($"""
            akka.management.http.hostname = "{discovery.ManagementHostname}"
            akka.management.http.port = {discovery.ManagementPort}
            """, HoconAddMode.Prepend);

        if (discovery.Method == DiscoveryMethod.Config)
            akka.WithConfigDiscovery(new ConfigServiceDiscoveryOptions
            {
                Services = [new Service { Name = discovery.ServiceName, Endpoints = discovery.Endpoints.ToArray() }],
            });
        else
            akka.WithKubernetesDiscovery(new KubernetesDiscoveryOptions { PodLabelSelector = discovery.PodLabelSelector });

        akka.WithClusterBootstrap(options =>
        {
            options.ContactPointDiscovery.ServiceName = discovery.ServiceName;
            options.ContactPointDiscovery.RequiredContactPointsNr = discovery.RequiredContacts;
            options.ContactPointDiscovery.StableMargin = discovery.StableMargin;
            // Contact points must all have answered (Akka's default, stated): with a fixed list this is what keeps
            // nodes started together from forming a cluster each.
            options.ContactPointDiscovery.ContactWithAllContactPoints = true;
            options.ContactPoint.ProbeInterval = discovery.ProbeInterval;
            // Akka keeps only the contact points on this node's own management port (right in Kubernetes, where every pod
            // has the same one); a config list names each node's port, which may differ (several nodes on one machine).
            options.ContactPoint.FilterOnFallbackPort = discovery.Method == DiscoveryMethod.Kubernetes;
            if (discovery.Method == DiscoveryMethod.Kubernetes)
                options.ContactPointDiscovery.PortName = ClusterDiscoveryOptions.KubernetesPortName; // the pod's container port of that name
        }, autoStart: false); // autoStart would start Akka.Management's HTTP server first, and stop the actor system when it fails

        // The bootstrap learns its own contact point from the routes it is asked for, then starts probing.
        return akka.AddStartup((system, _) =>
        {
            var bootstrap = ClusterBootstrap.Get(system);
            bootstrap.Routes(ManagementRouteProviderSettings.Create(ManagementEndpoint.SelfUri(discovery), readOnly: true));
            bootstrap.Start().ContinueWith(task => system.Log.Error(task.Exception, "Cluster Bootstrap did not start"), TaskContinuationOptions.OnlyOnFaulted);
        });
    }
}
