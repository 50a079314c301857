namespace Traffic.Actors.Sources.Simulation;

/// <summary>Draws used by the feeds. Every draw goes through the one seeded <see cref="Random"/> of a simulation.</summary>
internal static class RandomExtensions
{
    /// <summary>Standard normal draw (Box-Muller; consumes exactly two uniforms).</summary>
    public static double NextGaussian(this Random random)
    {
        var u1 = 1.0 - random.NextDouble(); // (0, 1]
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    public static double NextRange(this Random random, double min, double max) => min + (max - min) * random.NextDouble();

    /// <summary>Exponential draw with the given mean (time to the next event of a Poisson process).</summary>
    public static double NextExponential(this Random random, double mean) => -mean * Math.Log(1.0 - random.NextDouble());

    /// <summary>True with the probability that an event of mean waiting time <paramref name="meanSeconds"/> happens within <paramref name="seconds"/>.</summary>
    public static bool Happens(this Random random, double seconds, double meanSeconds) =>
        random.NextDouble() < 1.0 - Math.Exp(-seconds / meanSeconds);

    public static T Pick<T>(this Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
}
