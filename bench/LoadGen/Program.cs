using System.Diagnostics;
using System.Text.Json;
using Bench.LoadGen;

// Load generator for the WebSocket push service benchmark. See bench/README.md.
Options o;
try { o = Options.Parse(args); }
catch (ArgumentException e) { Console.Error.WriteLine(e.Message); return 64; }

if (o.Scenario == "summarize") return Summary.Write(o);

var limit = o.MaxSeconds ?? (o.Smoke ? 120 : 1800);
_ = new Timer(_ =>
{
    Console.Error.WriteLine($"LoadGen: time limit of {limit} s reached, exiting");
    Environment.Exit(3);
}, null, TimeSpan.FromSeconds(limit), Timeout.InfiniteTimeSpan);
ThreadPool.SetMinThreads(Math.Max(4, Environment.ProcessorCount), 4);

if (ProcStats.ResolveServer(o.ServerPid) is { } resolved && resolved != o.ServerPid)
{
    Console.WriteLine($"LoadGen: --server-pid {o.ServerPid} is a wrapper; reading /proc/{resolved} instead");
    o.ServerPid = resolved;
}

void Log(string s) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {o.Target}: {s}");

using var pub = new Publisher(o.Url, o.Key, o.FrameBytes);
var healthy = false;
for (var i = 0; i < 50 && !(healthy = await pub.HealthAsync()); i++) await Task.Delay(200);
if (!healthy)
{
    Console.Error.WriteLine($"LoadGen: {o.Url} does not answer /health");
    return 2;
}

var started = DateTime.UtcNow;
var sw = Stopwatch.StartNew();
ScenarioResult result;
try
{
    result = await new Scenarios(o, pub, Log).RunAsync();
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 64;
}
catch (Exception e)
{
    Console.Error.WriteLine($"LoadGen: scenario {o.Scenario} crashed: {e}");
    result = new ScenarioResult("") { Ok = false };
    result.Notes.Add($"crashed: {e.GetType().Name}: {e.Message}");
}

var common = new Dictionary<string, object?>
{
    ["stamp"] = o.Stamp, ["scenario"] = o.Scenario, ["variant"] = result.Variant, ["target"] = o.Target,
    ["round"] = o.Round, ["slot"] = o.Slot, ["smoke"] = o.Smoke,
    ["startedUtc"] = started.ToString("O"), ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 1),
    ["machine"] = Machine.Describe(), ["commit"] = o.Commit ?? GitCommit(),
    ["command"] = o.Command ?? Environment.CommandLine, ["loadgenCommand"] = Environment.CommandLine,
    ["pinning"] = o.Pinning ?? $"server cpus {ProcStats.Affinity(o.ServerPid) ?? "?"}, load generator cpus {ProcStats.Affinity(Environment.ProcessId)}",
    ["serverCpus"] = ProcStats.Affinity(o.ServerPid), ["loadgenCpus"] = ProcStats.Affinity(Environment.ProcessId),
    ["url"] = o.Url.ToString(),
    ["loadgenInlineCompletions"] = Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == "1",
    ["streamBuffer"] = ClientPool.StreamBufferSize,
};

Directory.CreateDirectory(o.Out);
var jsonl = Path.Combine(o.Out, $"{o.Stamp}-{o.Scenario}.jsonl");
var opts = new JsonSerializerOptions { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
await using (var w = File.AppendText(jsonl))
{
    foreach (var step in result.Steps)
        await w.WriteLineAsync(JsonSerializer.Serialize(new Dictionary<string, object?>(common) { ["kind"] = "step", ["data"] = step }, opts));
    await w.WriteLineAsync(JsonSerializer.Serialize(new Dictionary<string, object?>(common)
    {
        ["kind"] = "result", ["ok"] = result.Ok, ["metrics"] = result.Metrics, ["notes"] = result.Notes,
    }, opts));
}

try
{
    var lines = File.ReadLines(jsonl).Where(l => l.Trim().Length > 0).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!.AsObject()).ToList();
    Summary.WriteScenario(o.Out, o.Stamp, o.Scenario, lines);
}
catch (Exception e) { Console.Error.WriteLine($"LoadGen: could not write the Markdown table: {e.Message}"); }

Console.WriteLine();
Console.WriteLine(Summary.StepTable(result.Steps.Select(s => (o.Target, o.Round, o.Slot, s)).ToList()));
foreach (var (name, m) in result.Metrics.Where(m => (bool)m.Value["headline"]!))
    Console.WriteLine($"{o.Target} {o.Scenario} {result.Variant}: {name} = {m["value"] ?? "n/a"} {m["unit"]} ({m["better"]} is better)");
foreach (var n in result.Notes) Console.WriteLine($"note: {n}");
Console.WriteLine($"results appended to {jsonl}");
return result.Ok ? 0 : 2;

static string? GitCommit()
{
    try
    {
        var p = Process.Start(new ProcessStartInfo("git", "rev-parse --short HEAD") { RedirectStandardOutput = true, RedirectStandardError = true });
        var s = p!.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return p.ExitCode == 0 && s.Length > 0 ? s : null;
    }
    catch (Exception) { return null; }
}
