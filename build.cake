// Build, test and run the traffic real-time service.  dotnet tool restore && dotnet cake --target=<Task>
//   Run        the service in the foreground (Ctrl+C, or SIGTERM to this process, stops it)
//   Test       the whole suite (installs nginx first when missing: see TestTools)
//   TestTools  what the suite needs besides .NET (nginx)
//   Build      restore once, build with warnings as errors
//   Bench, BenchSmoke  the benchmark (bench/README.md)

using System.Runtime.InteropServices;

//////////////////////////////////////////////////////////////////////
// ARGUMENTS
//////////////////////////////////////////////////////////////////////

var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");

//////////////////////////////////////////////////////////////////////
// GLOBAL VARIABLES
//////////////////////////////////////////////////////////////////////

var solution = "./Traffic.sln";
var testResults = "./TestResults";
var hostProject = "./src/Traffic.Host";
var hostDll = $"{hostProject}/bin/{configuration}/net10.0/Traffic.Host.dll";
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
    .Description("What the suite runs besides .NET: nginx, which the cluster spec puts in front of three nodes.")
    .Does(() =>
{
    var onPath = (EnvironmentVariable("PATH") ?? "").Split(':').Any(d => System.IO.File.Exists(System.IO.Path.Combine(d, "nginx")));
    if (onPath || System.IO.File.Exists("/usr/sbin/nginx")) return;
    Information("Installing nginx for the cluster spec (apt-get, needs root)");
    var exit = StartProcess("bash", new ProcessSettings
    {
        Arguments = "-c \"apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx > /dev/null\"",
    });
    if (exit != 0) throw new Exception("nginx is needed by the cluster spec and could not be installed: run apt-get install -y nginx");
});

Task("Test")
    .Description("The whole suite; ends with one plain line: Tests: N passed, N failed, N skipped.")
    .IsDependentOn("TestTools") // so that the README's test command alone works on a fresh machine
    .IsDependentOn("Clean")
    .IsDependentOn("Build")
    .Does(() =>
{
    DotNetTest(solution, new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        NoRestore = true,
        ResultsDirectory = testResults,
        Loggers = { "trx;LogFileName=tests.trx", "console;verbosity=normal" },
    });
})
    .Finally(() =>
{
    // One plain closing line, whatever the runner printed: "Tests: N passed, N failed, N skipped".
    var trx = GetFiles(testResults + "/**/*.trx");
    if (trx.Count == 0) return;
    var counters = System.Xml.Linq.XDocument.Load(trx.First().FullPath)
        .Descendants().First(e => e.Name.LocalName == "Counters");
    int Count(string name) => int.Parse(counters.Attribute(name)?.Value ?? "0");
    // Plain text, no colours: CI reads this line.
    Console.WriteLine($"Tests: {Count("passed")} passed, {Count("failed") + Count("error") + Count("timeout")} failed, {Count("notExecuted")} skipped");
});

Task("Run")
    .Description("Runs the service on the built-in simulated city feed (ws://localhost:5000/ws) in the foreground.")
    .IsDependentOn("Build")
    .Does(() =>
{
    hostExitCode = RunInForeground(hostDll, hostProject);
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

// Starts the built host (not `dotnet run`, whose own child would outlive a stopped Cake) in the
// project folder, as `dotnet run` would (so it reads its appsettings.json), and behaves like a
// foreground server: SIGTERM or SIGINT to this process is passed on to the host, which closes its
// clients (1001) and exits; then this process exits with the host's exit code.
int RunInForeground(string dll, string workingDirectory)
{
    var info = new System.Diagnostics.ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, UseShellExecute = false };
    info.ArgumentList.Add(System.IO.Path.GetFullPath(dll));
    using var host = System.Diagnostics.Process.Start(info) ?? throw new Exception("could not start " + dll);
    Information("Traffic.Host started (pid {0}); Ctrl+C or SIGTERM to this process stops it.", host.Id);

    void PassOn(PosixSignalContext signal)
    {
        signal.Cancel = true; // stay alive until the host has stopped
        if (!host.HasExited) SendSignal(host.Id, signal.Signal == PosixSignal.SIGINT ? 2 : 15);
    }
    using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, PassOn);
    using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, PassOn);
    host.WaitForExit();
    return host.ExitCode;
}

// No managed API sends a signal other than SIGKILL to another process.
void SendSignal(int pid, int signal) =>
    System.Diagnostics.Process.Start("kill", $"-{signal} {pid}")?.WaitForExit();
