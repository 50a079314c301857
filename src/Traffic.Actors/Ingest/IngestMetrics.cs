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

    public IngestMetrics(Meter meter, BrokerStatus? broker)
    {
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
