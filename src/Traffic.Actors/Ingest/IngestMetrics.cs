using System.Diagnostics.Metrics;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Ingest;

/// <summary>
/// The ingest's instruments on the service's meter (exported at /metrics), observable so that every
/// series shows from the first scrape at 0: entities taken per topic and refused, notifications
/// shed (429), the broker's state when one is polled.
/// </summary>
public sealed class IngestMetrics
{
    private readonly long[] _taken = new long[Topics.Count];
    private long _refused;
    private long _shed;

    public IngestMetrics(Meter meter, BrokerStatus? broker, IngestGraphStatus? graphs = null)
    {
        if (graphs is not null)
        {
            string[] names = [IngestGraphStatus.Notifications, IngestGraphStatus.Polling];
            meter.CreateObservableGauge("traffic.ngsild.graph.up",
                () => names.Select(n => (Name: n, Gauge: graphs.Gauge(n))).Where(g => g.Gauge is not null)
                    .Select(g => new Measurement<int>(g.Gauge!.Value.Up, new KeyValuePair<string, object?>("graph", g.Name))),
                unit: "{graph}", description: "1 while this node's NGSI-LD ingest graph runs, 0 while it waits to be restarted after a failure (per graph)");
            meter.CreateObservableCounter("traffic.ngsild.graph.restarts",
                () => names.Select(n => (Name: n, Gauge: graphs.Gauge(n))).Where(g => g.Gauge is not null)
                    .Select(g => new Measurement<long>(g.Gauge!.Value.Restarts, new KeyValuePair<string, object?>("graph", g.Name))),
                unit: "{restart}", description: "Times this node's NGSI-LD ingest graph failed and was restarted (per graph)");
        }
        meter.CreateObservableCounter("traffic.ngsild.entities.taken",
            () => Topics.Every.Select(t => new Measurement<long>(Interlocked.Read(ref _taken[(int)t]), new KeyValuePair<string, object?>("topic", t.WireName()))),
            unit: "{entity}", description: "NGSI-LD entities taken into the aggregator's state (notified or polled), per topic");
        meter.CreateObservableCounter("traffic.ngsild.entities.refused", () => Interlocked.Read(ref _refused),
            unit: "{entity}", description: "NGSI-LD entities refused (unknown type, missing id, attributes of the wrong kind)");
        meter.CreateObservableCounter("traffic.ngsild.notifications.shed", () => Interlocked.Read(ref _shed),
            unit: "{notification}", description: "Notifications answered 429 because the ingest queue was full");
        if (broker is null) return;
        meter.CreateObservableGauge("traffic.ngsild.broker.up", () => broker.Up == true ? 1 : 0,
            unit: "{broker}", description: "1 while the polled NGSI-LD broker answers, 0 while it is away (or not polled yet)");
        meter.CreateObservableCounter("traffic.ngsild.broker.outages", () => broker.Outages,
            unit: "{outage}", description: "Times the polled NGSI-LD broker stopped answering");
    }

    public void Taken(Topic topic, int count) => Interlocked.Add(ref _taken[(int)topic], count);

    public void Refused(int count) => Interlocked.Add(ref _refused, count);

    public void Shed() => Interlocked.Increment(ref _shed);
}
