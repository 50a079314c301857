using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Bench.LoadGen;

/// <summary>CPU time and resident memory of a process, read from /proc (Linux only).</summary>
public readonly record struct ProcSample(long CpuTicks, long RssKb, long Timestamp);

public static class ProcStats
{
    [DllImport("libc", EntryPoint = "sysconf")]
    private static extern long SysConf(int name);

    private static long? _clkTck;
    public static long ClockTicksPerSecond
    {
        get
        {
            if (_clkTck is { } v) return v;
            long t = 100;
            try { t = SysConf(2); if (t <= 0) t = 100; } catch (Exception) { t = 100; } // _SC_CLK_TCK = 2
            _clkTck = t;
            return t;
        }
    }

    public static ProcSample? Read(int? pid)
    {
        if (pid is null) return null;
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // after "pid (comm) ": field 3 (state) is index 0; utime = field 14 -> index 11, stime = 15 -> 12
            var ticks = long.Parse(fields[11]) + long.Parse(fields[12]);
            long rss = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = long.Parse(line[6..].Trim().Split(' ')[0]);
                    break;
                }
            return new ProcSample(ticks, rss, Stopwatch.GetTimestamp());
        }
        catch (Exception) { return null; }
    }

    /// <summary>CPU use between two samples, in percent of one core.</summary>
    public static double? CpuPercent(ProcSample? a, ProcSample? b)
    {
        if (a is not { } x || b is not { } y) return null;
        var secs = (double)(y.Timestamp - x.Timestamp) / Stopwatch.Frequency;
        if (secs <= 0) return null;
        return Math.Round((y.CpuTicks - x.CpuTicks) / (double)ClockTicksPerSecond / secs * 100, 1);
    }

    public static ProcSample? Self() => Read(Environment.ProcessId);

    /// <summary>
    /// If <paramref name="pid"/> is a wrapper (a shell, taskset, timeout, env) with exactly one
    /// child, follow it: CPU and memory must be read from the server process itself.
    /// </summary>
    public static int? ResolveServer(int? pid)
    {
        for (var hops = 0; pid is { } p && hops < 4; hops++)
        {
            string comm;
            try { comm = File.ReadAllText($"/proc/{p}/comm").Trim(); } catch (Exception) { return pid; }
            if (comm is not ("bash" or "sh" or "dash" or "taskset" or "timeout" or "env")) return pid;
            string[] children;
            try { children = File.ReadAllText($"/proc/{p}/task/{p}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries); }
            catch (Exception) { return pid; }
            if (children.Length != 1) return pid;
            pid = int.Parse(children[0]);
        }
        return pid;
    }

    public static string? Affinity(int? pid)
    {
        if (pid is null) return null;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal)) return line[18..].Trim();
        }
        catch (Exception) { }
        return null;
    }
}

public static class Machine
{
    public static Dictionary<string, object?> Describe()
    {
        var cpus = 0;
        string? model = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("processor", StringComparison.Ordinal)) cpus++;
                else if (model is null && line.StartsWith("model name", StringComparison.Ordinal)) model = line[(line.IndexOf(':') + 1)..].Trim();
            }
        }
        catch (Exception) { }
        string? memTotal = null, kernel = null;
        try { memTotal = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal"))?.Split(':')[1].Trim(); } catch (Exception) { }
        try { kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); } catch (Exception) { }
        return new Dictionary<string, object?>
        {
            ["nproc"] = cpus,
            ["cpuModel"] = model,
            ["memTotal"] = memTotal,
            ["kernel"] = kernel,
            ["dotnet"] = Environment.Version.ToString(),
        };
    }
}
