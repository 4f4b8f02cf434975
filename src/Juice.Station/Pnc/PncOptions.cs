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

    /// <summary>A folder written by <c>juice certs generate</c>: its V2G, MO and OEM roots and its SECC chain and key.</summary>
    public string? Pki { get; set; }

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
        if (chain is not null && key is not null && store.SeccCredentials is null)
        {
            var certs = V2gCertificates.ParsePem(File.ReadAllText(chain));
            store.SetSeccChain(certs, V2gKeys.ReadPrivateKeyPem(File.ReadAllText(key)));
            logger.LogInformation("Plug & Charge: SECC certificate {Subject} (valid until {NotAfter:u}) installed from {File}", certs[0].SubjectDN, certs[0].NotAfter, chain);
        }
    }
}
