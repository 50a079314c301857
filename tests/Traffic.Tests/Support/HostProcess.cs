using System.Net.Http.Json;

namespace Traffic.Tests.Support;

/// <summary>
/// The built service as an operator runs it: <c>dotnet Traffic.Host.dll</c> with environment
/// variables, on 127.0.0.1, stopped by its PID (SIGTERM, or SIGKILL for a crash).
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    public const string ApiKey = "persistence-spec-publish-key";

    private HostProcess(ChildProcess process, int port)
    {
        Process = process;
        Port = port;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(15) };
    }

    public ChildProcess Process { get; }
    public int Port { get; }
    public HttpClient Http { get; }

    public Uri Ws(string query) => new($"ws://127.0.0.1:{Port}/ws{query}");

    /// <summary>Starts the host and waits until it answers <c>/health/ready</c>.</summary>
    public static async Task<HostProcess> StartAsync(string name, IReadOnlyDictionary<string, string> settings, string logs, int? port = null)
    {
        var dll = Dll();
        var httpPort = port ?? ChildProcess.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["WS_HOST"] = "127.0.0.1",
            ["WS_PORT"] = httpPort.ToString(),
            ["PUBLISH_API_KEY"] = ApiKey,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Akka"] = "Information",
        };
        foreach (var (key, value) in settings) environment[key] = value;
        Directory.CreateDirectory(logs);
        var host = new HostProcess(ChildProcess.Start(name, "dotnet", [dll], environment, logs, Path.GetDirectoryName(dll)), httpPort);
        await Poll.UntilAsync(async () =>
        {
            if (host.Process.HasExited) throw new Xunit.Sdk.XunitException($"{name} exited at start ({host.Process.ExitCode}):\n{host.Process.Tail()}");
            try { return (await host.Http.GetAsync("/health/ready")).IsSuccessStatusCode; }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
        }, $"{name} ready", TimeSpan.FromSeconds(90));
        return host;
    }

    public Task<HttpResponseMessage> PublishAsync(string? topic, string marker, string type = "ALERT")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/publish")
        {
            Content = JsonContent.Create(new { type, topic, data = new { marker } }),
        };
        request.Headers.Add("X-Api-Key", ApiKey);
        return Http.SendAsync(request);
    }

    /// <summary>Stops it: SIGTERM (graceful) or SIGKILL (a crash), and waits for the process to end.</summary>
    public async Task StopAsync(bool crash)
    {
        if (crash) Process.Kill();
        else Process.Terminate();
        if (!await Process.WaitForExitAsync(TimeSpan.FromSeconds(60)))
            throw new Xunit.Sdk.XunitException($"{Process.Name} did not exit within 60 s:\n{Process.Tail()}");
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        Http.Dispose();
    }

    public static string Dll()
    {
        var configuration = Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd('/'))!);
        var dll = Path.Combine(RepositoryRoot(), "src", "Traffic.Host", "bin", configuration, "net10.0", "Traffic.Host.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"{dll} is missing: build the solution ({configuration}) first");
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Traffic.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Traffic.sln above {AppContext.BaseDirectory}");
    }
}
