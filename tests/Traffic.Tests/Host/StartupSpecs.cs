using Traffic.Host;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Host;

/// <summary>
/// What an operator sees when the service cannot start: one line naming the variable to change,
/// and an exit code (2: a bad setting, 3: the port is taken), never a stack trace.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class StartupSpecs
{
    private static readonly Dictionary<string, string?> Quiet = new()
    {
        ["WS_HOST"] = "127.0.0.1",
        ["SIMULATOR_ENABLED"] = "false",
        ["PERSISTENCE"] = "none",
        ["Logging:LogLevel:Default"] = "Warning",
    };

    private static async Task<(int ExitCode, string[] Lines)> RunAsync(params (string Key, string Value)[] settings)
    {
        var all = new Dictionary<string, string?>(Quiet);
        foreach (var (key, value) in settings) all[key] = value;
        var error = new StringWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // a start that wrongly succeeds ends the spec
        var exitCode = await TrafficProgram.RunAsync([], error, all, stop.Token);
        return (exitCode, error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Theory]
    [InlineData("WS_PORT", "abc", "WS_PORT=\"abc\" is not a whole number between 0 and 65535")]
    [InlineData("PUBLISH_API_KEY", "dev-key", "PUBLISH_API_KEY is 7 characters long; a key needs at least 16")]
    [InlineData("NGSI_LD_NOTIFY_KEY", "short", "NGSI_LD_NOTIFY_KEY is 5 characters long; a key needs at least 16")]
    [InlineData("HEARTBEAT_INTERVAL_MS", "-5", "HEARTBEAT_INTERVAL_MS=\"-5\"")]
    [InlineData("SIMULATOR_ENABLED", "maybe", "SIMULATOR_ENABLED=\"maybe\" is not true or false")]
    [InlineData("AKKA_SEED_NODES", "10.0.0.1", "AKKA_SEED_NODES: \"10.0.0.1\" is not a seed node")]
    [InlineData("AKKA_DISCOVERY", "dns", "AKKA_DISCOVERY=\"dns\" is not config or kubernetes")]
    [InlineData("AKKA_DISCOVERY_ENDPOINTS", "127.0.0.1:8558", "AKKA_DISCOVERY_ENDPOINTS is set but AKKA_DISCOVERY is not")]
    [InlineData("UPDATE_INTERVALS_MS", "accidents=soon", "UPDATE_INTERVALS_MS: \"soon\" in \"accidents=soon\" is not a whole number of milliseconds")]
    [InlineData("UPDATE_INTERVALS_MS", "accidents", "UPDATE_INTERVALS_MS: \"accidents\" is not topic=milliseconds")]
    public async Task A_bad_setting_is_one_line_naming_the_variable_and_exit_code_2(string name, string value, string expected)
    {
        var (exitCode, lines) = await RunAsync((name, value));

        Assert.Equal(TrafficProgram.BadSetting, exitCode);
        var line = Assert.Single(lines);
        Assert.Contains(expected, line);
    }

    [Fact]
    public async Task An_unknown_topic_in_the_schedule_is_named_with_the_known_ones()
    {
        var (exitCode, lines) = await RunAsync(("UPDATE_INTERVALS_MS", "foo=1"));

        Assert.Equal(TrafficProgram.BadSetting, exitCode);
        Assert.Equal("Cannot start: UPDATE_INTERVALS_MS: unknown topic \"foo\" in \"foo=1\"; the topics are cameras, weather, airQuality, accidents, patterns, congestion",
            Assert.Single(lines));
    }

    [Fact]
    public async Task A_port_already_taken_is_one_line_naming_WS_PORT_and_exit_code_3()
    {
        await using var first = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });

        var (exitCode, lines) = await RunAsync(("WS_PORT", first.BaseAddress.Port.ToString()));

        Assert.Equal(TrafficProgram.PortInUse, exitCode);
        var line = Assert.Single(lines);
        Assert.Contains($"port {first.BaseAddress.Port} on 127.0.0.1 is already in use", line);
        Assert.Contains("WS_PORT", line);
        Assert.Equal(200, (int)(await first.Http.GetAsync("/health")).StatusCode); // the first instance serves on
    }

    /// <summary>The built program itself, as an operator starts it: exit code and everything it prints.</summary>
    [Fact]
    public async Task The_program_prints_one_line_and_exits_2_on_a_bad_setting()
    {
        var logs = Directory.CreateTempSubdirectory("startup-specs-").FullName;
        await using var host = ChildProcess.Start("bad-port", "dotnet", [HostDll()],
            new Dictionary<string, string> { ["WS_PORT"] = "abc", ["WS_HOST"] = "127.0.0.1" }, logs, Path.GetDirectoryName(HostDll()));

        Assert.True(await host.WaitForExitAsync(TimeSpan.FromSeconds(60)), "the program did not exit:\n" + host.Tail());
        Assert.Equal(TrafficProgram.BadSetting, host.ExitCode);
        Assert.Equal("Cannot start: WS_PORT=\"abc\" is not a whole number between 0 and 65535", host.Tail().Trim());
    }

    [Fact]
    public async Task The_program_prints_one_line_and_exits_3_when_the_port_is_taken()
    {
        await using var first = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });
        var logs = Directory.CreateTempSubdirectory("startup-specs-").FullName;
        await using var second = ChildProcess.Start("second", "dotnet", [HostDll()],
            // PERSISTENCE=none: a second instance on the same SQLite file is refused before the port, by the file's lock (DatabaseFileSpecs);
            // this is the answer to a port taken by something else.
            new Dictionary<string, string> { ["WS_PORT"] = first.BaseAddress.Port.ToString(), ["WS_HOST"] = "127.0.0.1", ["SIMULATOR_ENABLED"] = "false", ["PERSISTENCE"] = "none" }, logs,
            Path.GetDirectoryName(HostDll())); // as an operator runs it: beside its appsettings.json

        Assert.True(await second.WaitForExitAsync(TimeSpan.FromSeconds(90)), "the program did not exit:\n" + second.Tail());
        Assert.Equal(TrafficProgram.PortInUse, second.ExitCode);
        var output = second.Tail();
        Assert.Contains($"Cannot start: port {first.BaseAddress.Port} on 127.0.0.1 is already in use", output);
        Assert.DoesNotContain("Exception", output); // no stack trace, no second exception from the stop callbacks
    }

    /// <summary>The host as built beside the tests (dotnet build of the solution builds both).</summary>
    private static string HostDll()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Traffic.sln")))
            {
                var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/<configuration>/net10.0
                return Path.Combine(dir.FullName, "src", "Traffic.Host", "bin", configuration, "net10.0", "Traffic.Host.dll");
            }
        throw new InvalidOperationException($"no Traffic.sln above {AppContext.BaseDirectory}");
    }
}
