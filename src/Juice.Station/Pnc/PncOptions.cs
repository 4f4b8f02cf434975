using Juice.Hlc.Security;
using Microsoft.Extensions.Logging;

namespace Juice.Station.Pnc;

/// <summary>
/// Plug &amp; Charge (configuration section <c>Pnc</c>): where the first certificates come from, and how the SECC
/// treats contracts. The certificates are imported into the database at start (roots always, the SECC chain only while
/// none is installed: a chain renewed through the backend is kept). Plug &amp; Charge itself is switched on with the
/// operator setting "15118 Configuration: On (With PlugNCharge)".
/// </summary>
public sealed class PncOptions
{
    public const string Section = "Pnc";

    /// <summary>
    /// A folder written by <c>juice certs generate</c>: its V2G, MO and OEM roots and its SECC chain and key, and the
    /// same of its ISO 15118-20 PKIs (the subfolders iso20-secp521r1 and iso20-ed448) where present.
    /// </summary>
    public string? Pki { get; set; }

    /// <summary>
    /// ISO 15118-20 PKI folders (written by <c>juice certs generate</c>, e.g. DIR/iso20-secp521r1), separated by ';':
    /// their roots and their secp521r1 or Ed448 SECC chain and key for TLS 1.3. Default: those below <see cref="Pki"/>.
    /// </summary>
    public string? Iso20Pki { get; set; }

    /// <summary>The ISO 15118-20 PKI folders in use: <see cref="Iso20Pki"/>, else those of <see cref="Pki"/>.</summary>
    public IReadOnlyList<string> Iso20Folders => Iso20Pki is { Length: > 0 }
        ? [.. Files(Iso20Pki)]
        : Pki is { Length: > 0 } dir ? [.. new[] { PkiAlgorithm.Secp521r1, PkiAlgorithm.Ed448 }.Select(a => Path.Combine(dir, TestPki.Iso20Folder(a))).Where(Directory.Exists)] : [];

    /// <summary>The SECC's chain as PEM (leaf, Sub-CA 2, Sub-CA 1) and its private key (PKCS#8 or SEC 1 PEM).</summary>
    public string? SeccCertificateChain { get; set; }

    public string? SeccPrivateKey { get; set; }

    /// <summary>PEM files of trusted roots, separated by ';'.</summary>
    public string? V2gRoots { get; set; }

    public string? MoRoots { get; set; }

    public string? OemRoots { get; set; }

    /// <summary>Seconds between the metering receipts the SECC asks for (0: every charging-loop message; negative: never).</summary>
    public int ReceiptIntervalSeconds { get; set; } = 60;

    /// <summary>Pass contracts whose root is not installed on to the backend (central contract validation) instead of refusing them.</summary>
    public bool AllowCentralValidation { get; set; } = true;

    /// <summary>Ebee dialect: the vendorId of its DataTransfer messages (its wire format is not public; the OCA names are the default).</summary>
    public string EbeeVendorId { get; set; } = PncDialect.OcaVendorId;

    /// <summary>Ebee dialect: messageIds by action (Authorize, Get15118EVCertificate, SignCertificate, CertificateSigned, …) where they differ from OCA.</summary>
    public Dictionary<string, string> EbeeMessageIds { get; set; } = [];

    private static IEnumerable<string> Files(string? list) =>
        (list ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public IEnumerable<string> Validate()
    {
        if (Pki is { Length: > 0 } dir && !File.Exists(Path.Combine(dir, "secc-chain.pem")))
        {
            yield return $"Pnc:Pki '{dir}' has no secc-chain.pem (write one with: juice certs generate --out {dir})";
        }
        foreach (var f in Files(SeccCertificateChain).Concat(Files(SeccPrivateKey)).Concat(Files(V2gRoots)).Concat(Files(MoRoots)).Concat(Files(OemRoots)))
        {
            if (!File.Exists(f))
            {
                yield return $"Pnc: the file '{f}' does not exist";
            }
        }
        foreach (var folder in Files(Iso20Pki))
        {
            if (!File.Exists(Path.Combine(folder, "secc-chain.pem")) || !File.Exists(Path.Combine(folder, "secc.key.pem")))
            {
                yield return $"Pnc:Iso20Pki '{folder}' has no secc-chain.pem and secc.key.pem (juice certs generate writes them to DIR/iso20-secp521r1 and DIR/iso20-ed448)";
            }
        }
        if ((SeccCertificateChain is null) != (SeccPrivateKey is null))
        {
            yield return "Pnc:SeccCertificateChain and Pnc:SeccPrivateKey go together";
        }
    }

    /// <summary>Imports the configured certificates into the store.</summary>
    public void Seed(CertificateStore store, ILogger logger)
    {
        void Roots(CertificateKind kind, IEnumerable<string> files)
        {
            foreach (var file in files)
            {
                foreach (var cert in V2gCertificates.ParsePem(File.ReadAllText(file)))
                {
                    if (store.Install(kind, cert))
                    {
                        logger.LogInformation("Plug & Charge: {Kind} {Subject} installed from {File}", kind, cert.SubjectDN, file);
                    }
                }
            }
        }
        string? chain = SeccCertificateChain, key = SeccPrivateKey;
        if (Pki is { Length: > 0 } dir)
        {
            Roots(CertificateKind.V2GRootCertificate, [Path.Combine(dir, "v2g-root.pem")]);
            Roots(CertificateKind.MORootCertificate, [Path.Combine(dir, "mo-root.pem")]);
            Roots(CertificateKind.ManufacturerRootCertificate, [Path.Combine(dir, "oem-root.pem")]);
            chain ??= Path.Combine(dir, "secc-chain.pem");
            key ??= Path.Combine(dir, "secc.key.pem");
        }
        Roots(CertificateKind.V2GRootCertificate, Files(V2gRoots));
        Roots(CertificateKind.MORootCertificate, Files(MoRoots));
        Roots(CertificateKind.ManufacturerRootCertificate, Files(OemRoots));
        foreach (var folder in Iso20Folders)
        {
            Roots(CertificateKind.V2GRootCertificate, [Path.Combine(folder, "v2g-root.pem")]);
            Roots(CertificateKind.MORootCertificate, [Path.Combine(folder, "mo-root.pem")]);
            Roots(CertificateKind.ManufacturerRootCertificate, [Path.Combine(folder, "oem-root.pem")]);
            var certs = V2gCertificates.ParsePem(File.ReadAllText(Path.Combine(folder, "secc-chain.pem")));
            var key20 = PkiKeys.ReadPrivateKeyPem(File.ReadAllText(Path.Combine(folder, "secc.key.pem")));
            if (!store.Iso20SeccCredentials.Any(c => c.Chain[0].Equals(certs[0])))
            {
                store.SetIso20SeccChain(certs, key20);
                logger.LogInformation("Plug & Charge: ISO 15118-20 SECC certificate {Subject} ({Algorithm}, valid until {NotAfter:u}) installed from {Dir}",
                    certs[0].SubjectDN, PkiKeys.Of(key20).Name(), certs[0].NotAfter, folder);
            }
        }
        if (chain is not null && key is not null && store.SeccCredentials is null)
        {
            var certs = V2gCertificates.ParsePem(File.ReadAllText(chain));
            store.SetSeccChain(certs, V2gKeys.ReadPrivateKeyPem(File.ReadAllText(key)));
            logger.LogInformation("Plug & Charge: SECC certificate {Subject} (valid until {NotAfter:u}) installed from {File}", certs[0].SubjectDN, certs[0].NotAfter, chain);
        }
    }
}
