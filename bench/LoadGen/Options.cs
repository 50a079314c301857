using System.Globalization;
using System.Net;

namespace Bench.LoadGen;

/// <summary>Command line: LoadGen SCENARIO [--name value | --flag] ...  (see Usage).</summary>
public sealed class Options
{
    public const string Usage = """
        LoadGen SCENARIO [options]          SCENARIO: idle-memory | fanout | seed-load | one-to-all | connect-storm | hold | storm | soak | slow-readers | reconnect-storm | durable-publish | restart-storm
                                            | scale-out | scale-out-clients | rolling-restart
        LoadGen summarize --out DIR --stamp STAMP [--subject ours]

          --url URL            server under test, http://127.0.0.1:PORT (loopback only)       [http://127.0.0.1:5000]
          --ws-path PATH       WebSocket path                                                  [/ws]
          --key KEY            X-Api-Key for /api/publish                                      [bench-publish-key]
          --server-pid PID     read the server's CPU and RSS from /proc/PID
          --target NAME        label of the server under test (plain, node, ours, ...)        [unknown]
          --smoke              tiny parameters: small N, one short step
          --n N                clients (idle-memory 10000, fanout 1000, seed-load 1000, one-to-all 10000, hold 19000, slow-readers 1000, reconnect-storm 2000)
          --rates LIST         publishes/s per step (seed-load 60,1000; slow-readers: the first, 50; reconnect-storm: ALERTs/s, 50; fanout: derived from --deliveries)
          --deliveries LIST    fanout: deliveries/s per step; the publish rate is deliveries / N
          --connect-rates LIST connect-storm: connections/s per step
          --step-seconds S     length of one step (fanout 5, seed-load 10, slow-readers 10, connect-storm 2;
                               reconnect-storm: publishing before the drop and after the return, 5)
          --drain-max S        longest wait for stragglers after a step                     [10]
          --rounds K           one-to-all: publishes measured [10]; storm: storms [5]
          --messages M         burst: messages a burst [100]; bursts = --rounds [6, the first a warm-up]
          --settle-seconds S   storm: how long RSS is sampled after the last storm          [30; smoke 3]
          --duration-seconds S soak: how long the steady publishing lasts                  [600; smoke 20]
          --warmup-seconds S   soak: the first S seconds are warm-up (RSS "start" is read at its end)  [60; smoke 5]
          --churn C            soak: churning clients kept connecting and dropping         [1000; smoke 100]
          --churn-hold-ms A,B  soak: each churning client lives between A and B ms         [500,3000]
          --sample-seconds S   soak, storm: server RSS/CPU sampled this often into STAMP-SCENARIO-samples.csv  [5; smoke 1]
          --seed N             soak: seed of the churn's random hold times                 [8]
          --hold-seconds S     hold: how long to hold the connections                      [10]
          --away-seconds S     reconnect-storm: how long the clients stay away after dropping  [2; smoke 0.5]
          --in-flight LIST     durable-publish: POSTs in flight of each closed-loop step (the max sustained 202/s)  [8,32,64; smoke 8]
          --persistence NAME   durable-publish: label of the server's PERSISTENCE (none, sqlite, postgres), recorded in the variant
          --signal TERM|KILL   restart-storm: how the server is stopped in the middle                   [TERM]
          --restart-script F   restart-storm: bash script that starts the server again (same port, same file); run.sh writes it
          --no-resume          reconnect-storm: come back without since= (the control: what a reconnect costs without a replay)
          --slow-every K       slow-readers: subscriber i stops reading when i mod K = K-1; 0 = nobody (the reference run)  [10]
          --concurrency C      handshakes in flight while connecting                       [200]
          --stream-buffer B    read buffer under each client socket; 0 = none (two recv() per frame)  [4096]
          --frame-bytes B      size of the delivered UPDATE frame                          [380]
          --out DIR            where JSON lines are appended                                [bench/results]
          --stamp STAMP        run id used in file names                                    [now, yyyyMMdd-HHmmss]
          --round R --slot S   position in the interleaved schedule (set by run.sh)
          --commit C --pinning TEXT --command TEXT   recorded in every result line
          --max-seconds S      hard time limit for this process                             [1800; smoke 120]

        Several processes (scale-out, rolling-restart; issue 20, bench/scale-out.sh, bench/rolling-restart.sh):
          --dir DIR            control folder shared by the coordinator, the workers and the script (go, stop, status files)
          --worker W           scale-out-clients: this worker's number (its files in --dir)
          --bind ADDR          source address of every client socket (127.0.0.2 and up: more local ports)
          --workers K          scale-out: how many scale-out-clients processes report into --dir
          --nodes URLS         comma-separated http://127.0.0.1:PORT of every node (RSS, /api/stats per node)
          --node-pids PIDS     comma-separated PIDs of the nodes, in the order of --nodes
        """;

    public string Scenario = "";
    public Uri Url = new("http://127.0.0.1:5000");
    public string WsPath = "/ws";
    public string Key = "bench-publish-key";
    public int? ServerPid;
    public string Target = "unknown";
    public bool Smoke;
    public int? N;
    public double[]? Rates;
    public double[]? Deliveries;
    public double[]? ConnectRates;
    public double? StepSeconds;
    public double DrainMax = 10;
    public int? Rounds;
    public int? Messages;
    public double? HoldSeconds;
    public int Concurrency = 200;
    public int FrameBytes = 380;
    public string Out = "bench/results";
    public string Stamp = DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
    public int Round = 1;
    public int Slot = 1;
    public string? Commit;
    public string? Pinning;
    public string? Command;
    public double? MaxSeconds;
    public string Subject = "ours";
    public double? SettleSeconds;
    public double? DurationSeconds;
    public double? WarmupSeconds;
    public int? Churn;
    public double[]? ChurnHoldMs;
    public double? SampleSeconds;
    public int Seed = 8;
    public double? AwaySeconds;
    public int SlowEvery = 10;
    public bool NoResume;
    public int[]? InFlight;
    public string? Persistence;
    public string Signal = "TERM";
    public string? RestartScript;
    public string? Dir;
    public int Worker;
    public IPAddress? Bind;
    public int Workers;
    public Uri[] Nodes = [];
    public int[] NodePids = [];

    public Uri WsUri => new UriBuilder(Url) { Scheme = Url.Scheme == "https" ? "wss" : "ws", Path = WsPath }.Uri;

    public static Options Parse(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help") throw new ArgumentException(Usage);
        var o = new Options { Scenario = args[0] };
        for (var i = 1; i < args.Length; i++)
        {
            var a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            double[] List() => Next().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            switch (a)
            {
                case "--url": o.Url = new Uri(Next()); break;
                case "--ws-path": o.WsPath = Next(); break;
                case "--key": o.Key = Next(); break;
                case "--server-pid": o.ServerPid = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--target": o.Target = Next(); break;
                case "--smoke": o.Smoke = true; break;
                case "--n": o.N = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--rates": o.Rates = List(); break;
                case "--deliveries": o.Deliveries = List(); break;
                case "--connect-rates": o.ConnectRates = List(); break;
                case "--step-seconds": o.StepSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--drain-max": o.DrainMax = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--rounds": o.Rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--messages": o.Messages = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--hold-seconds": o.HoldSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--concurrency": o.Concurrency = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--stream-buffer": ClientPool.StreamBufferSize = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--frame-bytes": o.FrameBytes = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--out": o.Out = Next(); break;
                case "--stamp": o.Stamp = Next(); break;
                case "--round": o.Round = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--slot": o.Slot = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--commit": o.Commit = Next(); break;
                case "--pinning": o.Pinning = Next(); break;
                case "--command": o.Command = Next(); break;
                case "--max-seconds": o.MaxSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--subject": o.Subject = Next(); break;
                case "--settle-seconds": o.SettleSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--duration-seconds": o.DurationSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--warmup-seconds": o.WarmupSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--churn": o.Churn = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--churn-hold-ms": o.ChurnHoldMs = List(); break;
                case "--sample-seconds": o.SampleSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--away-seconds": o.AwaySeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--no-resume": o.NoResume = true; break;
                case "--in-flight": o.InFlight = List().Select(x => (int)x).ToArray(); break;
                case "--persistence": o.Persistence = Next(); break;
                case "--signal": o.Signal = Next().ToUpperInvariant(); break;
                case "--restart-script": o.RestartScript = Next(); break;
                case "--dir": o.Dir = Next(); break;
                case "--worker": o.Worker = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--bind": o.Bind = IPAddress.Parse(Next()); break;
                case "--workers": o.Workers = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--nodes": o.Nodes = Next().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(u => new Uri(u)).ToArray(); break;
                case "--node-pids": o.NodePids = Next().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--slow-every": o.SlowEvery = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": o.Seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown option {a}\n{Usage}");
            }
        }
        if (o.Scenario != "summarize") o.Validate();
        return o;
    }

    private void Validate()
    {
        // 127.0.0.1 only: this tool never sends traffic anywhere else.
        var host = Url.Host;
        var loopback = host == "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
        if (!loopback) throw new ArgumentException($"--url must be a loopback address (127.0.0.1), not {host}");
        if (N is < 1 or > 20_000) throw new ArgumentException("--n must be between 1 and 20000");
        if (Concurrency is < 1 or > 1000) throw new ArgumentException("--concurrency must be between 1 and 1000");
        foreach (var r in (Rates ?? []).Concat(ConnectRates ?? []))
            if (r is <= 0 or > 100_000) throw new ArgumentException("rates must be in (0, 100000]");
        if (StepSeconds is <= 0 or > 120) throw new ArgumentException("--step-seconds must be in (0, 120]");
        if (HoldSeconds is < 0 or > 600) throw new ArgumentException("--hold-seconds must be in [0, 600]");
        if (SettleSeconds is < 0 or > 600) throw new ArgumentException("--settle-seconds must be in [0, 600]");
        if (DurationSeconds is <= 0 or > 3600) throw new ArgumentException("--duration-seconds must be in (0, 3600]");
        if (WarmupSeconds is < 0 || (WarmupSeconds ?? 0) >= (DurationSeconds ?? 600)) throw new ArgumentException("--warmup-seconds must be in [0, duration)");
        if (Churn is < 0 or > 5_000) throw new ArgumentException("--churn must be between 0 and 5000");
        if (ChurnHoldMs is { } h && (h.Length != 2 || h[0] < 0 || h[1] < h[0] || h[1] > 600_000)) throw new ArgumentException("--churn-hold-ms must be A,B with 0 <= A <= B <= 600000");
        if (SampleSeconds is < 0.1 or > 60) throw new ArgumentException("--sample-seconds must be in [0.1, 60]");
        if (AwaySeconds is < 0 or > 120) throw new ArgumentException("--away-seconds must be in [0, 120]");
        if (SlowEvery is < 0 or > 1000) throw new ArgumentException("--slow-every must be between 0 and 1000");
        if (InFlight is { } f && f.Any(x => x is < 1 or > 128)) throw new ArgumentException("--in-flight must be between 1 and 128");
        if (Signal is not ("TERM" or "KILL")) throw new ArgumentException("--signal must be TERM or KILL");
        if (Bind is { } b && !IPAddress.IsLoopback(b)) throw new ArgumentException("--bind must be a loopback address (127.0.0.x)");
        foreach (var u in Nodes)
            if (!(u.Host == "localhost" || (IPAddress.TryParse(u.Host.Trim('[', ']'), out var nip) && IPAddress.IsLoopback(nip))))
                throw new ArgumentException($"--nodes must be loopback addresses, not {u.Host}");
        if (Workers is < 0 or > 64) throw new ArgumentException("--workers must be between 0 and 64");
        if ((N ?? 0) + (Churn ?? 0) > 20_000) throw new ArgumentException("--n plus --churn must be at most 20000 (file descriptors)");
    }
}
