using System.Diagnostics.Metrics;

namespace Traffic.Tests.Support;

/// <summary>
/// Reads instruments of one <see cref="Meter"/> (a spec's own, so that no other spec's instruments of
/// the same name count), as an exporter would: the sum over every series (tag set).
/// </summary>
public static class MeterReader
{
    /// <summary>The current value of an observable instrument (it is asked for its value now).</summary>
    public static long Read(Meter meter, string instrument)
    {
        using var counted = new CountedInstrument(meter, instrument);
        return counted.Observe();
    }

    /// <summary>The current value of the series of an observable instrument that carries this tag.</summary>
    public static long Read(Meter meter, string instrument, string tag, string value)
    {
        using var counted = new CountedInstrument(meter, instrument, new KeyValuePair<string, object?>(tag, value));
        return counted.Observe();
    }
}

/// <summary>
/// Listens to one instrument from now on: <see cref="Total"/> sums what a counter records while
/// listened to; <see cref="Observe"/> asks an observable instrument for its current value.
/// </summary>
public sealed class CountedInstrument : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public CountedInstrument(Meter meter, string instrument, KeyValuePair<string, object?>? tag = null)
    {
        _listener.InstrumentPublished = (i, l) =>
        {
            if (ReferenceEquals(i.Meter, meter) && i.Name == instrument) l.EnableMeasurementEvents(i);
        };
        bool Counts(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tag is not { } wanted) return true;
            foreach (var t in tags)
                if (t.Key == wanted.Key && Equals(t.Value, wanted.Value)) return true;
            return false;
        }
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) => { if (Counts(tags)) Interlocked.Add(ref _total, value); });
        _listener.SetMeasurementEventCallback<int>((_, value, tags, _) => { if (Counts(tags)) Interlocked.Add(ref _total, value); });
        _listener.Start();
    }

    /// <summary>What a counter recorded since this listener started.</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>An observable instrument's current value.</summary>
    public long Observe()
    {
        Interlocked.Exchange(ref _total, 0);
        _listener.RecordObservableInstruments();
        return Total;
    }

    public void Dispose() => _listener.Dispose();
}
