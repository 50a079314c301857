using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Event;

namespace Traffic.Tests.Ingest;

/// <summary>The Error lines an actor system logs from now on (what an operator's log would show), collected for a spec to count.</summary>
public sealed class ErrorLines
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public static ErrorLines Collect(ActorSystem system)
    {
        var lines = new ErrorLines();
        lines.Attach(system);
        return lines;
    }

    /// <summary>Collects from this system from now on (e.g. as it starts, before the host's services run).</summary>
    public void Attach(ActorSystem system)
    {
        var collector = system.ActorOf(Props.Create(() => new Collector(_lines)));
        system.EventStream.Subscribe(collector, typeof(Error));
    }

    private sealed class Collector : ReceiveActor
    {
        public Collector(ConcurrentQueue<string> lines) => Receive<Error>(e => lines.Enqueue(e.Message?.ToString() ?? ""));
    }
}
