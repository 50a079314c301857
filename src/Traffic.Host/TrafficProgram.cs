using Microsoft.AspNetCore.Connections;
using Traffic.Host.Cluster;
using Traffic.Host.Configuration;

namespace Traffic.Host;

/// <summary>
/// The process: runs the service until SIGTERM or SIGINT (clients get 1001), and turns the start
/// failures an operator causes (a bad setting, a port already taken) into one line naming the
/// variable to change and a documented exit code, instead of a stack trace.
/// </summary>
public static class TrafficProgram
{
    /// <summary>A setting has a value the service cannot start with.</summary>
    public const int BadSetting = 2;

    /// <summary>The HTTP/WebSocket port (or the TLS port) is taken (another instance is running?).</summary>
    public const int PortInUse = 3;

    /// <param name="error">Where the one-line reason goes (standard error).</param>
    /// <param name="settings">Settings that win over the environment (specs).</param>
    /// <param name="stopping">Stops the service as SIGTERM would (specs).</param>
    public static async Task<int> RunAsync(string[] args, TextWriter error,
        IReadOnlyDictionary<string, string?>? settings = null, CancellationToken stopping = default)
    {
        WebApplication app;
        try
        {
            app = TrafficApp.Create(args, settings);
        }
        catch (ServiceConfigurationException e)
        {
            error.WriteLine($"Cannot start: {e.Message}");
            return BadSetting;
        }

        var options = app.Services.GetRequiredService<ServiceOptions>();
        try
        {
            await ((IHost)app).RunAsync(stopping); // StartAsync, wait for SIGTERM/SIGINT, stop, dispose
            return 0;
        }
        catch (IOException e) when (e.InnerException is AddressInUseException)
        {
            // Kestrel names the address it failed to bind ("Failed to bind to address https://...").
            if (ManagementEndpoint.IsAbout(e, options.Cluster?.Discovery))
            {
                var discovery = options.Cluster!.Discovery!;
                error.WriteLine($"Cannot start: port {discovery.ManagementPort} on {discovery.ManagementBindHostname} is already in use (is the service running already?); " +
                    "set AKKA_MANAGEMENT_PORT to another port (and this node's entry in AKKA_DISCOVERY_ENDPOINTS with it).");
                return PortInUse;
            }
            var (port, variable) = e.Message.Contains("https://", StringComparison.OrdinalIgnoreCase)
                ? (options.Tls.HttpsPort, "HTTPS_PORT")
                : (options.Port, "WS_PORT");
            error.WriteLine($"Cannot start: port {port} on {options.ListenHost} is already in use (is the service running already?); " +
                $"set {variable} to another port (or WS_HOST to another address).");
            return PortInUse;
        }
    }
}
