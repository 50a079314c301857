namespace Traffic.Actors.Sources.Simulation;

/// <summary>
/// A mean-reverting random deviation (Ornstein-Uhlenbeck process around 0) with stationary standard deviation
/// <c>sigma</c> and correlation time <c>tau</c>. The update is exact for any elapsed time, so a long gap between
/// two steps gives a plausible value instead of blowing up.
/// </summary>
internal sealed class Drift
{
    private readonly double _sigma;
    private readonly double _tauSeconds;

    public Drift(Random random, double sigma, TimeSpan tau)
    {
        _sigma = sigma;
        _tauSeconds = tau.TotalSeconds;
        Value = sigma * random.NextGaussian();
    }

    public double Value { get; private set; }

    public double Step(Random random, double seconds)
    {
        var decay = Math.Exp(-seconds / _tauSeconds);
        Value = Value * decay + _sigma * Math.Sqrt(1 - decay * decay) * random.NextGaussian();
        return Value;
    }
}

/// <summary>
/// A <see cref="Drift"/> seen through a first-order lag: a smooth (differentiable-looking) deviation, so a value near a
/// threshold does not chatter across it on consecutive steps.
/// </summary>
internal sealed class SmoothDrift
{
    private readonly Drift _inner;
    private readonly double _lagSeconds;

    public SmoothDrift(Random random, double sigma, TimeSpan tau, TimeSpan lag)
    {
        _inner = new Drift(random, sigma, tau);
        _lagSeconds = lag.TotalSeconds;
        Value = _inner.Value;
    }

    public double Value { get; private set; }

    public double Step(Random random, double seconds)
    {
        var target = _inner.Step(random, seconds);
        Value += (target - Value) * (1 - Math.Exp(-seconds / _lagSeconds));
        return Value;
    }
}
