using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Traffic.Tests.Support;

/// <summary>
/// A process a spec starts and always ends, by its PID: SIGTERM (a graceful stop), SIGKILL (a
/// crash), and on dispose SIGTERM then SIGKILL after a bound. Its output goes to a log file,
/// whose end a failing spec can show.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private const int SigKill = 9;
    private const int SigTerm = 15;

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Queue<string> _tail = new();

    private ChildProcess(string name, Process process, string logPath)
    {
        Name = name;
        _process = process;
        LogPath = logPath;
        _log = new StreamWriter(logPath) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }
    public int Pid => _process.Id;
    public string LogPath { get; }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment,
        string logDirectory, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        return new ChildProcess(name, process, Path.Combine(logDirectory, name + ".log"));
    }

    /// <summary>A crash: SIGKILL, no chance to say goodbye.</summary>
    public void Kill() => Signal(SigKill);

    /// <summary>What an orchestrator sends to stop a service: SIGTERM.</summary>
    public void Terminate() => Signal(SigTerm);

    public async Task<bool> WaitForExitAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try { await _process.WaitForExitAsync(timeout.Token); return true; }
        catch (OperationCanceledException) { return false; }
    }

    public string Tail()
    {
        lock (_tail) return string.Join("\n", _tail);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Terminate();
            if (!await WaitForExitAsync(TimeSpan.FromSeconds(10))) { Kill(); await WaitForExitAsync(TimeSpan.FromSeconds(10)); }
        }
        _process.Dispose();
        lock (_tail) _log.Dispose();
    }

    /// <summary>A TCP port that was free a moment ago on 127.0.0.1.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Signal(int signal)
    {
        if (_process.HasExited) return;
        if (kill(_process.Id, signal) != 0 && !_process.HasExited)
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_tail)
        {
            try { _log.WriteLine(line); } catch (ObjectDisposedException) { }
            _tail.Enqueue(line);
            while (_tail.Count > 40) _tail.Dequeue();
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
