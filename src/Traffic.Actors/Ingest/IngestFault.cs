namespace Traffic.Actors.Ingest;

/// <summary>Why one entity of a notification or a poll was refused; the message names the fault for the sender.</summary>
public sealed class IngestFault(string message) : Exception(message);
