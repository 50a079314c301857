using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Host;

/// <summary>
/// The monitoring files that ship (deploy/monitoring, docs/operations.md "Monitoring"): the alert rules pass
/// Prometheus's own checker and their unit tests, and every metric the Grafana dashboard and the rules name
/// is one a running service exports at GET /metrics (scraped here, not listed by hand).
/// </summary>
[Trait("Speed", "Slow")]
[Collection(MetricsCollection.Name)]
public sealed class MonitoringSpecs
{
    private static readonly string MonitoringDirectory = Path.Combine(RepositoryRoot(), "deploy", "monitoring");
    private static readonly string Rules = Path.Combine(MonitoringDirectory, "traffic-alerts.yml");
    private static readonly string Dashboard = Path.Combine(MonitoringDirectory, "grafana-dashboard.json");

    [Fact]
    public async Task The_alert_rules_pass_promtool_check_rules()
    {
        var (exit, output) = await PromtoolAsync("check", "rules", Rules);
        Assert.True(exit == 0, output);
        Assert.Contains("SUCCESS", output);
    }

    /// <summary>Each alert fires on the series it is meant for and stays quiet on the others (traffic-alerts.test.yml).</summary>
    [Fact]
    public async Task The_alert_rules_pass_their_promtool_unit_tests()
    {
        var (exit, output) = await PromtoolAsync("test", "rules", Path.Combine(MonitoringDirectory, "traffic-alerts.test.yml"));
        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task The_example_prometheus_configuration_is_valid_and_loads_the_rules()
    {
        var (exit, output) = await PromtoolAsync("check", "config", Path.Combine(MonitoringDirectory, "prometheus.yml"));
        Assert.True(exit == 0, output);
        Assert.Contains("1 rule files found", output);
    }

    [Fact]
    public void The_dashboard_and_the_rules_cover_what_an_operator_watches()
    {
        var used = UsedMetricNames();
        foreach (var metric in new[]
                 {
                     "traffic_connections", "traffic_subscribers", "traffic_messages_delivered_total", "traffic_messages_dropped_total",
                     "traffic_messages_conflated_total", "traffic_heartbeat_terminations_total", "traffic_cluster_members", "traffic_cluster_unreachable",
                     "traffic_ngsild_broker_up", "traffic_messages_published_total", "dotnet_process_memory_working_set_bytes", "dotnet_gc_collections_total",
                 })
            Assert.True(used.Dashboard.Contains(metric), $"the dashboard shows no {metric}");
        foreach (var alert in new[] { "TrafficNodeUnreachable", "TrafficAggregatorAbsent", "TrafficDeliveriesDropped", "TrafficBrokerDown", "TrafficMemoryClimbing" })
            Assert.Contains($"alert: {alert}", File.ReadAllText(Rules));
    }

    /// <summary>A single node, with the NGSI-LD poller on (its broker away) so that the ingest's gauges exist: every name but the cluster's.</summary>
    [Fact]
    public async Task Every_metric_the_dashboard_and_the_rules_use_is_exported_by_a_single_node()
    {
        await using var service = await RunningService.StartAsync(Busy());
        var exported = await ScrapeWhenBusyAsync(service);

        var used = UsedMetricNames();
        var missing = used.All.Where(name => !name.StartsWith("traffic_cluster_", StringComparison.Ordinal)).Except(exported).Order().ToList();
        Assert.True(missing.Count == 0, $"used but not exported by a single node: {string.Join(", ", missing)}");
    }

    /// <summary>A cluster node (a cluster of one): the membership gauges as well, so every name.</summary>
    [Fact]
    public async Task Every_metric_the_dashboard_and_the_rules_use_is_exported_by_a_cluster_node()
    {
        var settings = Busy();
        settings["AKKA_PORT"] = "0";
        settings["AKKA_HOSTNAME"] = "127.0.0.1";
        await using var service = await RunningService.StartAsync(settings);
        var exported = await ScrapeWhenBusyAsync(service);

        var missing = UsedMetricNames().All.Except(exported).Order().ToList();
        Assert.True(missing.Count == 0, $"used but not exported by a cluster node: {string.Join(", ", missing)}");
    }

    /// <summary>The extraction the two specs above rely on, on expressions of the kinds the files hold.</summary>
    [Fact]
    public void Metric_names_are_read_from_promql_without_its_functions_labels_and_keywords()
    {
        Assert.Equal(["traffic_messages_dropped_total", "traffic_messages_delivered_total"],
            MetricNames("sum(rate(traffic_messages_dropped_total{instance=~\"$instance\"}[5m])) / clamp_min(sum by (topic) (rate(traffic_messages_delivered_total[$__rate_interval])), 1e-9) > 0.01"));
        Assert.Equal(["dotnet_process_memory_working_set_bytes", "traffic_connections"],
            MetricNames("dotnet_process_memory_working_set_bytes > 1.5 * (dotnet_process_memory_working_set_bytes offset 6h) and on(job, instance) sum by (job, instance) (traffic_connections) <= 1.2"));
        Assert.Equal(["traffic_cluster_members"], MetricNames("max(traffic_cluster_members{status=\"up\"}) < max_over_time(max(traffic_cluster_members{status=\"up\"})[1h:1m])"));
        Assert.Equal(["process_resident_memory_bytes"], MetricNames("process_resident_memory_bytes > 1e9")); // a name the service does not export is found, to be reported
    }

    private static Dictionary<string, string?> Busy() => new()
    {
        ["SOURCES"] = "both",
        ["NGSI_LD_BROKER_URL"] = "http://127.0.0.1:9/", // nothing listens: the broker is away, traffic_ngsild_broker_up 0
        ["UPDATE_INTERVALS_MS"] = "cameras=500,weather=500,airQuality=500,accidents=500,patterns=500,congestion=500",
    };

    /// <summary>
    /// The names at /metrics once a client is connected, an ALERT was published and a scheduled UPDATE went out
    /// (a counter with labels shows from its first count).
    /// </summary>
    private static async Task<HashSet<string>> ScrapeWhenBusyAsync(RunningService service)
    {
        await Poll.UntilAsync(async () => (await service.Http.GetAsync("/health/ready")).IsSuccessStatusCode, "the node ready", TimeSpan.FromSeconds(90));
        await using var client = await service.ConnectAsync("/ws?topics=accidents");
        await client.ExpectGreetingAsync();
        Assert.True((await service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { id = "urn:ngsi-ld:RoadAccident:metrics", severity = "high" } }))
            .IsSuccessStatusCode);
        await client.NextOfTypeAsync("ALERT", TimeSpan.FromSeconds(60));
        string text = "";
        await Poll.UntilAsync(async () =>
        {
            text = await service.Http.GetStringAsync("/metrics");
            return text.Contains("type=\"UPDATE\"", StringComparison.Ordinal);
        }, "a scheduled UPDATE counted at /metrics", TimeSpan.FromSeconds(60));
        return ExportedNames(text);
    }

    /// <summary>Every series name in a Prometheus text exposition (the samples, not the comments).</summary>
    private static HashSet<string> ExportedNames(string exposition) =>
        exposition.Split('\n')
            .Where(line => line.Length > 0 && line[0] != '#')
            .Select(line => Regex.Match(line, "^[a-zA-Z_:][a-zA-Z0-9_:]*").Value)
            .Where(name => name.Length > 0)
            .ToHashSet(StringComparer.Ordinal);

    private sealed record Used(HashSet<string> Dashboard, HashSet<string> Rules)
    {
        public IEnumerable<string> All => Dashboard.Union(Rules);
    }

    /// <summary>The metric names in the dashboard's queries (panels and variables) and in the rules' expressions.</summary>
    private static Used UsedMetricNames()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Dashboard));
        var fromDashboard = new HashSet<string>(StringComparer.Ordinal);
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
            if (panel.TryGetProperty("targets", out var targets))
                foreach (var target in targets.EnumerateArray())
                    fromDashboard.UnionWith(MetricNames(target.GetProperty("expr").GetString()!));
        foreach (var variable in dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
            if (variable.TryGetProperty("definition", out var definition) && Regex.Match(definition.GetString()!, @"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)") is { Success: true } m)
                fromDashboard.Add(m.Groups[1].Value);

        var fromRules = new HashSet<string>(StringComparer.Ordinal);
        foreach (var expression in RuleExpressions(File.ReadAllLines(Rules))) fromRules.UnionWith(MetricNames(expression));
        Assert.NotEmpty(fromDashboard);
        Assert.NotEmpty(fromRules);
        return new Used(fromDashboard, fromRules);
    }

    /// <summary>The <c>expr:</c> of each rule, on one line or as a block (<c>expr: |</c> and the lines indented under it).</summary>
    private static IEnumerable<string> RuleExpressions(string[] lines)
    {
        for (var i = 0; i < lines.Length; i++)
        {
            var match = Regex.Match(lines[i], @"^(\s*)expr:\s*(.*)$");
            if (!match.Success) continue;
            var value = match.Groups[2].Value.Trim();
            if (value is not ("|" or ">" or "|-" or ">-"))
            {
                yield return value;
                continue;
            }
            var indent = match.Groups[1].Value.Length;
            var block = new List<string>();
            while (i + 1 < lines.Length && (lines[i + 1].Trim().Length == 0 || lines[i + 1].Length - lines[i + 1].TrimStart().Length > indent))
                block.Add(lines[++i]);
            yield return string.Join("\n", block);
        }
    }

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
        { "and", "or", "unless", "offset", "bool", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan" };

    /// <summary>
    /// The metric names a PromQL expression reads: identifiers that are not functions (followed by "("), keywords,
    /// label names (inside {...} or by/without/on/ignoring (...)), strings, ranges, numbers or Grafana's $variables.
    /// </summary>
    private static List<string> MetricNames(string expression)
    {
        var text = Regex.Replace(expression, "\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"");
        text = Regex.Replace(text, @"\{[^}]*\}", " ");
        text = Regex.Replace(text, @"\[[^\]]*\]", " ");
        text = Regex.Replace(text, @"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ");
        text = Regex.Replace(text, @"\$\w+", " ");
        return Regex.Matches(text, @"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()")
            .Select(m => m.Value)
            .Where(name => !Keywords.Contains(name.ToLowerInvariant()))
            .Distinct()
            .ToList();
    }

    /// <summary>Debian's promtool (package prometheus; the Test task's TestTools installs it): its exit code and output.</summary>
    private static async Task<(int Exit, string Output)> PromtoolAsync(params string[] arguments)
    {
        var promtool = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists)
            ?? (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "promtool")).FirstOrDefault(File.Exists)
            ?? throw new Xunit.Sdk.XunitException("promtool not found: apt-get install -y prometheus (dotnet cake --target=TestTools does it)");
        var info = new ProcessStartInfo(promtool) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = MonitoringDirectory };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Traffic.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Traffic.sln above {AppContext.BaseDirectory}");
    }
}
