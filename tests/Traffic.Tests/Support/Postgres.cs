using System.Diagnostics;

namespace Traffic.Tests.Support;

/// <summary>
/// A throwaway PostgreSQL server (Debian's <c>postgresql</c> package, which the Test task installs when
/// missing): <c>initdb</c> into a temporary folder, <c>pg_ctl start</c> on a free port of 127.0.0.1,
/// <c>pg_ctl stop</c> and the folder deleted at the end. PostgreSQL refuses to run as root, so as
/// root (CI) it runs as the <c>postgres</c> user. A spec may stop and start it again (the database away).
/// </summary>
public sealed class Postgres : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string _bin;

    private Postgres(string directory, string bin, int port)
    {
        _directory = directory;
        _bin = bin;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=true;Timeout=5;Command Timeout=10";

    public static string? BinDirectory() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d, StringComparer.Ordinal)
                .Select(d => Path.Combine(d, "bin")).FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            : null;

    public static async Task<Postgres> StartAsync()
    {
        var bin = BinDirectory() ?? throw new InvalidOperationException(
            "PostgreSQL is not installed: the persistence specs run a real server. Install it (apt-get install -y postgresql; " +
            "the Test task does this on a fresh machine).");
        var directory = Path.Combine(Path.GetTempPath(), $"traffic-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(directory, (UnixFileMode)0b111_111_111); // the postgres user writes here
        var postgres = new Postgres(directory, bin, ChildProcess.FreePort());
        await postgres.RunAsync("initdb", "-D", postgres.Data, "-A", "trust", "-U", "postgres", "--no-sync");
        await postgres.StartServerAsync();
        return postgres;
    }

    private string Data => Path.Combine(_directory, "data");

    public Task StartServerAsync() =>
        RunAsync("pg_ctl", "-D", Data, "-o", $"-p {Port} -k {_directory} -c listen_addresses=127.0.0.1 -c fsync=off", "-l", Path.Combine(_directory, "log"), "-w", "-t", "60", "start");

    /// <summary>Stops the server at once (open connections are cut): the database away.</summary>
    public Task StopServerAsync() => RunAsync("pg_ctl", "-D", Data, "-m", "immediate", "-w", "-t", "60", "stop");

    public async ValueTask DisposeAsync()
    {
        try { await RunAsync("pg_ctl", "-D", Data, "-m", "fast", "-w", "-t", "60", "stop"); }
        catch (InvalidOperationException) { } // already stopped
        try { Directory.Delete(_directory, recursive: true); }
        catch (IOException) { }
    }

    private async Task RunAsync(string tool, params string[] arguments)
    {
        var asRoot = Environment.UserName == "root";
        var info = new ProcessStartInfo(asRoot ? "runuser" : Path.Combine(_bin, tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        if (asRoot)
        {
            foreach (var a in new[] { "-u", "postgres", "--", Path.Combine(_bin, tool) }) info.ArgumentList.Add(a);
        }
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {tool}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await error}");
    }
}
