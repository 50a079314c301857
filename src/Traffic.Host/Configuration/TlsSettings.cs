using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Traffic.Host.Configuration;

/// <summary>
/// HTTPS and wss:// on Kestrel (docs/operations.md, "TLS"). The certificate comes from PEM files
/// (<c>TLS_CERT_PATH</c>, the certificate and any intermediates; <c>TLS_KEY_PATH</c>, its key, or the key
/// in the same file; <c>TLS_KEY_PASSWORD</c> for an encrypted key), or else from Kestrel's standard
/// certificate configuration (<c>Kestrel:Certificates:Default</c>: <c>Path</c>, <c>KeyPath</c>, <c>Password</c>;
/// as environment variables <c>Kestrel__Certificates__Default__Path</c> and so on). With a certificate,
/// <c>HTTPS_PORT</c> serves TLS and <c>WS_PORT</c> plain HTTP, unless <c>HTTP_ENABLED=false</c> turns it off.
/// A file that is missing or cannot be read stops the start with one line naming it.
/// </summary>
public sealed record TlsSettings
{
    public const int DefaultHttpsPort = 5443;

    public static readonly TlsSettings None = new();

    /// <summary>The server's certificate with its private key; null: no TLS.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>Intermediate certificates sent with <see cref="Certificate"/> (the rest of a PEM chain file).</summary>
    public X509Certificate2Collection Chain { get; init; } = [];

    /// <summary>The port HTTPS and wss:// listen on (HTTPS_PORT), on WS_HOST.</summary>
    public int HttpsPort { get; init; } = DefaultHttpsPort;

    /// <summary>Whether WS_PORT serves plain HTTP and ws:// (HTTP_ENABLED; true unless turned off, which needs a certificate).</summary>
    public bool HttpEnabled { get; init; } = true;

    /// <summary>Where the certificate came from, for the start-up log: the variable and the file.</summary>
    public string? Source { get; init; }

    public bool Enabled => Certificate is not null;

    /// <param name="integer">Reads a whole-number setting the way every other one is read (name, fallback, min, max).</param>
    /// <param name="boolean">Reads a true/false setting the way every other one is read (name, fallback).</param>
    public static TlsSettings From(IConfiguration config, Func<string, int, int, int, int> integer, Func<string, bool, bool> boolean)
    {
        var httpEnabled = boolean("HTTP_ENABLED", true);
        var certPath = Value(config, "TLS_CERT_PATH");
        var keyPath = Value(config, "TLS_KEY_PATH");
        var kestrelPath = Value(config, "Kestrel:Certificates:Default:Path");

        if (certPath is null && keyPath is not null)
            throw new ServiceConfigurationException("TLS_KEY_PATH is set without TLS_CERT_PATH (the certificate, PEM)");

        (X509Certificate2 Certificate, X509Certificate2Collection Chain, string Source)? loaded = null;
        if (certPath is not null)
            loaded = LoadPem("TLS_CERT_PATH", certPath, "TLS_KEY_PATH", keyPath, Value(config, "TLS_KEY_PASSWORD"), "TLS_KEY_PASSWORD");
        else if (kestrelPath is not null)
            loaded = LoadKestrelDefault(config, kestrelPath);

        if (loaded is null)
        {
            if (!httpEnabled)
                throw new ServiceConfigurationException("HTTP_ENABLED=false needs a certificate (TLS_CERT_PATH and TLS_KEY_PATH, PEM): without one nothing would listen");
            if (Value(config, "HTTPS_PORT") is { } orphan)
                throw new ServiceConfigurationException($"HTTPS_PORT=\"{orphan}\" is set without a certificate: set TLS_CERT_PATH and TLS_KEY_PATH (PEM)");
            return None;
        }

        var httpsPort = integer("HTTPS_PORT", DefaultHttpsPort, 0, 65535);
        var httpPort = integer("WS_PORT", 5000, 0, 65535);
        if (httpEnabled && httpsPort != 0 && httpsPort == httpPort)
            throw new ServiceConfigurationException(
                $"HTTPS_PORT and WS_PORT are both {httpsPort}: TLS and plain HTTP need ports of their own (or HTTP_ENABLED=false to serve TLS only)");

        var (certificate, chain, source) = loaded.Value;
        return new TlsSettings { Certificate = certificate, Chain = chain, HttpsPort = httpsPort, HttpEnabled = httpEnabled, Source = source };
    }

    /// <summary>Kestrel's own certificate settings: PEM with <c>KeyPath</c>, otherwise PKCS#12 (.pfx) with <c>Password</c>, as Kestrel reads them.</summary>
    private static (X509Certificate2, X509Certificate2Collection, string) LoadKestrelDefault(IConfiguration config, string path)
    {
        const string pathName = "Kestrel:Certificates:Default:Path";
        var keyPath = Value(config, "Kestrel:Certificates:Default:KeyPath");
        var password = Value(config, "Kestrel:Certificates:Default:Password");
        if (keyPath is not null)
            return LoadPem(pathName, path, "Kestrel:Certificates:Default:KeyPath", keyPath, password, "Kestrel:Certificates:Default:Password");

        Readable(pathName, path);
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        catch (CryptographicException e)
        {
            throw new ServiceConfigurationException(
                $"{pathName}=\"{path}\" cannot be read as a PKCS#12 (.pfx) certificate with its key ({OneLine(e)}); check the file and Kestrel:Certificates:Default:Password, or give a PEM key in Kestrel:Certificates:Default:KeyPath", e);
        }
        RequireKey(pathName, path, certificate);
        return (certificate, [], $"{pathName}={path}");
    }

    private static (X509Certificate2, X509Certificate2Collection, string) LoadPem(string certName, string certPath, string keyName, string? keyPath,
        string? password, string passwordName)
    {
        var certText = Readable(certName, certPath);
        var keyText = keyPath is null ? certText : Readable(keyName, keyPath);

        var all = new X509Certificate2Collection();
        try
        {
            all.ImportFromPem(certText);
        }
        catch (CryptographicException e)
        {
            throw new ServiceConfigurationException($"{certName}=\"{certPath}\" cannot be read as a PEM certificate ({OneLine(e)})", e);
        }
        if (all.Count == 0)
            throw new ServiceConfigurationException($"{certName}=\"{certPath}\" holds no PEM certificate (a \"-----BEGIN CERTIFICATE-----\" block)");

        var keyFile = keyPath is null ? $"{certName}=\"{certPath}\"" : $"{keyName}=\"{keyPath}\"";
        X509Certificate2 certificate;
        try
        {
            // The first certificate of the file is the server's, the others its intermediates (as openssl and ACME clients write "fullchain" files).
            var leaf = all[0];
            var leafPem = leaf.ExportCertificatePem();
            certificate = password is null
                ? X509Certificate2.CreateFromPem(leafPem, keyText)
                : X509Certificate2.CreateFromEncryptedPem(leafPem, keyText, password);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            if (keyPath is null)
                throw new ServiceConfigurationException($"{keyFile} holds no private key for its certificate ({OneLine(e)}); set {keyName} to the key's file (PEM)", e);
            var hint = password is null ? $"; an encrypted key needs {passwordName}" : "";
            throw new ServiceConfigurationException(
                $"{keyFile} holds no private key that matches the certificate of {certName}=\"{certPath}\" ({OneLine(e)}){hint}", e);
        }
        RequireKey(certName, certPath, certificate);
        var chain = new X509Certificate2Collection();
        for (var i = 1; i < all.Count; i++) chain.Add(all[i]);
        return (certificate, chain, keyPath is null ? $"{certName}={certPath}" : $"{certName}={certPath}, {keyName}={keyPath}");
    }

    /// <summary>The file's text, or one line naming the variable and the file when it cannot be read.</summary>
    private static string Readable(string name, string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            var why = e switch
            {
                FileNotFoundException or DirectoryNotFoundException => "no such file",
                UnauthorizedAccessException => "not readable by this process",
                _ => OneLine(e),
            };
            throw new ServiceConfigurationException($"{name}=\"{path}\" cannot be read: {why}", e);
        }
    }

    private static void RequireKey(string name, string path, X509Certificate2 certificate)
    {
        if (!certificate.HasPrivateKey)
            throw new ServiceConfigurationException($"{name}=\"{path}\" holds no private key for its certificate");
    }

    private static string? Value(IConfiguration config, string name) =>
        config[name] is { } raw && !string.IsNullOrWhiteSpace(raw) ? raw.Trim() : null;

    private static string OneLine(Exception e) => e.Message.ReplaceLineEndings(" ").Trim();
}
