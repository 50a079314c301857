namespace Bench.LoadGen;

/// <summary>
/// The server's CPU time (utime + stime of its process, /proc/PID/stat) over one measured window,
/// and the deliveries counted in that same window. /proc counts in clock ticks (CLK_TCK, 100 on
/// Linux: 10 ms), so a window is exact only to one tick at each end.
/// </summary>
public readonly record struct CpuWindow(long? Ticks, long Deliveries)
{
    /// <summary>Read <paramref name="start"/> just before the window's first publish and <paramref name="end"/> right after its deliveries are counted.</summary>
    public static CpuWindow Of(ProcSample? start, ProcSample? end, long deliveries) =>
        new(start is { } a && end is { } b ? b.CpuTicks - a.CpuTicks : null, deliveries);

    public double? CpuMs => Ticks is { } t ? Math.Round(t * 1000.0 / ProcStats.ClockTicksPerSecond, 1) : null;

    public double? UsPerDelivery => Ticks is { } t && Deliveries > 0
        ? Math.Round(t * 1_000_000.0 / ProcStats.ClockTicksPerSecond / Deliveries, 3)
        : null;

    /// <summary>The window's own figures, for its step row.</summary>
    public void AddTo(Dictionary<string, object?> row)
    {
        row["serverCpuMs"] = CpuMs;
        row["serverCpuUsPerDelivery"] = UsPerDelivery;
    }
}

/// <summary>
/// Server CPU per delivery of a run: the CPU and the deliveries of its measured windows summed
/// (not a median of per-window figures: short windows are too coarse alone, their sum is not).
/// </summary>
public sealed class ServerCpuTotal
{
    /// <summary>Below this much server CPU the 10 ms ticks make the figure coarse (over 1 % error); the run says so.</summary>
    public const double MeaningfulCpuMs = 1000;

    private long _ticks, _deliveries;
    private int _windows;
    private bool _unread;

    public void Add(CpuWindow w)
    {
        if (w.Ticks is not { } t) { _unread = true; return; }
        _ticks += t;
        _deliveries += w.Deliveries;
        _windows++;
    }

    /// <summary>Metrics serverCpuUsPerDelivery, serverCpuMs and deliveries; <paramref name="over"/> says which windows (for the notes and the log).</summary>
    public string Report(ScenarioResult res, string over)
    {
        var total = new CpuWindow(_windows > 0 && !_unread ? _ticks : null, _deliveries);
        res.Metric("serverCpuUsPerDelivery", total.UsPerDelivery, "us/delivery", "lower", headline: false);
        res.Metric("serverCpuMs", total.CpuMs, "ms", "-", headline: false);
        res.Metric("deliveries", _deliveries, "deliveries", "-", headline: false);
        if (total.CpuMs is null)
            res.Notes.Add("server CPU per delivery: not measured (no --server-pid, /proc unreadable, or no window)");
        else if (total.CpuMs < MeaningfulCpuMs)
            res.Notes.Add($"server CPU per delivery is coarse: {total.CpuMs} ms of server CPU over {over}, under 1 s (/proc counts 10 ms ticks)");
        return $"server CPU {total.CpuMs?.ToString() ?? "n/a"} ms for {_deliveries} deliveries over {over} = {total.UsPerDelivery?.ToString() ?? "n/a"} us/delivery";
    }
}
