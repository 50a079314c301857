using Akka.Discovery.Config.Hosting;
using Akka.Discovery.KubernetesApi;
using Akka.Hosting;
using Akka.Management;
using Akka.Management.Cluster.Bootstrap;
using Traffic.Host.Configuration;

namespace Traffic.Host.Cluster;

/// <summary>
/// A cluster that forms by itself (docs/operations.md, "Discovery"): Akka.Management's HTTP
/// endpoint on its own port (the contact point, <c>GET /bootstrap/seed-nodes</c>), a discovery
/// method that lists the nodes' contact points, and Cluster Bootstrap started with the actor system.
/// </summary>
public static class ClusterBootstrapHosting
{
    /// <summary>Nothing without <paramref name="discovery"/>: the seed list (or a cluster of its own) as before.</summary>
    public static AkkaConfigurationBuilder WithBootstrap(this AkkaConfigurationBuilder akka, ClusterDiscoveryOptions? discovery)
    {
        if (discovery is null) return akka;

        akka.WithAkkaManagement(new AkkaManagementOptions
        {
            HostName = discovery.ManagementHostname,
            Port = discovery.ManagementPort,
            BindHostName = discovery.ManagementBindHostname,
            BindPort = discovery.ManagementPort,
        });

        if (discovery.Method == DiscoveryMethod.Config)
            akka.WithConfigDiscovery(new ConfigServiceDiscoveryOptions
            {
                Services = [new Service { Name = discovery.ServiceName, Endpoints = discovery.Endpoints.ToArray() }],
            });
        else
            akka.WithKubernetesDiscovery(new KubernetesDiscoveryOptions { PodLabelSelector = discovery.PodLabelSelector });

        // autoStart: the bootstrap starts Akka.Management's HTTP endpoint, then probes the contact points.
        return akka.WithClusterBootstrap(options =>
        {
            options.ContactPointDiscovery.ServiceName = discovery.ServiceName;
            options.ContactPointDiscovery.RequiredContactPointsNr = discovery.RequiredContacts;
            options.ContactPointDiscovery.StableMargin = discovery.StableMargin;
            // Contact points must all have answered (Akka's default, stated): with a fixed list this is what keeps
            // nodes started together from forming a cluster each.
            options.ContactPointDiscovery.ContactWithAllContactPoints = true;
            options.ContactPoint.ProbeInterval = discovery.ProbeInterval;
            if (discovery.Method == DiscoveryMethod.Kubernetes)
                options.ContactPointDiscovery.PortName = ClusterDiscoveryOptions.KubernetesPortName; // the pod's container port of that name
        }, autoStart: true);
    }
}
