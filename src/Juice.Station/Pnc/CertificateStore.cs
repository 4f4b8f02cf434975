using System.Security.Cryptography;
using Juice.Hlc.Security;
using Juice.Hlc.Transport;
using Juice.Station.Persistence;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.X509;

namespace Juice.Station.Pnc;

/// <summary>What a stored certificate is for (the certificate types of the OCPP ISO 15118 extension).</summary>
public enum CertificateKind
{
    V2GRootCertificate,
    MORootCertificate,
    ManufacturerRootCertificate,
    CSMSRootCertificate,

    /// <summary>The SECC's own chain (leaf, Sub-CA 2, Sub-CA 1) with the leaf's private key.</summary>
    V2GCertificateChain,
}

/// <summary>The OCSP-style identity of a certificate (OCPP CertificateHashDataType): SHA-256 of the issuer's name and key, the serial number.</summary>
public sealed record CertificateHashData(string HashAlgorithm, string IssuerNameHash, string IssuerKeyHash, string SerialNumber)
{
    public bool Matches(CertificateHashData other) =>
        string.Equals(HashAlgorithm, other.HashAlgorithm, StringComparison.OrdinalIgnoreCase)
        && string.Equals(IssuerNameHash, other.IssuerNameHash, StringComparison.OrdinalIgnoreCase)
        && string.Equals(IssuerKeyHash, other.IssuerKeyHash, StringComparison.OrdinalIgnoreCase)
        && string.Equals(SerialNumber.TrimStart('0'), other.SerialNumber.TrimStart('0'), StringComparison.OrdinalIgnoreCase);

    /// <summary>The hash data of <paramref name="certificate"/>, issued by <paramref name="issuer"/> (itself for a root).</summary>
    public static CertificateHashData Of(X509Certificate certificate, X509Certificate issuer) => new(
        "SHA256",
        Convert.ToHexStringLower(SHA256.HashData(certificate.IssuerDN.GetEncoded())),
        Convert.ToHexStringLower(SHA256.HashData(SubjectPublicKeyInfo.GetInstance(issuer.CertificateStructure.SubjectPublicKeyInfo).PublicKey.GetBytes())),
        certificate.SerialNumber.ToString(16));
}

/// <summary>One installed certificate (or chain) as the backend lists it.</summary>
public sealed record InstalledCertificate(long Id, CertificateKind Kind, IReadOnlyList<X509Certificate> Chain, CertificateHashData HashData, IReadOnlyList<CertificateHashData> ChildHashData);

/// <summary>
/// The station's Plug &amp; Charge certificates in SQLite: the roots it trusts (V2G, MO, OEM, CSMS), and the SECC's
/// TLS chain with its private key, renewed through SignCertificate / CertificateSigned. The SECC reads the roots and
/// the chain for every new connection, so a change applies to the next EV.
/// </summary>
public sealed class CertificateStore(StationDatabase db, TimeProvider time)
{
    private readonly object _gate = new();
    private List<InstalledCertificate>? _cache;

    public event Action? Changed;

    private List<InstalledCertificate> All
    {
        get
        {
            lock (_gate)
            {
                return _cache ??= Load();
            }
        }
    }

    private List<InstalledCertificate> Load()
    {
        var rows = db.Read(cmd =>
        {
            cmd.With("SELECT id, kind, pem FROM certificate WHERE kind NOT IN ('PendingKey', $iso20) ORDER BY id", ("$iso20", Iso20Kind));
            var list = new List<(long Id, CertificateKind Kind, IReadOnlyList<X509Certificate> Chain)>();
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                list.Add((r.GetInt64(0), Enum.Parse<CertificateKind>(r.GetString(1)), V2gCertificates.ParsePem(r.GetString(2))));
            }
            return list;
        });
        var known = rows.SelectMany(x => x.Chain).ToList();
        return [.. rows.Select(x => Describe(x.Id, x.Kind, x.Chain, known))];
    }

    /// <summary>A stored chain with its hash data: each certificate is issued by the next one, the top by a stored root (or itself).</summary>
    private static InstalledCertificate Describe(long id, CertificateKind kind, IReadOnlyList<X509Certificate> chain, IReadOnlyList<X509Certificate> known)
    {
        X509Certificate IssuerOf(int i) => i + 1 < chain.Count ? chain[i + 1]
            : known.FirstOrDefault(c => c.SubjectDN.Equivalent(chain[i].IssuerDN)) ?? chain[i];
        var children = chain.Skip(1).Select((c, i) => CertificateHashData.Of(c, IssuerOf(i + 1))).ToList();
        return new InstalledCertificate(id, kind, chain, CertificateHashData.Of(chain[0], IssuerOf(0)), children);
    }

    private void Invalidate()
    {
        lock (_gate)
        {
            _cache = null;
        }
        Changed?.Invoke();
    }

    public IReadOnlyList<InstalledCertificate> Installed(IEnumerable<CertificateKind>? kinds = null)
    {
        var wanted = kinds?.ToHashSet();
        return [.. All.Where(c => wanted is null || wanted.Contains(c.Kind))];
    }

    public IReadOnlyList<X509Certificate> Roots(CertificateKind kind) => [.. All.Where(c => c.Kind == kind).Select(c => c.Chain[0])];

    /// <summary>The roots a contract chain may lead to: the MO roots and the V2G roots.</summary>
    public IReadOnlyCollection<X509Certificate> ContractRoots => new LiveRoots(this);

    /// <summary>Installs a root certificate (InstallCertificate); true when new.</summary>
    public bool Install(CertificateKind kind, X509Certificate certificate)
    {
        if (kind == CertificateKind.V2GCertificateChain)
        {
            throw new ArgumentException("the SECC chain is set with SetSeccChain");
        }
        bool added = db.Write(cmd => cmd.With("INSERT OR IGNORE INTO certificate (kind, pem, fingerprint, added_utc) VALUES ($k, $p, $f, $t)",
            ("$k", kind.ToString()), ("$p", V2gCertificates.ToPem([certificate])), ("$f", V2gCertificates.Fingerprint(certificate)), ("$t", Sql.Utc(time.GetUtcNow()))).ExecuteNonQuery() > 0);
        Invalidate();
        return added;
    }

    /// <summary>The SECC's chain and key (the latest set); null when none is installed.</summary>
    public V2gTlsCredentials? SeccCredentials => db.Read(cmd =>
    {
        cmd.With("SELECT pem, key_pem FROM certificate WHERE kind = $k ORDER BY id DESC LIMIT 1", ("$k", nameof(CertificateKind.V2GCertificateChain)));
        using var r = cmd.ExecuteReader();
        return r.Read() ? new V2gTlsCredentials(V2gCertificates.ParsePem(r.GetString(0)), V2gKeys.ReadPrivateKeyPem(r.GetString(1))) : null;
    });

    /// <summary>Replaces the SECC's chain and key (first installation, or CertificateSigned).</summary>
    public void SetSeccChain(IReadOnlyList<X509Certificate> chain, ECPrivateKeyParameters key)
    {
        db.Write(cmd =>
        {
            cmd.With("DELETE FROM certificate WHERE kind = $k", ("$k", nameof(CertificateKind.V2GCertificateChain))).ExecuteNonQuery();
            cmd.With("INSERT INTO certificate (kind, pem, key_pem, fingerprint, added_utc) VALUES ($k, $p, $key, $f, $t)",
                ("$k", nameof(CertificateKind.V2GCertificateChain)), ("$p", V2gCertificates.ToPem(chain)), ("$key", V2gKeys.Pkcs8Pem(key)),
                ("$f", V2gCertificates.Fingerprint(chain[0])), ("$t", Sql.Utc(time.GetUtcNow()))).ExecuteNonQuery();
        });
        Invalidate();
    }

    // the -20 SECC chains are no certificate type of the OCPP 1.6 extension: kept apart from what the backend lists
    private const string Iso20Kind = "Iso20SeccChain";

    /// <summary>
    /// The SECC's ISO 15118-20 chains and keys (TLS 1.3: one per algorithm, secp521r1 and/or Ed448); empty when none
    /// is installed. ISO 15118-2 and -20 need different certificates, so these live beside <see cref="SeccCredentials"/>.
    /// </summary>
    public IReadOnlyList<V2gTlsCredentials> Iso20SeccCredentials => db.Read(cmd =>
    {
        cmd.With("SELECT pem, key_pem FROM certificate WHERE kind = $k ORDER BY id", ("$k", Iso20Kind));
        using var r = cmd.ExecuteReader();
        var list = new List<V2gTlsCredentials>();
        while (r.Read())
        {
            list.Add(new V2gTlsCredentials(V2gCertificates.ParsePem(r.GetString(0)), PkiKeys.ReadPrivateKeyPem(r.GetString(1))));
        }
        return (IReadOnlyList<V2gTlsCredentials>)list;
    });

    /// <summary>Installs an ISO 15118-20 SECC chain and key, replacing the one of the same algorithm.</summary>
    public void SetIso20SeccChain(IReadOnlyList<X509Certificate> chain, Org.BouncyCastle.Crypto.AsymmetricKeyParameter key)
    {
        var algorithm = PkiKeys.Of(key);
        if (algorithm == PkiAlgorithm.Secp256r1)
        {
            throw new ArgumentException("an ISO 15118-20 SECC certificate is secp521r1 or Ed448; secp256r1 is the ISO 15118-2 one");
        }
        if (PkiKeys.Of(chain[0].GetPublicKey()) != algorithm)
        {
            throw new ArgumentException("the key does not belong to the certificate");
        }
        db.Write(cmd =>
        {
            foreach (var old in Iso20SeccCredentials.Where(c => c.Algorithm == algorithm))
            {
                cmd.With("DELETE FROM certificate WHERE kind = $k AND fingerprint = $f", ("$k", Iso20Kind), ("$f", V2gCertificates.Fingerprint(old.Chain[0]))).ExecuteNonQuery();
            }
            cmd.With("INSERT INTO certificate (kind, pem, key_pem, fingerprint, added_utc) VALUES ($k, $p, $key, $f, $t)",
                ("$k", Iso20Kind), ("$p", V2gCertificates.ToPem(chain)), ("$key", PkiKeys.Pkcs8Pem(key)),
                ("$f", V2gCertificates.Fingerprint(chain[0])), ("$t", Sql.Utc(time.GetUtcNow()))).ExecuteNonQuery();
        });
        Invalidate();
    }

    /// <summary>The key of a SignCertificate request waiting for its CertificateSigned.</summary>
    public ECPrivateKeyParameters? PendingKey
    {
        get => db.Read(cmd => cmd.With("SELECT key_pem FROM certificate WHERE kind = 'PendingKey' ORDER BY id DESC LIMIT 1").ExecuteScalar()) is string pem
            ? V2gKeys.ReadPrivateKeyPem(pem) : null;
        set => db.Write(cmd =>
        {
            cmd.With("DELETE FROM certificate WHERE kind = 'PendingKey'").ExecuteNonQuery();
            if (value is not null)
            {
                cmd.With("INSERT INTO certificate (kind, pem, key_pem, fingerprint, added_utc) VALUES ('PendingKey', '', $key, $f, $t)",
                    ("$key", V2gKeys.Pkcs8Pem(value)), ("$f", Convert.ToHexString(SHA256.HashData(V2gKeys.Point(V2gKeys.PublicOf(value))))), ("$t", Sql.Utc(time.GetUtcNow()))).ExecuteNonQuery();
            }
        });
    }

    /// <summary>The last OCSP answer about the SECC's certificate (GetCertificateStatus): good, revoked or unknown, and when.</summary>
    public (string Status, DateTimeOffset At, string Response)? SeccOcsp { get; set; }

    /// <summary>DeleteCertificate: Accepted, NotFound, or Failed for the SECC's own chain (it cannot run without one).</summary>
    public string Delete(CertificateHashData hash)
    {
        var match = All.FirstOrDefault(c => c.HashData.Matches(hash));
        if (match is null)
        {
            return "NotFound";
        }
        if (match.Kind == CertificateKind.V2GCertificateChain)
        {
            return "Failed";
        }
        db.Write(cmd => cmd.With("DELETE FROM certificate WHERE id = $id", ("$id", match.Id)).ExecuteNonQuery());
        Invalidate();
        return "Accepted";
    }

    private sealed class LiveRoots(CertificateStore store) : IReadOnlyCollection<X509Certificate>
    {
        private IEnumerable<X509Certificate> Current => store.Roots(CertificateKind.MORootCertificate).Concat(store.Roots(CertificateKind.V2GRootCertificate));

        public int Count => Current.Count();

        public IEnumerator<X509Certificate> GetEnumerator() => Current.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
