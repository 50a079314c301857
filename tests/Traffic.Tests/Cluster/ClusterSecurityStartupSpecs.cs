using Traffic.Host;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Cluster;

/// <summary>
/// How a cluster node starts without a certificate, as an operator runs the built program: on a
/// loopback address with one warning line; on any other address not at all (exit 2, one line
/// naming AKKA_TLS_CERT_PATH) unless AKKA_TLS=off says so.
/// </summary>
[Collection(LocalCluster.Name)]
[Trait("Speed", "Slow")]
public sealed class ClusterSecurityStartupSpecs
{
    [Fact]
    public async Task A_reachable_bind_address_without_a_certificate_is_one_line_and_exit_code_2()
    {
        var logs = Directory.CreateTempSubdirectory("traffic-tls-startup-").FullName;
        var dll = ClusterTlsSpecs.HostDll();
        // Refused before anything listens: nothing binds 0.0.0.0.
        await using var node = ChildProcess.Start("reachable", "dotnet", [dll], new Dictionary<string, string>
        {
            ["WS_HOST"] = "127.0.0.1",
            ["WS_PORT"] = "0",
            ["AKKA_PORT"] = "0",
            ["AKKA_HOSTNAME"] = "10.0.0.3",
            ["AKKA_BIND_HOSTNAME"] = "0.0.0.0",
        }, logs, Path.GetDirectoryName(dll));

        Assert.True(await node.WaitForExitAsync(TimeSpan.FromSeconds(60)), "the program did not exit:\n" + node.Tail());
        Assert.Equal(TrafficProgram.BadSetting, node.ExitCode);
        var line = Assert.Single(node.Tail().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Cannot start: AKKA_TLS_CERT_PATH is not set and Akka.Remote would listen on 0.0.0.0", line);
        Assert.Contains("AKKA_TLS=off", line);
        Directory.Delete(logs, recursive: true);
    }

    [Fact]
    public async Task A_loopback_node_without_a_certificate_starts_with_one_warning_line()
    {
        var logs = Directory.CreateTempSubdirectory("traffic-tls-startup-").FullName;
        var dll = ClusterTlsSpecs.HostDll();
        var http = ChildProcess.FreePort();
        await using var node = ChildProcess.Start("loopback", "dotnet", [dll], new Dictionary<string, string>
        {
            ["WS_HOST"] = "127.0.0.1",
            ["WS_PORT"] = http.ToString(),
            ["AKKA_PORT"] = "0",
            ["AKKA_HOSTNAME"] = "127.0.0.1",
            ["SIMULATOR_ENABLED"] = "false",
            ["Logging__LogLevel__Default"] = "Warning",
        }, logs, Path.GetDirectoryName(dll));
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}"), Timeout = TimeSpan.FromSeconds(5) };
        await Poll.UntilAsync(async () =>
        {
            if (node.HasExited) throw new Xunit.Sdk.XunitException($"the node exited with {node.ExitCode}:\n{node.Tail()}");
            try { return (await client.GetAsync("/health/ready")).IsSuccessStatusCode; }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
        }, "a loopback cluster node without a certificate is Up", TimeSpan.FromSeconds(60));

        var warnings = node.Tail().Split('\n').Where(l => l.Contains("unencrypted and unauthenticated")).ToList();
        Assert.Single(warnings);
        Assert.Contains("AKKA_TLS_CERT_PATH", warnings[0]);
        Directory.Delete(logs, recursive: true);
    }
}
