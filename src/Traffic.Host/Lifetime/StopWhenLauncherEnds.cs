namespace Traffic.Host.Lifetime;

/// <summary>
/// Stops the service when the command that launched it ends, however it ends (even `kill -9`):
/// the launcher (`dotnet cake --target=Run`) holds the write end of this process's standard input
/// and sets <see cref="Variable"/>; when the launcher dies the kernel closes that end, the read
/// here sees end-of-file, and the service stops as on SIGTERM (clients get 1001). Without the
/// variable (systemd, a container, a shell) standard input is left alone.
/// </summary>
public sealed class StopWhenLauncherEnds(IHostApplicationLifetime lifetime, ILogger<StopWhenLauncherEnds> log) : IHostedService
{
    public const string Variable = "TRAFFIC_STOP_WITH_STDIN";

    public static bool Requested(IConfiguration config) => config[Variable] is "1" or "true";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // A background thread of its own: a read of standard input cannot be cancelled, and it must
        // neither hold up the service's stop nor keep the process alive after it.
        new Thread(WaitForEnd) { IsBackground = true, Name = "stop-when-launcher-ends" }.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void WaitForEnd()
    {
        using var input = Console.OpenStandardInput();
        var buffer = new byte[64];
        try
        {
            while (input.Read(buffer) > 0) { } // the launcher never writes: only the end counts
        }
        catch (IOException) { }
        if (lifetime.ApplicationStopping.IsCancellationRequested) return;
        log.LogWarning("The command that started the service has ended (its standard input closed): stopping");
        lifetime.StopApplication();
    }
}
