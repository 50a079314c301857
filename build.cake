// Build, test and run the traffic real-time service.  dotnet tool restore && dotnet cake --target=<Task>
//   Run        the service in the foreground (Ctrl+C, or SIGTERM to this process, stops it)
//   Test       the whole suite: .NET specs, then the client library's Node tests and the dashboard's
//              browser tests (installs nginx, Chromium and the npm packages first when missing: see TestTools);
//              --fast: only the fast .NET specs of both projects (the inner loop; no Node, browser or multi-process specs)
//   TestTools  what the suite needs besides .NET (nginx, postgresql, chromium, openssl, prometheus's promtool, node_modules)
//   TestJavaScript  only the Node and browser tests
//   Build      restore once, build with warnings as errors
//   Bench, BenchSmoke  the benchmark (bench/README.md)
//   Mutation   Stryker.NET on the core under the fast specs (stryker-config.json; docs/testing.md), not part of Test

using System.Runtime.InteropServices;

//////////////////////////////////////////////////////////////////////
// ARGUMENTS
//////////////////////////////////////////////////////////////////////

var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
// --fast (with the Test task): the inner loop. Only the .NET specs not marked [Trait("Speed", "Slow")],
// of every test project; no TestTools, no Clean (an incremental build), no Node or browser tests.
var fast = HasArgument("fast") && !string.Equals(Argument("fast", "true"), "false", StringComparison.OrdinalIgnoreCase);

//////////////////////////////////////////////////////////////////////
// GLOBAL VARIABLES
//////////////////////////////////////////////////////////////////////

var solution = "./Traffic.sln";
var testResults = "./TestResults";
var hostProject = "./src/Traffic.Host";
var hostDll = $"{hostProject}/bin/{configuration}/net10.0/Traffic.Host.dll";
var jsTests = "./tests"; // tests/client (Node), tests/browser (Chromium); packages: ./package.json
var jsResults = testResults + "/javascript.tap";
var chromiumPath = "/usr/bin/chromium";
var hostExitCode = 0; // the Run task ends with the service's own exit code (2: bad setting, 3: port taken)

//////////////////////////////////////////////////////////////////////
// TASKS
//////////////////////////////////////////////////////////////////////

Task("Clean")
    .Does(() =>
{
    CleanDirectories("./src/**/bin/" + configuration);
    CleanDirectories("./tests/**/bin/" + configuration);
    CleanDirectory(testResults);
});

Task("Restore")
    .Does(() =>
{
    DotNetRestore(solution);
});

Task("Build")
    .IsDependentOn("Restore")
    .Does(() =>
{
    // The first build on a fresh machine takes a minute or more: say so, or it looks hung.
    Information("Building {0} ({1})...", solution, configuration);
    DotNetBuild(solution, new DotNetBuildSettings
    {
        Configuration = configuration,
        NoRestore = true,
        Verbosity = DotNetVerbosity.Minimal,
        MSBuildSettings = new DotNetMSBuildSettings { TreatAllWarningsAs = MSBuildTreatAllWarningsAs.Error },
    });
});

Task("TestTools")
    .Description("What the suite runs besides .NET: nginx (the cluster spec), PostgreSQL (the persistence specs), Chromium and playwright-core (the browser tests), openssl (the https browser test), promtool (the monitoring specs).")
    .Does(() =>
{
    bool OnPath(string tool) => (EnvironmentVariable("PATH") ?? "").Split(':').Any(d => System.IO.File.Exists(System.IO.Path.Combine(d, tool)));
    var missing = new List<string>();
    if (!OnPath("nginx") && !System.IO.File.Exists("/usr/sbin/nginx")) missing.Add("nginx");
    if (!System.IO.File.Exists(chromiumPath)) missing.Add("chromium");
    if (!OnPath("openssl")) missing.Add("openssl"); // the https browser test makes its certificate with it
    // The persistence specs start a throwaway PostgreSQL of their own (tests/Traffic.Tests/Support/Postgres.cs).
    var hasPostgres = System.IO.Directory.Exists("/usr/lib/postgresql") &&
        System.IO.Directory.GetDirectories("/usr/lib/postgresql").Any(d => System.IO.File.Exists(d + "/bin/initdb"));
    if (!hasPostgres) missing.Add("postgresql");
    if (missing.Count > 0)
    {
        var packages = string.Join(" ", missing);
        Information("Installing {0} for the suite (apt-get, needs root)", packages);
        var exit = StartProcess("bash", new ProcessSettings
        {
            Arguments = $"-c \"apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {packages} > /dev/null\"",
        });
        if (exit != 0) throw new Exception($"the suite needs {packages} and could not install it: run apt-get install -y {packages}");
        // The package may start a server of its own (port 5432): the specs do not use it.
        if (!hasPostgres) StartProcess("bash", new ProcessSettings { Arguments = "-c \"service postgresql stop > /dev/null 2>&1 || true\"" });
    }
    // promtool (Debian's prometheus package) checks deploy/monitoring's alert rules (MonitoringSpecs); without
    // the recommended extras (node exporter, IPMI tools) the suite does not use.
    if (!OnPath("promtool") && !System.IO.File.Exists("/usr/bin/promtool"))
    {
        Information("Installing prometheus (promtool) for the suite (apt-get, needs root)");
        var exit = StartProcess("bash", new ProcessSettings
        {
            Arguments = "-c \"apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus > /dev/null\"",
        });
        if (exit != 0) throw new Exception("the suite needs promtool and could not install it: run apt-get install -y prometheus");
        // The package may start a Prometheus server of its own (port 9090): the specs use only promtool.
        StartProcess("bash", new ProcessSettings { Arguments = "-c \"service prometheus stop > /dev/null 2>&1 || true\"" });
    }
    // The Node and browser tests' packages (package-lock.json at the root, so that the React
    // hook's `import 'react'` resolves from wwwroot too): playwright-core drives the system's
    // Chromium (it downloads no browser); react is there for the hook's test.
    if (!System.IO.File.Exists("./node_modules/playwright-core/package.json") || !System.IO.File.Exists("./node_modules/react/package.json"))
    {
        Information("Installing the JavaScript tests' packages (npm ci)");
        var exit = StartProcess("npm", new ProcessSettings { Arguments = "ci --no-audit --no-fund" });
        if (exit != 0) throw new Exception($"npm ci failed with exit code {exit}");
    }
});

var test = Task("Test")
    .Description("The whole suite; ends with one plain line: Tests: N passed, N failed, N skipped. --fast: only the fast .NET specs.");
if (!fast)
{
    test.IsDependentOn("TestTools") // so that the README's test command alone works on a fresh machine
        .IsDependentOn("Clean");
}
test.IsDependentOn("Build")
    .Does(() =>
{
    CleanDirectory(testResults); // the closing line counts every trx and TAP file here: this run's only
    if (fast) Information("Fast run: the .NET specs without [Trait(\"Speed\", \"Slow\")] only (filter Speed!=Slow); no Node or browser tests.");
    Exception dotnetFailure = null;
    // One test project after the other (a solution's projects would run at once, and the cluster
    // specs must not share the two cores with anything), each with a trx of its own name.
    foreach (var project in GetFiles("./tests/**/*.Tests.csproj").OrderBy(p => p.FullPath, StringComparer.Ordinal))
    {
        var name = project.GetFilenameWithoutExtension().ToString();
        try
        {
            DotNetTest(project.FullPath, new DotNetTestSettings
            {
                Configuration = configuration,
                NoBuild = true,
                NoRestore = true,
                ResultsDirectory = testResults,
                Filter = fast ? "Speed!=Slow" : null,
                Loggers = { $"trx;LogFileName={name}.trx", "console;verbosity=normal" },
            });
        }
        catch (Exception e) { dotnetFailure ??= e; } // the other projects and the JavaScript tests run all the same
    }
    var jsExit = fast ? 0 : RunJavaScriptTests();
    if (dotnetFailure is not null) throw dotnetFailure;
    if (jsExit != 0) throw new Exception($"the client library and browser tests failed (node exited with {jsExit})");
})
    .Finally(() =>
{
    // One plain closing line, whatever the runners printed: "Tests: N passed, N failed, N skipped".
    // .NET's counts summed over every project's trx, the Node test runner's from its TAP summary (# pass N ...).
    var trx = GetFiles(testResults + "/**/*.trx");
    var tap = System.IO.File.Exists(jsResults) ? System.IO.File.ReadAllLines(jsResults) : Array.Empty<string>();
    if (trx.Count == 0 && tap.Length == 0) return;
    var counters = trx.Select(f => System.Xml.Linq.XDocument.Load(f.FullPath)
        .Descendants().First(e => e.Name.LocalName == "Counters")).ToList();
    int Count(string name) => counters.Sum(c => int.Parse(c.Attribute(name)?.Value ?? "0"));
    int Tap(string name) => tap.Where(l => l.StartsWith($"# {name} ")).Select(l => int.Parse(l.Substring(name.Length + 3))).LastOrDefault();
    var passed = Count("passed") + Tap("pass");
    var failed = Count("failed") + Count("error") + Count("timeout") + Tap("fail") + Tap("cancelled");
    var skipped = Count("notExecuted") + Tap("skipped") + Tap("todo");
    // Plain text, no colours: CI reads this line.
    Console.WriteLine($"Tests: {passed} passed, {failed} failed, {skipped} skipped");
});

Task("TestJavaScript")
    .Description("Only the client library's Node tests and the dashboard's browser tests (part of Test).")
    .IsDependentOn("TestTools")
    .IsDependentOn("Build")
    .Does(() =>
{
    var exit = RunJavaScriptTests();
    if (exit != 0) throw new Exception($"the client library and browser tests failed (node exited with {exit})");
});

Task("Run")
    .Description("Runs the service on the built-in simulated city feed (ws://localhost:5000/ws) in the foreground.")
    .IsDependentOn("Build")
    .Does(() =>
{
    hostExitCode = RunInForeground(hostDll, "."); // from the repository's root: the SQLite file is ./data/traffic.db
    if (hostExitCode != 0) throw new Exception($"Traffic.Host exited with code {hostExitCode}");
});

Task("Bench")
    .Description("Runs the benchmark scenarios against the two baselines and writes bench/results/.")
    .IsDependentOn("Build")
    .Does(() =>
{
    var exit = StartProcess("bash", new ProcessSettings { Arguments = "bench/run.sh " + Argument("bench-args", "") });
    if (exit != 0) throw new Exception("bench/run.sh failed with exit code " + exit);
});

Task("BenchSmoke")
    .Description("Every benchmark scenario in a few seconds, so the benchmark cannot rot (CI runs this).")
    .IsDependentOn("Build")
    .Does(() =>
{
    var exit = StartProcess("bash", new ProcessSettings { Arguments = "bench/run.sh --smoke" });
    if (exit != 0) throw new Exception("bench/run.sh --smoke failed with exit code " + exit);
    // Issue 20: a small cluster holding connections from clients bound to 127.0.0.x, and a rolling
    // restart behind nginx (about a minute each; run.sh has just built the service and LoadGen).
    // They fail only when the run itself breaks; losses are printed as findings.
    foreach (var script in new[] { "bench/scale-out.sh", "bench/rolling-restart.sh" })
    {
        exit = StartProcess("bash", new ProcessSettings { Arguments = script + " --smoke --no-build" });
        if (exit != 0) throw new Exception(script + " --smoke failed with exit code " + exit);
    }
});

Task("Mutation")
    .Description("Mutation testing (Stryker.NET, local tool) of the core under the fast specs; reports in TestResults/mutation/.")
    .Does(() =>
{
    // Stryker builds the solution itself and runs the specs of stryker-config.json's test-case-filter once per
    // mutant; it rewrites the built assemblies of Traffic.Tests, so build again before any other test run.
    EnsureDirectoryExists(testResults + "/mutation");
    var exit = StartProcess("dotnet", new ProcessSettings
    {
        Arguments = "stryker --config-file stryker-config.json --output " + MakeAbsolute(Directory(testResults + "/mutation")).FullPath
            + " " + Argument("stryker-args", ""),
    });
    if (exit != 0) throw new Exception("dotnet stryker failed with exit code " + exit);
});

//////////////////////////////////////////////////////////////////////
// EXECUTION
//////////////////////////////////////////////////////////////////////

try
{
    RunTarget(target);
}
catch (Exception e) when (hostExitCode != 0)
{
    Error("Error: {0}", e.Message);
    System.Environment.Exit(hostExitCode); // not Cake's 1: scripts can tell a bad setting from a taken port
}

//////////////////////////////////////////////////////////////////////
// HELPER FUNCTIONS
//////////////////////////////////////////////////////////////////////

// Starts the built host (not `dotnet run`, whose own child would outlive a stopped Cake) and
// behaves like a foreground server: SIGTERM or SIGINT to this process is passed on to the host,
// which closes its clients (1001) and exits; then this process exits with the host's exit code.
// The host's standard input is a pipe this process holds: if this process dies without passing
// anything on (kill -9), the pipe closes and the host stops itself (StopWhenLauncherEnds). And
// `dotnet cake` is two processes (the dotnet command, then Cake under it): if the outer one is
// killed with -9, this one is left behind; it notices its parent changed and stops the host.
int RunInForeground(string dll, string workingDirectory)
{
    var info = new System.Diagnostics.ProcessStartInfo("dotnet")
    {
        WorkingDirectory = workingDirectory,
        UseShellExecute = false,
        RedirectStandardInput = true,
        Environment = { ["TRAFFIC_STOP_WITH_STDIN"] = "1" },
    };
    info.ArgumentList.Add(System.IO.Path.GetFullPath(dll));
    using var host = System.Diagnostics.Process.Start(info) ?? throw new Exception("could not start " + dll);
    Information("Traffic.Host started (service pid {0}); to stop it: Ctrl+C here, or kill {1} (this command's pid, SIGTERM).",
        host.Id, System.Environment.ProcessId);

    void PassOn(PosixSignalContext signal)
    {
        signal.Cancel = true; // stay alive until the host has stopped
        if (!host.HasExited) SendSignal(host.Id, signal.Signal == PosixSignal.SIGINT ? 2 : 15);
    }
    using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, PassOn);
    using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, PassOn);
    var launcher = ParentPid();
    var told = false;
    while (!host.WaitForExit(1000))
    {
        if (told || launcher is null || ParentPid() == launcher) continue;
        Warning("The command that started the service is gone: stopping the service.");
        SendSignal(host.Id, 15);
        told = true;
    }
    return host.ExitCode;
}

// This process's parent (Linux: /proc/self/stat, the field after the state), or null elsewhere.
int? ParentPid()
{
    try
    {
        var stat = System.IO.File.ReadAllText("/proc/self/stat");
        var fields = stat.Substring(stat.LastIndexOf(')') + 2).Split(' ');
        return int.Parse(fields[1]);
    }
    catch (Exception) { return null; }
}

// The client library's Node tests and the dashboard's browser tests (node:test), against the
// built host; the spec reporter for people, a TAP file for the closing line's counts.
int RunJavaScriptTests()
{
    var files = GetFiles($"{jsTests}/client/*.test.mjs").Concat(GetFiles($"{jsTests}/browser/*.test.mjs"))
        .Select(f => System.IO.Path.GetRelativePath(System.IO.Path.GetFullPath(jsTests), f.FullPath)).ToList();
    var args = new List<string>();
    if (NodeMajorVersion() < 22) args.Add("--experimental-websocket"); // Node 22 has WebSocket by default
    args.AddRange(new[] { "--test", "--test-concurrency=1", "--test-timeout=180000", // a hung test fails, not the run
        "--test-reporter=spec", "--test-reporter-destination=stdout",
        "--test-reporter=tap", $"--test-reporter-destination={System.IO.Path.GetFullPath(jsResults)}" });
    args.AddRange(files);
    System.IO.Directory.CreateDirectory(testResults);
    Information("Client library and browser tests: node {0}", string.Join(" ", args));
    return StartProcess("node", new ProcessSettings
    {
        Arguments = string.Join(" ", args.Select(a => a.Contains(' ') ? $"\"{a}\"" : a)),
        WorkingDirectory = jsTests,
        EnvironmentVariables = new Dictionary<string, string>
        {
            ["TRAFFIC_HOST_DLL"] = System.IO.Path.GetFullPath(hostDll),
            ["CHROMIUM_PATH"] = chromiumPath,
        },
    });
}

int NodeMajorVersion()
{
    var exit = StartProcess("node", new ProcessSettings { Arguments = "-p process.versions.node", RedirectStandardOutput = true }, out var lines);
    if (exit != 0) throw new Exception("node is needed by the client library and browser tests");
    return int.Parse(lines.First().Split('.')[0]);
}

// No managed API sends a signal other than SIGKILL to another process.
void SendSignal(int pid, int signal) =>
    System.Diagnostics.Process.Start("kill", $"-{signal} {pid}")?.WaitForExit();
