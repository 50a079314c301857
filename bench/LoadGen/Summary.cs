using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Bench.LoadGen;

/// <summary>
/// Turns the JSON lines of one run (one --stamp) into Markdown: a table per scenario
/// (STAMP-SCENARIO.md) and STAMP-summary.md with the median figure of every target and the
/// ratios subject / baseline, paired by (round, slot) as run.sh interleaves them.
/// </summary>
public static partial class Summary
{
    private static readonly string[] PreferredColumns =
    [
        "name", "subscribers", "targetPublishPerSec", "messagesPerClientPerSec", "expectedPerSec", "deliveredPerSec", "deliveryPct",
        "lost", "subscribersWithLoss", "duplicates", "meanMs", "p50Ms", "p99Ms", "maxMs", "postP99Ms",
        "clientsOpen", "serverRssBeforeMB", "serverRssAfterMB", "serverKBPerConnection", "loadgenKBPerConnection", "connectSeconds",
        "expected", "delivered", "firstMs", "lastMs",
        "targetPerSec", "attempts", "connected", "failures", "achievedPerSec",
        "asked", "minOpenWhileHolding", "serverClients", "liveAtEnd", "publishToAllLastMs", "fdLimit", "serverFdLimit",
        "reconnected", "lostSilently", "updatesSkipped", "witnessUpdates", "catchUpSeconds", "published", "accepted", "witnessMessages", "witnessGaps", "missedWhileAway", "recovered", "serverReplayed",
        "duplicatesBefore", "duplicatesAfter", "duplicatesAcross", "unknownToWitness", "outOfOrder", "resumedTrue", "resumedFalse", "resumedMissing",
        "notRecoveredReasons", "snapshotsAfterReconnect", "resumedAgain", "closedAfterReconnect", "notCaughtUp", "reconnectSeconds", "recoverP50Ms", "recoverP99Ms", "recoverMaxMs",
        "serverRssPeakMB", "serverRssEndMB", "slowReaders", "slowReadersStillOpen", "serverConflated", "serverDropped",
        "avgFrameBytes", "serverCpuPct", "serverCpuMs", "serverCpuUsPerDelivery", "serverRssMB", "loadgenCpuPct", "loadgenGen0", "pass", "firstError",
    ];

    public static int Write(Options o)
    {
        var files = Directory.Exists(o.Out)
            ? Directory.GetFiles(o.Out, $"{o.Stamp}-*.jsonl").OrderBy(f => f, StringComparer.Ordinal).ToArray()
            : [];
        if (files.Length == 0)
        {
            Console.Error.WriteLine($"summarize: no {o.Stamp}-*.jsonl in {o.Out}");
            return 2;
        }
        var records = files.SelectMany(File.ReadLines).Where(l => l.Trim().Length > 0).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        foreach (var scenario in records.Select(r => Str(r["scenario"])).Distinct())
            WriteScenario(o.Out, o.Stamp, scenario, records.Where(r => Str(r["scenario"]) == scenario).ToList());

        var results = records.Where(r => Str(r["kind"]) == "result").ToList();
        var targets = results.Select(r => Str(r["target"])).Distinct().ToList();
        var subject = targets.Contains(o.Subject) ? o.Subject : null;
        var sb = new StringBuilder();
        sb.AppendLine($"# Benchmark summary {o.Stamp}").AppendLine();
        Header(sb, records);
        sb.AppendLine("## Figures per target (median over runs; n = runs)").AppendLine();
        sb.AppendLine($"| scenario | metric | better | {string.Join(" | ", targets)} |");
        sb.AppendLine($"|---|---|---|{string.Concat(targets.Select(_ => "---|"))}");
        var keys = results
            .SelectMany(r => r["metrics"]!.AsObject().Select(m => (scen: Str(r["scenario"]), variant: Str(r["variant"]), metric: m.Key,
                better: Str(m.Value!["better"]), unit: Str(m.Value!["unit"]), headline: m.Value!["headline"]?.GetValue<bool>() ?? true)))
            .Distinct().ToList();
        foreach (var k in keys)
        {
            var cells = targets.Select(t =>
            {
                var vals = Values(results, k.scen, k.variant, k.metric, t).Select(v => v.value).ToList();
                return vals.Count == 0 ? "n/a" : $"{Fmt(Median(vals))} (n={vals.Count})";
            });
            sb.AppendLine($"| {k.scen} {k.variant} | {(k.headline ? "**" + k.metric + "**" : k.metric)} ({k.unit}) | {k.better} | {string.Join(" | ", cells)} |");
        }
        sb.AppendLine();

        if (targets.Count < 2)
        {
            sb.AppendLine("Only one target in this run: no ratios.").AppendLine();
        }
        else if (!keys.Any(k => k.headline && !PersistenceOnly(k.scen)))
        {
            // Only persistence scenarios: their targets are in their own sections below.
        }
        else if (subject is null)
        {
            sb.AppendLine($"No run of the subject '{o.Subject}' in this run: no ratios.").AppendLine();
        }
        else
        {
            sb.AppendLine($"## Ratios {subject} / baseline (paired by round and slot: B, {subject}, {subject}, B)").AppendLine();
            sb.AppendLine("Advantage is the ratio turned so that above 1 means the subject is better (for lower-is-better metrics it is baseline / subject).").AppendLine();
            sb.AppendLine("| scenario | metric | baseline | ratio median | spread (min - max) | pairs | advantage |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var k in keys.Where(k => k.headline && !PersistenceOnly(k.scen)))
            foreach (var b in targets.Where(t => t != subject))
            {
                var s = Values(results, k.scen, k.variant, k.metric, subject).ToDictionary(v => (v.round, v.slot), v => v.value);
                var ratios = Values(results, k.scen, k.variant, k.metric, b)
                    .Where(v => s.ContainsKey((v.round, v.slot)) && v.value != 0)
                    .Select(v => s[(v.round, v.slot)] / v.value).ToList();
                if (ratios.Count == 0) { sb.AppendLine($"| {k.scen} {k.variant} | {k.metric} | {b} | n/a | | 0 | |"); continue; }
                var med = Median(ratios);
                var adv = k.better == "lower" ? (med == 0 ? double.PositiveInfinity : 1 / med) : med;
                sb.AppendLine($"| {k.scen} {k.variant} | {k.metric} | {b} | {med:0.###} | {ratios.Min():0.###} - {ratios.Max():0.###} | {ratios.Count} | {adv:0.##}x |");
            }
            sb.AppendLine();
        }

        ServerCpuPerDelivery(sb, results, subject);
        SlowReadersAgainstReference(sb, results);
        Persistence(sb, results, records);

        sb.AppendLine("## Runs").AppendLine();
        sb.AppendLine("| scenario | target | round | slot | ok | seconds | notes |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in results)
            sb.AppendLine($"| {Str(r["scenario"])} {Str(r["variant"])} | {Str(r["target"])} | {r["round"]} | {r["slot"]} | {r["ok"]} | {r["seconds"]} | {Esc(string.Join("; ", r["notes"]!.AsArray().Select(n => Str(n))))} |");
        sb.AppendLine();
        sb.AppendLine($"Per-scenario tables: {string.Join(", ", records.Select(r => Str(r["scenario"])).Distinct().Select(s => $"`{o.Stamp}-{s}.md`"))}; raw lines: `{o.Stamp}-*.jsonl`.");
        var path = Path.Combine(o.Out, $"{o.Stamp}-summary.md");
        File.WriteAllText(path, sb.ToString());
        Console.WriteLine(sb.ToString());
        Console.WriteLine($"summary written to {path}");
        return 0;
    }

    /// <summary>
    /// slow-readers: the runs where 1 in K stopped reading against the reference runs where nobody
    /// did (same load, fresh servers, interleaved by run.sh), per target, paired by round and slot.
    /// </summary>
    private static void SlowReadersAgainstReference(StringBuilder sb, List<JsonObject> results)
    {
        var runs = results.Where(r => Str(r["scenario"]) == "slow-readers").ToList();
        static bool IsReference(JsonObject r) => Str(r["variant"]).Contains("reference", StringComparison.Ordinal);
        if (!runs.Any(IsReference) || runs.All(IsReference)) return;
        sb.AppendLine("## Slow readers against the reference (nobody stops reading; same load, interleaved)").AppendLine();
        sb.AppendLine("Readers' p99 in step 3 (the slow readers stopped before step 2), median over runs; the ratio is slow / reference, paired by round and slot (above 1: the slow readers cost the others).").AppendLine();
        sb.AppendLine("| target | readers' p99 reference (ms) | readers' p99 with slow readers (ms) | ratio median | spread | pairs | delivery % reference / slow | server RSS MB reference / slow | conflated (slow runs) |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var target in runs.Select(r => Str(r["target"])).Distinct())
        {
            double? M(bool reference, string metric)
            {
                var vals = runs.Where(r => Str(r["target"]) == target && IsReference(r) == reference)
                    .Select(r => r["metrics"]?[metric]?["value"]).OfType<JsonValue>()
                    .Select(v => v.TryGetValue<double>(out var d) ? d : double.NaN).Where(d => !double.IsNaN(d)).ToList();
                return vals.Count == 0 ? null : Median(vals);
            }
            var refs = runs.Where(r => Str(r["target"]) == target && IsReference(r))
                .Select(r => (key: (r["round"]!.GetValue<int>(), r["slot"]!.GetValue<int>()), v: r["metrics"]?["readersP99Ms"]?["value"]))
                .Where(x => x.v is JsonValue).ToDictionary(x => x.key, x => x.v!.GetValue<double>());
            var ratios = runs.Where(r => Str(r["target"]) == target && !IsReference(r))
                .Select(r => (key: (r["round"]!.GetValue<int>(), r["slot"]!.GetValue<int>()), v: r["metrics"]?["readersP99Ms"]?["value"]))
                .Where(x => x.v is JsonValue && refs.TryGetValue(x.key, out var d) && d > 0)
                .Select(x => x.v!.GetValue<double>() / refs[x.key]).ToList();
            var ratio = ratios.Count == 0 ? "n/a" : $"{Median(ratios):0.##}";
            var spread = ratios.Count == 0 ? "" : $"{ratios.Min():0.##} - {ratios.Max():0.##}";
            sb.AppendLine($"| {target} | {Fmt(M(true, "readersP99Ms"))} | {Fmt(M(false, "readersP99Ms"))} | {ratio} | {spread} | {ratios.Count} | " +
                $"{Fmt(M(true, "readersDeliveryPct"))} / {Fmt(M(false, "readersDeliveryPct"))} | {Fmt(M(true, "serverRssMB"))} / {Fmt(M(false, "serverRssMB"))} | {Fmt(M(false, "serverConflated"))} |");
        }
        sb.AppendLine();
    }

    public static void WriteScenario(string outDir, string stamp, string scenario, List<JsonObject> records)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Benchmark {scenario} {stamp}").AppendLine();
        Header(sb, records);
        var steps = records.Where(r => Str(r["kind"]) == "step")
            .Select(r => (Str(r["target"]) + (Str(r["variant"]) is { Length: > 0 } v ? " " + v : ""), r["round"]!.GetValue<int>(), r["slot"]!.GetValue<int>(),
                (IDictionary<string, object?>)r["data"]!.AsObject().ToDictionary(kv => kv.Key, kv => (object?)Cell(kv.Value))))
            .ToList();
        sb.AppendLine("## Steps").AppendLine();
        if (steps.Any(s => s.Item4.TryGetValue("serverCpuUsPerDelivery", out var v) && v is not null))
            sb.AppendLine(ServerCpuLegend).AppendLine();
        sb.AppendLine(StepTable(steps));
        sb.AppendLine("## Results").AppendLine();
        sb.AppendLine("| target | round | slot | ok | metric | value | notes |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in records.Where(r => Str(r["kind"]) == "result"))
        {
            var metrics = string.Join("<br>", r["metrics"]!.AsObject().Select(m => m.Key));
            var values = string.Join("<br>", r["metrics"]!.AsObject().Select(m => $"{Cell(m.Value!["value"]) ?? "n/a"} {Str(m.Value!["unit"])}"));
            sb.AppendLine($"| {Str(r["target"])} {Str(r["variant"])} | {r["round"]} | {r["slot"]} | {r["ok"]} | {metrics} | {values} | {Esc(string.Join("; ", r["notes"]!.AsArray().Select(n => Str(n))))} |");
        }
        File.WriteAllText(Path.Combine(outDir, $"{stamp}-{scenario}.md"), sb.ToString());
    }

    public static string StepTable<T>(List<(string target, int round, int slot, T row)> rows) where T : IDictionary<string, object?>
    {
        if (rows.Count == 0) return "(no steps)\n";
        var cols = PreferredColumns.Where(c => rows.Any(r => r.row.ContainsKey(c) && r.row[c] is not null)).ToList();
        var sb = new StringBuilder();
        sb.AppendLine($"| target | round | slot | step | {string.Join(" | ", cols)} |");
        sb.AppendLine($"|---|---|---|---|{string.Concat(cols.Select(_ => "---|"))}");
        foreach (var (target, round, slot, row) in rows)
            sb.AppendLine($"| {target} | {round} | {slot} | {(row.TryGetValue("step", out var s) ? s : "")} | {string.Join(" | ", cols.Select(c => row.TryGetValue(c, out var v) ? Esc(Fmt(v)) : ""))} |");
        return sb.ToString();
    }

    private static void Header(StringBuilder sb, List<JsonObject> records)
    {
        var first = records.FirstOrDefault();
        if (first is null) return;
        var m = first["machine"];
        sb.AppendLine($"- machine: {m?["nproc"]} x {Str(m?["cpuModel"])}, {Str(m?["memTotal"])} RAM, kernel {Str(m?["kernel"])}, .NET {Str(m?["dotnet"])}");
        var commit = Str(first["commit"]);
        sb.AppendLine($"- commit: {(commit.Length > 0 ? commit : "(none)")}");
        foreach (var cmd in records.Select(r => Str(r["command"])).Distinct())
            sb.AppendLine($"- command: `{cmd}`");
        foreach (var pin in records.Select(r => Str(r["pinning"])).Distinct())
            sb.AppendLine($"- pinning: {pin}");
        sb.AppendLine($"- smoke: {first["smoke"]}; started {Str(first["startedUtc"])}");
        sb.AppendLine();
    }

    private static List<(int round, int slot, double value)> Values(List<JsonObject> results, string scen, string variant, string metric, string target) =>
        results.Where(r => Str(r["scenario"]) == scen && Str(r["variant"]) == variant && Str(r["target"]) == target)
            .Select(r => (round: r["round"]!.GetValue<int>(), slot: r["slot"]!.GetValue<int>(), node: r["metrics"]?[metric]?["value"]))
            .Where(x => x.node is JsonValue v && v.TryGetValue<double>(out _))
            .Select(x => (x.round, x.slot, x.node!.GetValue<double>()))
            .ToList();

    private static double Median(List<double> xs)
    {
        var s = xs.OrderBy(x => x).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    private static object? Cell(JsonNode? n) => n switch
    {
        null => null,
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        JsonValue v => v.ToString(),
        _ => n.ToJsonString(),
    };

    private static string Fmt(object? v) => v switch
    {
        null => "",
        double d when Math.Abs(d) >= 1000 => d.ToString("#,0", CultureInfo.InvariantCulture),
        double d => d.ToString("0.###", CultureInfo.InvariantCulture),
        float f => ((double)f).ToString("0.###", CultureInfo.InvariantCulture),
        long l => l.ToString("#,0", CultureInfo.InvariantCulture),
        int i => i.ToString("#,0", CultureInfo.InvariantCulture),
        bool b => b ? "yes" : "no",
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };

    private static string Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n?.ToJsonString() ?? "";
    private static string Esc(string s) => s.Replace("|", "\\|").Replace("\n", " ");
}
