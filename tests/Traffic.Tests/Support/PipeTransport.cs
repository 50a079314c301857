using System.IO.Pipelines;

namespace Traffic.Tests.Support;

/// <summary>A connection's transport made of two in-memory pipes, for specs of what is written to and read from it.</summary>
public sealed class PipeTransport(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input { get; } = input;
    public PipeWriter Output { get; } = output;
}
