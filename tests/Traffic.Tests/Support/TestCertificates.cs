using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Traffic.Tests.Support;

/// <summary>
/// A throw-away certificate authority in a directory of its own, as an operator would make one
/// with openssl (docs/operations.md, "Cluster security"): its certificate as PEM, and node
/// certificates it signs as PKCS#12 files with their keys. ECDSA P-256: quick to make.
/// </summary>
public sealed class TestCertificates
{
    public const string Password = "spec-secret";

    private readonly X509Certificate2 _authority;
    private readonly string _directory;

    public TestCertificates(string directory, string name)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256); // lives as long as the CA signs (the process: a spec's lifetime)
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        _authority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        AuthorityPath = Path.Combine(directory, $"{name}.pem");
        File.WriteAllText(AuthorityPath, _authority.ExportCertificatePem());
    }

    /// <summary>The CA's certificate (PEM): AKKA_TLS_CA_PATH.</summary>
    public string AuthorityPath { get; }

    /// <summary>A node certificate signed by this CA, for both ends of a connection: AKKA_TLS_CERT_PATH (password <see cref="Password"/>).</summary>
    public string Node(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // serverAuth, clientAuth
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_authority, true, false));

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var signed = request.Create(_authority, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(6), serial);
        using var withKey = signed.CopyWithPrivateKey(key);
        var path = Path.Combine(_directory, $"{name}.pfx");
        File.WriteAllBytes(path, withKey.Export(X509ContentType.Pkcs12, Password));
        return path;
    }
}
