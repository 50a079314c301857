using System.Diagnostics.Metrics;
using System.Net;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Connections;
using Traffic.Actors.Metrics;
using Traffic.Actors.Routing;
using Traffic.Actors.Sources;
using Traffic.Host.Admission;
using Traffic.Host.Api;
using Traffic.Host.Cluster;
using Traffic.Host.Configuration;
using Traffic.Host.Ingest;
using Traffic.Host.Lifetime;
using Traffic.Host.Memory;
using Traffic.Host.Persistence;
using Traffic.Actors.Cluster;
using Traffic.Host.WebSockets;

namespace Traffic.Host;

/// <summary>Composes the service: configuration, the actors, the WebSocket endpoint and the HTTP API.</summary>
public static class TrafficApp
{
    /// <param name="args">Command-line arguments.</param>
    /// <param name="settings">Settings that win over the environment (tests use this).</param>
    /// <param name="configureAkka">Extra Akka configuration applied last (tests use this, e.g. for shorter cluster timings).</param>
    public static WebApplication Create(string[] args, IReadOnlyDictionary<string, string?>? settings = null,
        Action<AkkaConfigurationBuilder>? configureAkka = null)
    {
        // The content root is the application's own folder (appsettings.json, hocon/, wwwroot/ sit
        // beside the dll), whatever the working directory it was started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);

        var options = ServiceOptions.From(builder.Configuration);
        options.CheckKeys(builder.Environment.IsDevelopment());
        builder.Services.AddSingleton(options);
        var store = PersistenceStore.Open(options.Persistence); // a corrupt or busy file stops the start here
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(DashboardSettings.From(builder.Configuration));
        builder.WebHost.ConfigureKestrel(kestrel => Listen(kestrel, options));
        builder.Services.AddProblemDetails();
        builder.Services.AddHostedService<IdleMemoryReclaimer>(); // gives a storm's memory back once it is quiet
        if (StopWhenLauncherEnds.Requested(builder.Configuration)) builder.Services.AddHostedService<StopWhenLauncherEnds>();
        builder.Services.AddTrafficHealthChecks();
        // Admission (docs/operations.md, "Limits and admission"): one policy for both ways a WebSocket arrives.
        var forwarded = ClientAddress.OptionsFor(options.Admission);
        builder.Services.AddSingleton(forwarded);
        builder.Services.AddSingleton(new HostPolicy(options.Admission.AllowedHosts));
        builder.Services.AddSingleton(new RefusalLogGate());
        builder.Services.AddSingleton(new HandshakeLimiter(options.Admission.MaxHandshakesPerAddress, options.Admission.TrustedProxies));
        builder.Services.AddSingleton(new OriginPolicy(options.Admission.AllowedOrigins, builder.Environment.IsDevelopment()));
        builder.Services.AddSingleton(new ConnectionLimiter(options.Admission.MaxConnections, options.Admission.MaxConnectionsPerAddress));
        builder.Services.AddSingleton<WebSocketAdmission>();
        builder.Services.AddPublishRateLimiting(options);
        builder.Services.AddSingleton(services => new FailedKeyAttempts(options.KeyFailuresPerMinute,
            services.GetRequiredService<ILogger<FailedKeyAttempts>>()));
        builder.Services.AddSingleton(services => new TrafficMetrics(
            services.GetRequiredService<IMeterFactory>().Create(TrafficMetrics.MeterName)));
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("hcmc-traffic-realtime"))
            .WithMetrics(metrics => metrics
            .AddMeter(TrafficMetrics.MeterName)
            // The runtime's own meter (.NET 9+, no package): process memory, GC collections and heap sizes, CPU time
            // (dotnet_process_memory_working_set_bytes, dotnet_gc_collections_total, ...; deploy/monitoring uses them).
            .AddMeter("System.Runtime")
            .AddPrometheusExporter());
        builder.Services.AddAkka(ClusterNodeOptions.SystemName, (akka, services) =>
        {
            ConfigureAkka(akka, options, store, services.GetRequiredService<TrafficMetrics>(), services.GetRequiredService<ILoggerFactory>(),
                AkkaLogLevel.From(services.GetRequiredService<IConfiguration>()));
            configureAkka?.Invoke(akka);
        });
        // After AddAkka: hosted services start in order, and the ingest waits for the aggregator.
        if (options.Ingest is not null) builder.Services.AddNgsiLdIngest(options);

        var app = builder.Build();
        app.Logger.LogInformation("Persistence: {Persistence}", options.Persistence);
        if (options.Tls.Certificate is { } tls)
            app.Logger.LogInformation("TLS on port {HttpsPort} ({Subject}, valid until {NotAfter:u}, from {Source}); plain HTTP {Http}",
                options.Tls.HttpsPort, tls.Subject, tls.NotAfter.ToUniversalTime(), options.Tls.Source,
                options.Tls.HttpEnabled ? $"on port {options.Port}" : "off (HTTP_ENABLED=false)");
        app.Lifetime.ApplicationStopped.Register(store.Dispose); // the SQLite file's lock is let go once Akka has stopped
        if (options.PersistenceNotice is { } notice) app.Logger.LogWarning("{Notice}", notice);
        if (options.Ingest is not null && options.NotifyApiKey is null && options.PublishApiKey is not null)
            app.Logger.LogWarning("POST /ngsi-ld/notify takes the publish key (PUBLISH_API_KEY), which the broker's subscription then holds in clear text: " +
                                  "set NGSI_LD_NOTIFY_KEY to give notifications a key of their own");
        if (options.Cluster?.Discovery is { } management) ManagementEndpoint.UseManagementPort(app, management); // before anything else answers
        app.UseForwardedHeaders(forwarded);
        HostPolicy.UseHostCheck(app, app.Services.GetRequiredService<HostPolicy>(), app.Services.GetRequiredService<ILogger<HostPolicy>>(),
            app.Services.GetRequiredService<RefusalLogGate>()); // ALLOWED_HOSTS, before anything answers (DNS rebinding)
        app.UseStatusCodePages();
        UseDashboard(app);
        app.UseRouting(); // after the dashboard's files: `/` is the WebSocket endpoint's route too
        app.UseRateLimiter();
        app.UseMiddleware<ActivityTrackingUpgradeMiddleware>(); // must wrap the upgrade before UseWebSockets
        app.UseWebSockets();
        app.MapTrafficWebSockets();
        app.MapPublish();
        app.MapNgsiLdNotify(options); // with the ingest off, an answer that says so
        app.MapStats();
        app.MapDashboard(); // GET /dashboard/settings, GET /api/alerts/recent
        app.MapTrafficHealthChecks();
        app.MapPrometheusScrapingEndpoint(); // GET /metrics

        // Close every client as soon as shutdown begins, instead of letting the web server wait out
        // its timeout on connections that never end by themselves: 1001 on a single node; 1012
        // (service restart: reconnect, another node serves you) when a cluster node leaves.
        // Registered once started: a start that fails (the port is taken) disposes the services
        // before the stop callbacks run, and there are no clients to close then.
        var closeAll = options.Cluster is null ? ConnectionHubCommands.CloseAll.Instance : ClusterNode.CloseForRestart;
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var hub = app.Services.GetRequiredService<IRequiredActor<ConnectionHubActor>>().ActorRef;
            app.Lifetime.ApplicationStopping.Register(() => hub.Tell(closeAll));
        });
        return app;
    }

    /// <summary>
    /// The listeners: plain HTTP on WS_PORT (unless HTTP_ENABLED=false) and, with a certificate, TLS on
    /// HTTPS_PORT, both on WS_HOST. The direct WebSocket path (Kestrel connection middleware that reads the
    /// first request head itself) must see the bytes HTTP sees: on a TLS listener it is added after
    /// <c>UseHttps</c>, so that it reads decrypted bytes (middleware added first runs first, on the raw socket).
    /// </summary>
    private static void Listen(KestrelServerOptions kestrel, ServiceOptions options)
    {
        // Not through ConfigureEndpointDefaults: those run when a listener is made, before its UseHttps, and
        // would put the direct path in front of TLS, reading the ClientHello as a request head.
        if (options.Cluster?.Discovery is { } discovery) ManagementEndpoint.Listen(kestrel, discovery, Bind);
        if (options.Tls.HttpEnabled) Bind(kestrel, options.ListenHost, options.Port, listen => listen.Use(next => Direct(next, listen)));
        if (options.Tls.Certificate is not { } certificate) return;
        Bind(kestrel, options.ListenHost, options.Tls.HttpsPort, listen =>
        {
            // HTTP/1.1 only, as on the plain port: a WebSocket is an HTTP/1.1 upgrade on both accept paths
            // (with HTTP/2 offered, browsers would negotiate it and send every WebSocket as an RFC 8441 CONNECT).
            listen.Protocols = HttpProtocols.Http1;
            listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = certificate, ServerCertificateChain = options.Tls.Chain });
            listen.Use(next => Direct(next, listen)); // after TLS: decrypted bytes
        });
    }

    private static ConnectionDelegate Direct(ConnectionDelegate next, ListenOptions listen) =>
        new DirectWebSocketMiddleware(next, listen.ApplicationServices).OnConnectionAsync;

    /// <summary>Binds <paramref name="host"/> as a URL's host would be: "localhost" (both loopbacks), an IP address, or any other name: every address.</summary>
    private static void Bind(KestrelServerOptions kestrel, string host, int port, Action<ListenOptions> configure)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)) kestrel.ListenLocalhost(port, configure);
        else if (IPAddress.TryParse(host.Trim('[', ']'), out var address)) kestrel.Listen(address, port, configure);
        else kestrel.ListenAnyIP(port, configure); // "*", "+", a machine's name: as UseUrls binds them
    }

    /// <summary>
    /// The dashboard and the client library (wwwroot, copied to the build output): a plain GET of
    /// `/` is the page, while a WebSocket upgrade to `/` (or `/ws`) goes on to the endpoint. Most
    /// upgrades never get here (DirectWebSocketMiddleware takes them first); this serves the ones
    /// that come on a reused keep-alive connection.
    /// </summary>
    private static void UseDashboard(WebApplication app)
    {
        var root = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        if (!Directory.Exists(root)) return;
        var files = new PhysicalFileProvider(root);
        var csp = app.Services.GetRequiredService<DashboardSettings>().ContentSecurityPolicy;
        var types = new FileExtensionContentTypeProvider();
        types.Mappings[".ts"] = "text/plain; charset=utf-8"; // the client library's .d.ts, for editors
        app.UseWhen(context => !context.Request.Headers.Upgrade.ToString().Contains("websocket", StringComparison.OrdinalIgnoreCase),
            page => page
                .Use((context, next) =>
                {
                    // The page talks only to the service that serves it, is never framed, and its files are taken for what they say they are.
                    var headers = context.Response.Headers;
                    headers.ContentSecurityPolicy = csp; // img-src also allows DASHBOARD_TILE_URL's origin when set
                    headers.XContentTypeOptions = "nosniff";
                    headers["Referrer-Policy"] = "no-referrer";
                    return next(context);
                })
                .UseDefaultFiles(new DefaultFilesOptions { FileProvider = files })
                .UseStaticFiles(new StaticFileOptions { FileProvider = files, ContentTypeProvider = types }));
    }

    private static void ConfigureAkka(AkkaConfigurationBuilder akka, ServiceOptions options, PersistenceStore store, TrafficMetrics metrics,
        ILoggerFactory loggers, Akka.Event.LogLevel logLevel)
    {
        akka.AddHoconFile(Path.Combine(AppContext.BaseDirectory, "hocon", "akka.hocon"), HoconAddMode.Prepend)
            .ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = logLevel;
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            })
            // With persistence the registry holds resumes until the journal's history is back in it (in a cluster: read by every node),
            // and reads what this node missed of a stream (a message between nodes lost) from the journal.
            .AddTopicRegistry(metrics, options.History, awaitRestore: store.Enabled, fillGaps: store.Enabled);
        store.Configure(akka);

        if (options.Cluster is { } cluster)
        {
            // Scale-out: DistributedPubSub between the nodes, the aggregator (and the simulated feed)
            // as cluster singletons, a snapshot replica on every node (docs/architecture.md, "Cluster").
            ClusterNode.Configure(akka, cluster, options, metrics, loggers);
            akka.AddConnectionHub(options.Connection, metrics);
            ClusterNode.AddLeaveHooks(akka);
            return;
        }

        if (store.Enabled) akka.WithTrafficSerializer(); // what the journal writes
        akka.AddTopicSequencer(store.Enabled ? options.History : null)
            .AddAggregator(options.Schedule, metrics, persisted: store.Enabled, options.StateLimits)
            .AddConnectionHub(options.Connection, metrics);
        if (options.SimulatorEnabled) akka.AddSimulatedFeed(options.Simulation);
    }
}
