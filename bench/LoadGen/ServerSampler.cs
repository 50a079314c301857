using System.Diagnostics;
using System.Globalization;

namespace Bench.LoadGen;

/// <summary>One reading of the server: when, its RSS, its CPU since the previous reading, and what the scenario was doing.</summary>
public readonly record struct ServerReading(double Seconds, double RssMb, double? CpuPct, string Phase, string Extra);

/// <summary>
/// Reads the server's RSS and CPU from /proc every <c>interval</c> on its own timer and appends each
/// reading to a CSV file (seconds,rssMB,cpuPct,phase,...): the memory curve of a long run, kept
/// beside the results. <see cref="Extra"/> adds the scenario's own columns (deliveries so far, ...).
/// </summary>
public sealed class ServerSampler : IAsyncDisposable
{
    private readonly int? _pid;
    private readonly StreamWriter _csv;
    private readonly long _t0 = Stopwatch.GetTimestamp();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<ServerReading> _readings = new(); // guarded by lock(_readings)
    private ProcSample? _last;

    public volatile string Phase = "start";
    public Func<string>? Extra;

    public ServerSampler(int? pid, string csvPath, TimeSpan interval, string extraHeader = "")
    {
        _pid = pid;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(csvPath))!);
        _csv = new StreamWriter(csvPath, append: false) { AutoFlush = true };
        _csv.WriteLine("seconds,rssMB,cpuPct,phase" + (extraHeader.Length > 0 ? "," + extraHeader : ""));
        CsvPath = csvPath;
        _last = ProcStats.Read(pid);
        Sample();
        _loop = LoopAsync(interval);
    }

    public string CsvPath { get; }

    public double Elapsed => Stopwatch.GetElapsedTime(_t0).TotalSeconds;

    public IReadOnlyList<ServerReading> Readings
    {
        get { lock (_readings) return _readings.ToArray(); }
    }

    /// <summary>Takes a reading now (besides the timer's), e.g. at the end of a phase.</summary>
    public ServerReading? Sample()
    {
        var now = ProcStats.Read(_pid);
        if (now is not { } s) return null;
        ServerReading r;
        lock (_readings)
        {
            // CPU over less than half a second is mostly rounding (clock ticks are 10 ms): a reading
            // taken right after the timer's keeps the previous start and reports no CPU figure.
            double? cpu = null;
            if (_last is not { } prev || (s.Timestamp - prev.Timestamp) >= Stopwatch.Frequency / 2)
            {
                cpu = ProcStats.CpuPercent(_last, now);
                _last = now;
            }
            r = new ServerReading(Math.Round(Elapsed, 2), Math.Round(s.RssKb / 1024.0, 1), cpu, Phase, Extra?.Invoke() ?? "");
            _readings.Add(r);
            _csv.WriteLine(string.Join(',',
                r.Seconds.ToString(CultureInfo.InvariantCulture), r.RssMb.ToString(CultureInfo.InvariantCulture),
                r.CpuPct?.ToString(CultureInfo.InvariantCulture) ?? "", r.Phase) + (r.Extra.Length > 0 ? "," + r.Extra : ""));
        }
        return r;
    }

    private async Task LoopAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token)) Sample();
        }
        catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
        lock (_readings) _csv.Dispose();
        _stop.Dispose();
    }
}
