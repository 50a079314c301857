using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Management.Cluster.Bootstrap.ContactPoint;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Newtonsoft.Json;
using Traffic.Host.Configuration;

namespace Traffic.Host.Cluster;

/// <summary>
/// This node's contact point for Cluster Bootstrap: <c>GET /bootstrap/seed-nodes</c> on its own port
/// (<c>AKKA_MANAGEMENT_PORT</c>), and nothing else there. It answers what Akka.Management's own route
/// answers (the same JSON, <see cref="HttpBootstrapJsonProtocol.SeedNodes"/>), which the bootstrap's
/// probes on the other nodes read.
/// </summary>
/// <remarks>
/// Served by Kestrel, not by Akka.Management's HTTP server: that server (Akka.Http.Shim 1.5.73) is
/// built against Ceen.Httpd 0.9.9, which the package registry here does not serve, and with the
/// 0.9.10 it has the endpoint never starts (MissingMethodException in HttpServer.ListenAsync), and
/// the bootstrap then terminates the actor system. docs/operations.md, "Discovery".
/// </remarks>
public static class ManagementEndpoint
{
    public const string SeedNodesPath = "/bootstrap/seed-nodes";

    /// <summary>What Akka.Management exposes at most (ClusterBootstrapSettings.ContactPoint.MaxSeedNodesToExpose).</summary>
    private const int MaxSeedNodesToExpose = 5;

    /// <summary>The URI the other nodes probe this one at (the bootstrap's "self contact point").</summary>
    public static Uri SelfUri(ClusterDiscoveryOptions discovery) =>
        new UriBuilder(Uri.UriSchemeHttp, discovery.ManagementHostname, discovery.ManagementPort, "/").Uri;

    /// <summary>The management port's listener: plain HTTP/1.1 on the configured bind address.</summary>
    public static void Listen(KestrelServerOptions kestrel, ClusterDiscoveryOptions discovery, Action<KestrelServerOptions, string, int, Action<ListenOptions>> bind) =>
        bind(kestrel, discovery.ManagementBindHostname, discovery.ManagementPort, listen => listen.Protocols = HttpProtocols.Http1);

    /// <summary>
    /// First in the pipeline: a request on the management port gets the contact point or 404, never
    /// the service's own endpoints (nor their host checks and limits); the other ports never see it.
    /// </summary>
    public static void UseManagementPort(WebApplication app, ClusterDiscoveryOptions discovery)
    {
        var system = app.Services.GetRequiredService<ActorSystem>();
        app.Use(async (context, next) =>
        {
            if (context.Connection.LocalPort != discovery.ManagementPort)
            {
                await next(context);
                return;
            }
            if (!HttpMethods.IsGet(context.Request.Method) || context.Request.Path != SeedNodesPath)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(SeedNodesJson(Akka.Cluster.Cluster.Get(system)), context.RequestAborted);
        });
    }

    /// <summary>As Akka.Management's HttpClusterBootstrapRoutes: this node's address and up to five reachable members that are (becoming) up.</summary>
    public static string SeedNodesJson(Akka.Cluster.Cluster cluster)
    {
        var self = cluster.SelfMember;
        if (self.Status is MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Leaving or MemberStatus.Removed)
            return JsonConvert.SerializeObject(new HttpBootstrapJsonProtocol.SeedNodes(self.UniqueAddress.Address, []));

        var state = cluster.State;
        var members = state.Members
            .Where(m => !state.Unreachable.Contains(m))
            .Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining)
            .Take(MaxSeedNodesToExpose)
            .Select(m => new HttpBootstrapJsonProtocol.ClusterMember(m.UniqueAddress.Address, m.UniqueAddress.Uid, m.Status, m.Roles))
            .ToImmutableList();
        return JsonConvert.SerializeObject(new HttpBootstrapJsonProtocol.SeedNodes(self.UniqueAddress.Address, members));
    }

    /// <summary>Whether <paramref name="e"/> (Kestrel's failure to bind) is about the management port.</summary>
    public static bool IsAbout(IOException e, ClusterDiscoveryOptions? discovery) =>
        discovery is not null && e.Message.Contains($":{discovery.ManagementPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}", StringComparison.Ordinal);
}
