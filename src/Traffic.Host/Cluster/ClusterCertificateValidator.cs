using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Akka.Remote.Transport.DotNetty;

namespace Traffic.Host.Cluster;

/// <summary>
/// Decides, in both directions of every Akka.Remote TLS handshake, whether the peer is a node of
/// this cluster: its certificate must chain to the cluster's CA and to nothing else (not the
/// machine's trusted roots). Host names are not checked: nodes are addressed by IP. A refused peer
/// is logged once per certificate and reason (it retries every few seconds), never with any key.
/// </summary>
public sealed class ClusterCertificateValidator(X509Certificate2 authority, ILogger logger)
{
    private const int RememberedRefusals = 1024;
    private readonly ConcurrentDictionary<string, byte> _refused = new();

    /// <summary>The callback Akka.Remote's DotNetty transport calls (<c>SslOptions.CustomValidator</c>).</summary>
    public CertificateValidationCallback Callback => (certificate, chain, peer, _, _) => Validate(certificate, chain, peer);

    /// <summary>
    /// True when <paramref name="certificate"/> chains to the cluster's CA. The policy errors of
    /// the TLS stack are ignored on purpose: it checks against the machine's roots and the host name,
    /// neither of which applies here; the chain built below is the whole decision.
    /// </summary>
    public bool Validate(X509Certificate2? certificate, X509Chain? presented, string peer)
    {
        if (certificate is null) return Refuse(peer, null, "it presented no certificate");

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        // Intermediates the peer sent may complete the chain; they are not trusted by themselves.
        if (presented is not null)
            foreach (var element in presented.ChainElements)
                if (!element.Certificate.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span))
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);

        if (chain.Build(certificate)) return true;
        var reasons = chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct();
        return Refuse(peer, certificate, $"its certificate does not chain to the cluster CA ({string.Join("; ", reasons)})");
    }

    private bool Refuse(string peer, X509Certificate2? certificate, string reason)
    {
        var key = (certificate?.Thumbprint ?? "none") + "|" + reason;
        if (_refused.Count < RememberedRefusals && _refused.TryAdd(key, 0))
            logger.LogWarning("Refused a cluster peer at {Peer}: {Reason}; subject \"{Subject}\", issuer \"{Issuer}\", thumbprint {Thumbprint}, cluster CA \"{Authority}\"",
                peer, reason, certificate?.Subject ?? "-", certificate?.Issuer ?? "-", certificate?.Thumbprint ?? "-", authority.Subject);
        return false;
    }
}
