using System.Net;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// The repository's nginx configuration (deploy/nginx/traffic.conf, run by <see cref="Nginx"/>) keeps
/// the internal paths internal: /metrics, /health/ready and /api/stats are answered 404 by the proxy
/// however they are spelled, while WebSockets, the dashboard, /health and the keyed API pass.
/// One service stands for the three nodes the file lists. Starts nginx: slow.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class NginxInternalPathsSpecs : IAsyncLifetime
{
    private RunningService _service = null!;
    private ChildProcess? _nginx;
    private HttpClient _viaNginx = null!;
    private int _nginxPort;

    public async Task InitializeAsync()
    {
        if (Nginx.Binary() is null) throw new InvalidOperationException("nginx is not installed: dotnet cake --target=TestTools installs it");
        _service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });
        var port = _service.BaseAddress.Port;
        _nginxPort = ChildProcess.FreePort();
        _nginx = Nginx.Start(RepositoryRoot(), Path.Combine(Path.GetTempPath(), $"nginx-internal-{Environment.ProcessId}-{_nginxPort}"), _nginxPort, [port, port, port]);
        _viaNginx = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_nginxPort}"), Timeout = TimeSpan.FromSeconds(10) };
        await Poll.UntilAsync(async () =>
        {
            if (_nginx.HasExited) throw new Xunit.Sdk.XunitException($"nginx exited:\n{_nginx.Tail()}");
            try { return (await _viaNginx.GetAsync("/health")).IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
        }, "nginx answers");
    }

    public async Task DisposeAsync()
    {
        _viaNginx?.Dispose();
        if (_nginx is not null) await _nginx.DisposeAsync();
        await _service.DisposeAsync();
    }

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/METRICS")]
    [InlineData("/metrics/")]
    [InlineData("/%6Detrics")]
    [InlineData("/health/ready")]
    [InlineData("/Health/Ready")]
    [InlineData("/api/stats")]
    [InlineData("/api/stats?scope=cluster")]
    public async Task Internal_paths_are_not_served_through_the_proxy(string path)
    {
        Assert.Equal(HttpStatusCode.OK, (await _service.Http.GetAsync(path)).StatusCode); // the node itself serves it
        var response = await _viaNginx.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("internal", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Public_paths_pass_the_websocket_the_page_liveness_and_the_keyed_publish()
    {
        Assert.Equal(HttpStatusCode.OK, (await _viaNginx.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _viaNginx.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _viaNginx.GetAsync("/")).StatusCode);
        await using var client = await TestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{_nginxPort}/ws?topics=accidents"));
        await client.ExpectGreetingAsync();
        using var publish = new HttpRequestMessage(HttpMethod.Post, "/api/publish")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { type = "ALERT", topic = "accidents", data = new { marker = "via-proxy" } }),
        };
        publish.Headers.Add("X-Api-Key", RunningService.ApiKey);
        Assert.Equal(HttpStatusCode.Accepted, (await _viaNginx.SendAsync(publish)).StatusCode);
        await client.NextAsync(m => m.Type() == "ALERT");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Traffic.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Traffic.sln above {AppContext.BaseDirectory}");
    }
}
