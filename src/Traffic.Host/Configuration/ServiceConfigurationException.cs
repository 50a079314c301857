namespace Traffic.Host.Configuration;

/// <summary>
/// A setting the service cannot start with. The message is one line for the operator: the
/// variable, the value it had, and what is expected. Program prints it alone, without a stack trace.
/// </summary>
public sealed class ServiceConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
