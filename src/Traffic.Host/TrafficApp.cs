using Akka.Actor;
using Akka.Hosting;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Connections;
using Traffic.Actors.Routing;
using Traffic.Actors.Sources;
using Traffic.Host.Api;
using Traffic.Host.Configuration;
using Traffic.Host.WebSockets;

namespace Traffic.Host;

/// <summary>Composes the service: configuration, the actors, the WebSocket endpoint and the HTTP API.</summary>
public static class TrafficApp
{
    /// <param name="args">Command-line arguments.</param>
    /// <param name="settings">Settings that win over the environment (tests use this).</param>
    public static WebApplication Create(string[] args, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);

        var options = ServiceOptions.From(builder.Configuration);
        builder.Services.AddSingleton(options);
        builder.WebHost.UseUrls($"http://{options.ListenHost}:{options.Port}");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen =>
            listen.Use(next => new DirectWebSocketMiddleware(next, listen.ApplicationServices).OnConnectionAsync)));
        builder.Services.AddProblemDetails();
        builder.Services.AddAkka("traffic", akka => ConfigureAkka(akka, options));

        var app = builder.Build();
        app.UseStatusCodePages();
        app.UseMiddleware<ActivityTrackingUpgradeMiddleware>(); // must wrap the upgrade before UseWebSockets
        app.UseWebSockets();
        app.MapTrafficWebSockets();
        app.MapPublish();
        app.MapStatsAndHealth();

        // Close every client with 1001 as soon as shutdown begins, instead of letting the web
        // server wait out its timeout on connections that never end by themselves.
        app.Lifetime.ApplicationStopping.Register(() =>
            app.Services.GetRequiredService<IRequiredActor<ConnectionHubActor>>().ActorRef.Tell(ConnectionHubActor.CloseAll.Instance));
        return app;
    }

    private static void ConfigureAkka(AkkaConfigurationBuilder akka, ServiceOptions options)
    {
        akka.AddHoconFile(Path.Combine(AppContext.BaseDirectory, "hocon", "akka.hocon"), HoconAddMode.Prepend)
            .ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            })
            .AddTopicRegistry()
            .AddAggregator(options.Schedule)
            .AddConnectionHub(options.Connection);
        if (options.SimulatorEnabled) akka.AddSimulatedFeed(options.Simulation);
    }
}
