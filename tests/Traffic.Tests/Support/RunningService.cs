using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Traffic.Host;

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

    public static async Task<RunningService> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["WS_HOST"] = "127.0.0.1",
            ["WS_PORT"] = "0",
            ["PUBLISH_API_KEY"] = ApiKey,
            ["SIMULATOR_SEED"] = "7",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;

        var app = TrafficApp.Create([], all);
        await app.StartAsync();
        return new RunningService(app, new Uri(app.Urls.Single()));
    }

    public Uri WebSocketUri(string pathAndQuery = "/ws") =>
        new($"ws://{BaseAddress.Authority}{pathAndQuery}");

    public Task<TestClient> ConnectAsync(string pathAndQuery = "/ws", bool answerPings = true) =>
        TestClient.ConnectAsync(WebSocketUri(pathAndQuery), answerPings);

    public async Task<JsonElement> StatsAsync() =>
        await Http.GetFromJsonAsync<JsonElement>("/api/stats");

    public Task<HttpResponseMessage> PublishAsync(object body, string? apiKey = ApiKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/publish") { Content = JsonContent.Create(body) };
        if (apiKey is not null) request.Headers.Add("X-Api-Key", apiKey);
        return Http.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
