using System.Runtime.CompilerServices;
using Akka.Hosting;

namespace Traffic.Actors.Hosting;

/// <summary>
/// The start-up order of the actors, held by code: Akka.Hosting runs the actor starters in the order
/// they were added, and a starter that reads a registry key no earlier starter registered fails only
/// when the actor system starts, deep in Akka. So each hosting extension says what it registers
/// (<see cref="Provides{TKey}"/>) and what it needs (<see cref="Needs{TKey}"/>), and composing them
/// in the wrong order fails at once, naming both.
/// </summary>
public static class StartOrder
{
    private static readonly ConditionalWeakTable<AkkaConfigurationBuilder, HashSet<Type>> Registered = new();

    /// <summary>The starters added after this call may read <typeparamref name="TKey"/> from the registry.</summary>
    public static AkkaConfigurationBuilder Provides<TKey>(this AkkaConfigurationBuilder builder)
    {
        Registered.GetOrCreateValue(builder).Add(typeof(TKey));
        return builder;
    }

    /// <summary>Fails unless an extension added earlier provides <typeparamref name="TKey"/>.</summary>
    /// <param name="extension">The extension that needs it, for the message.</param>
    public static AkkaConfigurationBuilder Needs<TKey>(this AkkaConfigurationBuilder builder, string extension)
    {
        if (!Registered.TryGetValue(builder, out var keys) || !keys.Contains(typeof(TKey)))
            throw new InvalidOperationException(
                $"{extension} needs {typeof(TKey).Name} in the actor registry: add the extension that starts it before {extension}");
        return builder;
    }
}
