using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Traffic.Host.Configuration;

/// <summary>
/// Mutual TLS between cluster nodes (docs/operations.md, "Cluster security"): this node's
/// certificate with its key (<c>AKKA_TLS_CERT_PATH</c>, PKCS#12, <c>AKKA_TLS_CERT_PASSWORD</c>) and
/// the cluster's CA (<c>AKKA_TLS_CA_PATH</c>, PEM or DER), the only root a peer's certificate may
/// chain to. Null <see cref="Certificate"/>: remoting is plain TCP, which is allowed only on a
/// loopback bind address or with <c>AKKA_TLS=off</c>, and then <see cref="Warning"/> says so.
/// </summary>
public sealed record ClusterTlsOptions(X509Certificate2? Certificate, X509Certificate2? Authority, string? Warning)
{
    public bool Enabled => Certificate is not null;

    public static ClusterTlsOptions From(IConfiguration config, string bindAddress)
    {
        var certPath = Value(config, "AKKA_TLS_CERT_PATH");
        var caPath = Value(config, "AKKA_TLS_CA_PATH");
        var mode = Value(config, "AKKA_TLS")?.ToLowerInvariant();
        if (mode is not (null or "on" or "off"))
            throw new ServiceConfigurationException($"AKKA_TLS=\"{config["AKKA_TLS"]}\" is not on or off");

        if (certPath is null)
        {
            if (caPath is not null)
                throw new ServiceConfigurationException("AKKA_TLS_CA_PATH is set without AKKA_TLS_CERT_PATH (this node's certificate, PKCS#12 with its key)");
            if (mode == "on")
                throw new ServiceConfigurationException("AKKA_TLS=on needs AKKA_TLS_CERT_PATH (this node's certificate, PKCS#12 with its key) and AKKA_TLS_CA_PATH (the cluster's CA)");
            // Plain remoting: anyone who reaches the port could join the cluster. Fine on loopback
            // (one machine), refused elsewhere unless the operator says so explicitly.
            if (mode != "off" && !IsLoopback(bindAddress))
                throw new ServiceConfigurationException(
                    $"AKKA_TLS_CERT_PATH is not set and Akka.Remote would listen on {bindAddress}, not a loopback address: " +
                    "set AKKA_TLS_CERT_PATH and AKKA_TLS_CA_PATH (mutual TLS between nodes), or AKKA_TLS=off to run unencrypted on a private network");
            return new ClusterTlsOptions(null, null,
                $"Akka.Remote on {bindAddress} is unencrypted and unauthenticated: any process that reaches its port can join the cluster. " +
                "Set AKKA_TLS_CERT_PATH and AKKA_TLS_CA_PATH to turn mutual TLS on (docs/operations.md, \"Cluster security\").");
        }

        if (mode == "off")
            throw new ServiceConfigurationException("AKKA_TLS=off contradicts AKKA_TLS_CERT_PATH: unset one of them");
        if (caPath is null)
            throw new ServiceConfigurationException("AKKA_TLS_CA_PATH is required with AKKA_TLS_CERT_PATH: the cluster's CA certificate (PEM or DER) that every node's certificate is signed by");

        var certificate = LoadNodeCertificate(certPath, config["AKKA_TLS_CERT_PASSWORD"]);
        var authority = LoadAuthority(caPath);
        return new ClusterTlsOptions(certificate, authority, null);
    }

    private static X509Certificate2 LoadNodeCertificate(string path, string? password)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ServiceConfigurationException(
                $"AKKA_TLS_CERT_PATH=\"{path}\" cannot be read as a PKCS#12 (.pfx/.p12) certificate with its key ({OneLine(e)}); check the file and AKKA_TLS_CERT_PASSWORD", e);
        }
        if (!certificate.HasPrivateKey)
            throw new ServiceConfigurationException($"AKKA_TLS_CERT_PATH=\"{path}\" holds no private key: export the node's certificate together with its key");
        return certificate;
    }

    private static X509Certificate2 LoadAuthority(string path)
    {
        try
        {
            var bytes = File.ReadAllBytes(path);
            // PEM is text with a BEGIN line; anything else is taken as DER.
            var text = System.Text.Encoding.ASCII.GetString(bytes);
            return text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)
                ? X509Certificate2.CreateFromPem(text)
                : X509CertificateLoader.LoadCertificate(bytes);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ServiceConfigurationException($"AKKA_TLS_CA_PATH=\"{path}\" cannot be read as a certificate, PEM or DER ({OneLine(e)})", e);
        }
    }

    /// <summary>"localhost", 127.0.0.0/8 and ::1. Anything else (0.0.0.0, a LAN address, a DNS name) may be reachable from other machines.</summary>
    public static bool IsLoopback(string address) =>
        string.Equals(address, "localhost", StringComparison.OrdinalIgnoreCase) ||
        (IPAddress.TryParse(address.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    private static string? Value(IConfiguration config, string name) =>
        config[name] is { } raw && !string.IsNullOrWhiteSpace(raw) ? raw.Trim() : null;

    private static string OneLine(Exception e) => e.Message.ReplaceLineEndings(" ").Trim();
}
