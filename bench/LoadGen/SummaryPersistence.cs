using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Bench.LoadGen;

/// <summary>The persistence scenarios (issue 18) in the summary: figures against their targets, no ratios to a baseline.</summary>
public static partial class Summary
{
    /// <summary>The step rows of the run that <paramref name="result"/> ends (same scenario, target, round, slot, variant).</summary>
    private static List<JsonObject> StepsOf(List<JsonObject> records, JsonObject result) =>
        records.Where(x => Str(x["kind"]) == "step" && Str(x["scenario"]) == Str(result["scenario"]) && Str(x["target"]) == Str(result["target"])
                           && Str(x["round"]) == Str(result["round"]) && Str(x["slot"]) == Str(result["slot"]) && Str(x["variant"]) == Str(result["variant"])
                           && Str(x["startedUtc"]) == Str(result["startedUtc"]))
            .Select(x => x["data"] as JsonObject).OfType<JsonObject>().ToList();

    private static bool PersistenceOnly(string scenario) => scenario is "durable-publish" or "restart-storm";

    private static void Persistence(StringBuilder sb, List<JsonObject> results, List<JsonObject> records)
    {
        var durable = results.Where(r => Str(r["scenario"]) == "durable-publish").ToList();
        if (durable.Count > 0)
        {
            sb.AppendLine("## Durable publish against PERSISTENCE=none (issue 18)").AppendLine();
            sb.AppendLine("Targets: p50 within +5 ms of `none` (same round); at least 2 000 publishes answered 202/s with each database. " +
                          "p50/p99: publish-to-delivery latency at the fixed rate; max 202/s: the best closed-loop step with nothing lost or refused.").AppendLine();
            sb.AppendLine("| round | target | p50 ms | p99 ms | p50 - none's | max 202/s (in flight) | 202/s per in-flight step | load avg | targets |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
            double? M(JsonObject r, string m) => r["metrics"]?[m]?["value"] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
            foreach (var round in durable.GroupBy(r => (int)r["round"]!).OrderBy(g => g.Key))
            {
                var none = round.FirstOrDefault(r => Str(r["target"]).EndsWith("-none", StringComparison.Ordinal));
                foreach (var r in round)
                {
                    var t = Str(r["target"]);
                    var p50 = M(r, "p50Ms");
                    var delta = none is not null && p50 is { } a && M(none, "p50Ms") is { } b ? a - b : (double?)null;
                    var rate = M(r, "maxAcceptedPerSec");
                    var steps = StepsOf(records, r);
                    var perStep = string.Join(", ", steps.Where(st => st["inFlight"] is JsonValue).Select(st => $"{Fmt(Cell(st["acceptedPerSec"]))} ({Fmt(Cell(st["inFlight"]))})"));
                    var loads = steps.Select(st => Cell(st["loadAvg1"])).OfType<double>().ToList();
                    var load = loads.Count == 0 ? "" : $"{loads.Min():0.#}-{loads.Max():0.#}";
                    var isDb = !t.EndsWith("-none", StringComparison.Ordinal);
                    var verdict = !isDb ? "(reference)"
                        : $"p50 {(delta is { } dd ? (dd <= 5 ? "met" : $"missed by {dd - 5:0.0} ms") : "?")}; rate {(rate is { } rr ? (rr >= 2000 ? "met" : $"missed by {2000 - rr:0} /s") : "?")}";
                    sb.AppendLine(CultureInfo.InvariantCulture, $"| {round.Key} | {t} | {Fmt(p50)} | {Fmt(M(r, "p99Ms"))} | {(delta is { } d2 ? d2.ToString("+0.0;-0.0", CultureInfo.InvariantCulture) : "")} | " +
                                                               $"{Fmt(rate)} ({Fmt(M(r, "maxAcceptedInFlight"))}) | {perStep} | {load} | {verdict} |");
                }
            }
            sb.AppendLine();
        }
        var restart = results.Where(r => Str(r["scenario"]) == "restart-storm").ToList();
        if (restart.Count > 0)
        {
            sb.AppendLine("## Restart storm (issue 18)").AppendLine();
            sb.AppendLine("Targets: 0 lost, 0 duplicated, 100 % of resumes `recovered: true`. Time to recover: from the signal until a client has resumed on the restarted server and holds every ALERT answered 202 before the signal.").AppendLine();
            sb.AppendLine("| round | variant | lost | duplicated | recovered % | recover p50 / p99 ms | notes |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var r in restart)
            {
                var st = StepsOf(records, r).FirstOrDefault();
                double? M(string m) => r["metrics"]?[m]?["value"] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {r["round"]} | {Str(r["variant"])} | {Fmt(M("lost"))} | {Fmt(M("duplicated"))} | {Fmt(M("recoveredPct"))} | {Fmt(M("recoverP50Ms"))} / {Fmt(M("recoverP99Ms"))} | " +
                                                           $"down {Fmt(M("downSeconds"))} s, publisher retries {Fmt(M("publisherRetries"))}, written twice {Fmt(M("writtenTwice"))}, load avg {Fmt(Cell(st?["loadAvg1"]))} |");
            }
            sb.AppendLine();
        }
    }
}
