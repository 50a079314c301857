using System.Text;
using System.Text.Json.Nodes;

namespace Bench.LoadGen;

/// <summary>The server's CPU time per delivery (fanout, burst, one-to-all) in the summary: medians per target, ratios subject / baseline.</summary>
public static partial class Summary
{
    private const string ServerCpuLegend =
        "`serverCpuUsPerDelivery`: microseconds of the server process's CPU (utime + stime from /proc/PID/stat) per message delivered " +
        "in the same window (the step's publishing and draining); **lower is better**. `serverCpuMs`: that CPU. /proc counts 10 ms ticks " +
        "(CLK_TCK 100), so a window under 1 s of server CPU is coarse; the run's figure sums its measured windows (see the results' notes).";

    private static void ServerCpuPerDelivery(StringBuilder sb, List<JsonObject> results, string? subject)
    {
        var runs = results.Where(r => r["metrics"]?["serverCpuUsPerDelivery"] is not null).ToList();
        if (runs.Count == 0) return;
        sb.AppendLine("## Server CPU per delivery (lower is better)").AppendLine();
        sb.AppendLine("Microseconds of the server process's CPU (utime + stime, /proc/PID/stat) per delivered message, summed over each run's " +
                      "measured windows: fanout the steps that passed, burst bursts 2 and up, one-to-all every publish. Ratio = subject / baseline, " +
                      "paired by round and slot: **below 1 means the subject spends less CPU per delivery**. /proc counts 10 ms ticks: " +
                      "runs with under 1 s of server CPU are counted as coarse.").AppendLine();
        sb.AppendLine($"| scenario | target | us/delivery median (n) | server CPU ms median | deliveries median | coarse runs (< 1 s CPU) | {subject ?? "subject"} / target median (lower is better) | spread (min - max) | pairs |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var g in runs.GroupBy(r => (scen: Str(r["scenario"]), variant: Str(r["variant"]))))
        {
            var targets = g.Select(r => Str(r["target"])).Distinct().ToList();
            foreach (var t in targets)
            {
                var us = Values(results, g.Key.scen, g.Key.variant, "serverCpuUsPerDelivery", t);
                var ms = Values(results, g.Key.scen, g.Key.variant, "serverCpuMs", t).Select(v => v.value).ToList();
                var n = Values(results, g.Key.scen, g.Key.variant, "deliveries", t).Select(v => v.value).ToList();
                var coarse = ms.Count(x => x < ServerCpuTotal.MeaningfulCpuMs);
                string ratio = "", spread = "", pairs = "";
                if (subject is not null && t != subject)
                {
                    var s = Values(results, g.Key.scen, g.Key.variant, "serverCpuUsPerDelivery", subject).ToDictionary(v => (v.round, v.slot), v => v.value);
                    var ratios = us.Where(v => v.value > 0 && s.ContainsKey((v.round, v.slot))).Select(v => s[(v.round, v.slot)] / v.value).ToList();
                    pairs = ratios.Count.ToString();
                    if (ratios.Count > 0) { ratio = $"{Median(ratios):0.###}"; spread = $"{ratios.Min():0.###} - {ratios.Max():0.###}"; }
                    else ratio = "n/a";
                }
                sb.AppendLine($"| {g.Key.scen} {g.Key.variant} | {t} | {(us.Count == 0 ? "n/a" : $"{Fmt(Median(us.Select(v => v.value).ToList()))} (n={us.Count})")} | " +
                              $"{(ms.Count == 0 ? "n/a" : Fmt(Median(ms)))} | {(n.Count == 0 ? "n/a" : Fmt(Median(n)))} | {coarse} of {ms.Count} | {ratio} | {spread} | {pairs} |");
            }
        }
        sb.AppendLine();
    }
}
