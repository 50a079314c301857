using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Traffic.Actors.Routing;
using Traffic.Host;
using Traffic.Host.Configuration;

namespace Traffic.Tests.Support;

/// <summary>The real host (Kestrel, actors, simulator) on 127.0.0.1 with a port the OS picks.</summary>
public sealed class RunningService : IAsyncDisposable
{
    public const string ApiKey = "test-publish-key";

    private readonly WebApplication _app;

    private RunningService(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseAddress { get; }
    public HttpClient Http { get; }

    /// <summary>The host's actor system (for a cluster spec: its address, its membership).</summary>
    public ActorSystem System => _app.Services.GetRequiredService<ActorSystem>();

    /// <summary>The host's services (specs that act on a part directly, e.g. fail the ingest graph on purpose).</summary>
    public IServiceProvider Services => _app.Services;

    /// <param name="configureAkka">Extra Akka configuration (cluster specs: shorter timings, crash simulation).</param>
    public static async Task<RunningService> StartAsync(IReadOnlyDictionary<string, string?>? settings = null,
        Action<AkkaConfigurationBuilder>? configureAkka = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["WS_HOST"] = "127.0.0.1",
            ["WS_PORT"] = "0",
            ["PUBLISH_API_KEY"] = ApiKey,
            ["SIMULATOR_SEED"] = "7",
            ["PERSISTENCE"] = "none", // persistence specs name their own database
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;

        var app = TrafficApp.Create([], all, configureAkka);
        await app.StartAsync();
        await NumberingAsync(app);
        return new RunningService(app, new Uri(app.Urls.Single()));
    }

    /// <summary>
    /// On a single node, until its sequencer numbers (what /health/ready waits for): a client that
    /// connects before gets a SNAPSHOT without positions. A cluster node's sequencer is a singleton elsewhere.
    /// </summary>
    private static async Task NumberingAsync(WebApplication app)
    {
        var registry = app.Services.GetRequiredService<ActorRegistry>();
        if (!registry.TryGet<TopicSequencerActor>(out var sequencer) || app.Services.GetRequiredService<ServiceOptions>().Cluster is not null) return;
        await Poll.UntilAsync(async () =>
            (await sequencer.Ask<SequencerCommands.Status>(SequencerCommands.GetStatus.Instance, TimeSpan.FromSeconds(10))).Numbering,
            "the sequencer numbering", TimeSpan.FromSeconds(60));
    }

    public Uri WebSocketUri(string pathAndQuery = "/ws") =>
        new($"ws://{BaseAddress.Authority}{pathAndQuery}");

    public Task<TestClient> ConnectAsync(string pathAndQuery = "/ws", bool answerPings = true) =>
        TestClient.ConnectAsync(WebSocketUri(pathAndQuery), answerPings);

    /// <summary>GET /api/stats as the holder of the publish key (node details are shown only to them).</summary>
    public async Task<JsonElement> StatsAsync(string query = "", string? apiKey = ApiKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/stats" + query);
        if (apiKey is not null) request.Headers.Add("X-Api-Key", apiKey);
        using var response = await Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public Task<HttpResponseMessage> PublishAsync(object body, string? apiKey = ApiKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/publish") { Content = JsonContent.Create(body) };
        if (apiKey is not null) request.Headers.Add("X-Api-Key", apiKey);
        return Http.SendAsync(request);
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
