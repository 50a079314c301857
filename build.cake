// Build, test and run the traffic real-time service.  dotnet tool restore && dotnet cake --target=<Task>

//////////////////////////////////////////////////////////////////////
// ARGUMENTS
//////////////////////////////////////////////////////////////////////

var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
var solution = "./Traffic.sln";
var testResults = "./TestResults";

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

Task("Build")
    .Does(() =>
{
    DotNetBuild(solution, new DotNetBuildSettings { Configuration = configuration });
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
    .IsDependentOn("TestTools")
    .IsDependentOn("Clean")
    .IsDependentOn("Build")
    .Does(() =>
{
    DotNetTest(solution, new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
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
    .Description("Runs the service on the built-in simulated city feed (ws://localhost:5000/ws).")
    .Does(() =>
{
    DotNetRun("./src/Traffic.Host/Traffic.Host.csproj", new DotNetRunSettings { Configuration = configuration });
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

RunTarget(target);
