using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorMail.Configuration;

namespace ActorMail.Tls;

/// <summary>
/// The certificate STARTTLS and STLS present: the configured PEM certificate and key, or a
/// self-signed one generated at the first start under the mail root and kept there for later
/// starts (replaced once it has expired). Never part of the repository: it lives with the mail.
/// </summary>
public static class ServerCertificate
{
    /// <summary>The folder under the mail root that holds a generated certificate; not a valid mailbox name, so never taken for one.</summary>
    public const string Folder = ".tls";

    /// <summary>The generated certificate's file: the private key, then the certificate, both PEM.</summary>
    public const string FileName = "generated.pem";

    /// <summary>Where a generated certificate is kept for <paramref name="dataRoot"/>.</summary>
    public static string GeneratedPath(string dataRoot) => Path.Combine(dataRoot, Folder, FileName);

    /// <summary>
    /// The certificate for <paramref name="options"/>: read from the configured files, or the
    /// generated one (made now if there is none, or it has expired). <paramref name="generated"/>
    /// is true when a new one was made. Throws <see cref="CryptographicException"/> or
    /// <see cref="IOException"/> when a configured file cannot be read.
    /// </summary>
    public static X509Certificate2 Load(TlsOptions options, string hostname, string dataRoot, DateTimeOffset now, out bool generated)
    {
        generated = false;
        if (!options.Generates)
        {
            return Usable(X509Certificate2.CreateFromPemFile(options.Certificate, options.Key));
        }

        var path = GeneratedPath(dataRoot);
        if (File.Exists(path))
        {
            var kept = Usable(X509Certificate2.CreateFromPemFile(path));
            if (kept.NotAfter > now.UtcDateTime)
            {
                return kept;
            }

            kept.Dispose();
        }

        generated = true;
        return Generate(hostname, now, options.GeneratedValidityDays, path);
    }

    /// <summary>The SHA-256 fingerprint as clients show it: hex pairs joined by colons.</summary>
    public static string Fingerprint(X509Certificate2 certificate) =>
        string.Join(':', certificate.GetCertHash(HashAlgorithmName.SHA256).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>
    /// Makes a self-signed ECDSA P-256 certificate for <paramref name="hostname"/> (and localhost
    /// and the loopback addresses), valid for <paramref name="days"/> days from <paramref name="now"/>,
    /// and writes key and certificate to <paramref name="path"/>, readable by its owner only.
    /// </summary>
    public static X509Certificate2 Generate(string hostname, DateTimeOffset now, int days, string path)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={hostname}, O=ActorMail"), key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in new[] { hostname, "localhost" }.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (IPAddress.TryParse(name, out var address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(name);
            }
        }

        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var made = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(days));

        var folder = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(folder);
        var pem = key.ExportPkcs8PrivateKeyPem() + "\n" + made.ExportCertificatePem() + "\n";

        // Written under a name of its own, then renamed: a reader (another process on the same
        // mail root) sees the whole file or none.
        var temporary = Path.Combine(folder, $"{FileName}.{Environment.ProcessId}.tmp");
        using (var file = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(file))
        {
            writer.Write(pem);
        }

        File.Move(temporary, path, overwrite: true);
        return Usable(X509Certificate2.CreateFromPemFile(path));
    }

    // A certificate read from PEM holds an ephemeral key; SslStream on Linux takes it as it is,
    // but the export and import give one object that owns its key for the node's lifetime.
    private static X509Certificate2 Usable(X509Certificate2 certificate)
    {
        using (certificate)
        {
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null);
        }
    }
}
