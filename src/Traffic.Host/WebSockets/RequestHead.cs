using Traffic.Actors.Protocol;
using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Traffic.Host.WebSockets;

/// <summary>Limits on a request head read before Kestrel's HTTP layer: the same ones Kestrel applies.</summary>
public sealed record HeadLimits(int MaxRequestLineBytes, int MaxHeadBytes, int MaxHeaderCount)
{
    /// <summary>Kestrel's defaults: 8 KB request line, 32 KB of headers, 100 headers.</summary>
    public static readonly HeadLimits Default = From(new KestrelServerLimits());

    public static HeadLimits From(KestrelServerLimits limits) =>
        new(limits.MaxRequestLineSize, limits.MaxRequestLineSize + limits.MaxRequestHeadersTotalSize, limits.MaxRequestHeaderCount);
}

/// <summary>Why a request head is refused: the status and RFC 7807 problem a client gets before the connection closes.</summary>
public sealed record HeadFault(int Status, string Title, string Detail);

/// <summary>
/// A connection's first request head, read from raw bytes (RFC 9112): found within the limits,
/// refused as soon as the bytes cannot be HTTP, parsed strictly. Only what the WebSocket handshake
/// needs is kept; any other request is left, unread, to Kestrel.
/// </summary>
public sealed record RequestHead(string Method, string Target, string Version, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();
    private static readonly byte[] VersionShape = "HTTP/0.0\r\n"u8.ToArray(); // '0' stands for any digit

    public enum ScanState { Incomplete, Complete, Refused }

    /// <summary>
    /// How far <see cref="Scan(ReadOnlySequence{byte}, HeadLimits, ref ScanProgress, out SequencePosition, out HeadFault?)"/>
    /// has looked, so that each read looks only at the new bytes: a head sent a byte at a time costs
    /// linear, not quadratic, work.
    /// </summary>
    public struct ScanProgress
    {
        internal int LineState, LineLength, PartLength;
        internal bool LineDone;
        internal long Searched;
    }

    /// <summary>Scans a buffer from its start (a fresh <see cref="ScanProgress"/>).</summary>
    public static ScanState Scan(ReadOnlySequence<byte> buffer, HeadLimits limits, out SequencePosition end, out HeadFault? fault)
    {
        var progress = new ScanProgress();
        return Scan(buffer, limits, ref progress, out end, out fault);
    }

    /// <summary>
    /// Looks at what has arrived so far: the whole head (<see cref="ScanState.Complete"/>, ending at
    /// <paramref name="end"/>), not yet (<see cref="ScanState.Incomplete"/>), or never
    /// (<see cref="ScanState.Refused"/>: not HTTP, or over the limits). The blank line is searched
    /// for only within the limit, so a head that arrives whole in one read is held to it as well.
    /// <paramref name="buffer"/> must start where it started on the previous call with the same progress.
    /// </summary>
    public static ScanState Scan(ReadOnlySequence<byte> buffer, HeadLimits limits, ref ScanProgress progress,
        out SequencePosition end, out HeadFault? fault)
    {
        end = default;
        fault = progress.LineDone ? null : CheckRequestLine(buffer, limits, ref progress);
        if (fault is not null) return ScanState.Refused;

        var window = buffer.Length > limits.MaxHeadBytes ? buffer.Slice(0, limits.MaxHeadBytes) : buffer;
        var from = Math.Max(0, progress.Searched - (HeadEnd.Length - 1)); // the blank line may straddle two reads
        var reader = new SequenceReader<byte>(window.Slice(from));
        if (reader.TryReadTo(out ReadOnlySequence<byte> _, HeadEnd, advancePastDelimiter: true))
        {
            end = reader.Position;
            return ScanState.Complete;
        }
        progress.Searched = window.Length;
        if (buffer.Length < limits.MaxHeadBytes) return ScanState.Incomplete;
        fault = new HeadFault(StatusCodes.Status431RequestHeaderFieldsTooLarge, "Request head too large",
            $"The request line and headers must end (blank line) within {limits.MaxHeadBytes} bytes.");
        return ScanState.Refused;
    }

    /// <summary>
    /// Refuses as soon as the first bytes cannot start a request line, <c>method SP target SP HTTP/d.d CRLF</c>:
    /// a TLS ClientHello, binary, text without that shape. Null while they still can. Goes on from
    /// where the last call stopped.
    /// </summary>
    private static HeadFault? CheckRequestLine(ReadOnlySequence<byte> buffer, HeadLimits limits, ref ScanProgress progress)
    {
        const int method = 0, target = 1, version = 2;
        int state = progress.LineState, length = progress.LineLength, partLength = progress.PartLength;
        try
        {
            foreach (var segment in buffer.Slice(length))
            {
                foreach (var b in segment.Span)
                {
                    length++;
                    if (length > limits.MaxRequestLineBytes)
                        return state == target
                            ? new HeadFault(StatusCodes.Status414UriTooLong, "Request target too long",
                                $"The request line must end within {limits.MaxRequestLineBytes} bytes.")
                            : NotHttp("the request line does not end");
                    switch (state)
                    {
                        case method when b == ' ' && partLength > 0:
                            state = target; partLength = 0; break;
                        case method when IsTokenChar(b):
                            partLength++; break;
                        case method when length == 1 && b == 0x16:
                            return new HeadFault(StatusCodes.Status400BadRequest, "Not an HTTP request",
                                "This port speaks plain HTTP (ws://): the bytes received start a TLS handshake. Use ws://, or a TLS terminator in front.");
                        case method:
                            return NotHttp("the method is not a token followed by a space");
                        case target when b == ' ' && partLength > 0:
                            state = version; partLength = 0; break;
                        case target when b > 0x20 && b != 0x7F:
                            partLength++; break;
                        case target:
                            return NotHttp("the request target is empty or holds a control character");
                        default: // version
                            var expected = VersionShape[partLength];
                            if (expected == '0' ? !char.IsAsciiDigit((char)b) : b != expected)
                                return NotHttp("the request line does not end in HTTP/1.1 and CRLF");
                            if (++partLength == VersionShape.Length)
                            {
                                progress.LineDone = true;
                                return null;
                            }
                            break;
                    }
                }
            }
            return null;
        }
        finally
        {
            progress.LineState = state;
            progress.LineLength = length;
            progress.PartLength = partLength;
        }
    }

    private static HeadFault NotHttp(string why) =>
        new(StatusCodes.Status400BadRequest, "Not an HTTP request", $"The bytes received cannot be an HTTP/1.1 request: {why}.");

    /// <summary>tchar (RFC 9110 section 5.6.2).</summary>
    private static bool IsTokenChar(byte b) =>
        char.IsAsciiLetterOrDigit((char)b) || b is (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*'
            or (byte)'+' or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';

    /// <summary>Parses a whole head (as <see cref="Scan"/> found it) strictly; null with the fault when it is malformed.</summary>
    public static RequestHead? Parse(ReadOnlySequence<byte> head, HeadLimits limits, out HeadFault? fault)
    {
        fault = null;
        var lines = Encoding.Latin1.GetString(head).Split("\r\n");
        var requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3)
        {
            fault = NotHttp("the request line is not method SP target SP version");
            return null;
        }

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.AsSpan(1))
        {
            if (line.Length == 0) continue; // the blank line that ends the head
            if (headers.Count == limits.MaxHeaderCount)
            {
                fault = new HeadFault(StatusCodes.Status431RequestHeaderFieldsTooLarge, "Too many headers",
                    $"A request may carry at most {limits.MaxHeaderCount} header lines.");
                return null;
            }
            if (line[0] is ' ' or '\t')
                return Malformed(out fault, "a header line starts with whitespace (obsolete line folding, RFC 9112 section 5.2)", line);
            var colon = line.IndexOf(':');
            if (colon < 0) return Malformed(out fault, "a header line has no colon", line);
            var name = line[..colon];
            if (name.Length == 0) return Malformed(out fault, "a header line has no name", line);
            if (name[^1] is ' ' or '\t')
                return Malformed(out fault, "whitespace between a header name and its colon (RFC 9112 section 5.1)", line);
            if (!IsToken(name)) return Malformed(out fault, "a header name holds a character that is not allowed", line);
            var value = line[(colon + 1)..].Trim(' ', '\t');
            if (HasControlCharacter(value)) return Malformed(out fault, "a header value holds a control character", line);
            headers.Add(KeyValuePair.Create(name, value));
        }
        return new RequestHead(requestLine[0], requestLine[1], requestLine[2], headers);
    }

    private static RequestHead? Malformed(out HeadFault fault, string why, string line)
    {
        var shown = ClientText.Safe(line, 60);
        fault = new HeadFault(StatusCodes.Status400BadRequest, "Malformed request head", $"{char.ToUpperInvariant(why[0])}{why[1..]}: \"{shown}\".");
        return null;
    }

    // Loops rather than LINQ over the characters: each upgrade runs these over every header line.
    private static bool IsToken(string name)
    {
        foreach (var c in name)
            if (c >= 0x80 || !IsTokenChar((byte)c)) return false;
        return true;
    }

    private static bool HasControlCharacter(string value)
    {
        foreach (var c in value)
            if (c is < ' ' and not '\t' or '\x7F') return true;
        return false;
    }

    /// <summary>Every value of a header, in order (names are case-insensitive); empty when it is absent.</summary>
    public IReadOnlyList<string> Values(string name)
    {
        List<string>? values = null;
        foreach (var (key, value) in Headers)
            if (key.Equals(name, StringComparison.OrdinalIgnoreCase)) (values ??= []).Add(value);
        return values is null ? [] : values;
    }
}
