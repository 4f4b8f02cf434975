using Org.BouncyCastle.X509;

namespace Juice.Hlc.Security;

/// <summary>How a certificate chain fared.</summary>
public enum ChainStatus
{
    Valid,

    /// <summary>A certificate of the path (leaf, sub-CA or root) is past its validity.</summary>
    Expired,

    /// <summary>A certificate of the path is not valid yet.</summary>
    NotYetValid,

    /// <summary>The path does not end at a trusted root.</summary>
    UntrustedRoot,

    /// <summary>A signature of the path does not verify: tampered, or the certificates are not in order.</summary>
    BadSignature,

    /// <summary>A certificate is used outside its profile: a leaf that is a CA, a CA without keyCertSign, a path too long, another domain.</summary>
    WrongProfile,

    /// <summary>Bytes that are no X.509 certificate.</summary>
    Malformed,
}

/// <summary>The outcome of a chain validation with what failed (for the log) and the leaf.</summary>
public sealed record ChainResult(ChainStatus Status, string Detail, X509Certificate? Leaf = null, X509Certificate? Root = null)
{
    public bool Valid => Status == ChainStatus.Valid;
}

/// <summary>
/// Validates the certificate chains of ISO 15118-2 (§7.9.2.4 and Annex F): a leaf, its sub-CAs (at most four, issuer
/// after subject, without the root) and a trust anchor from the given roots; every signature, every validity period
/// (the root's too) at the given time, basic constraints and path lengths, keyCertSign on every issuer, and no CA
/// flag on the leaf. Revocation (OCSP) is the backend's: an installed root list cannot know of it.
/// </summary>
public static class CertificateChains
{
    public static ChainResult Validate(ReadOnlySpan<byte> leaf, IEnumerable<byte[]> subCertificates, IReadOnlyCollection<X509Certificate> roots, DateTimeOffset at,
        string? leafDomainComponent = null)
    {
        var path = new List<X509Certificate>();
        try
        {
            path.Add(V2gCertificates.Parse(leaf));
            path.AddRange(subCertificates.Select(s => V2gCertificates.Parse(s)));
        }
        catch (Exception e) when (e is ArgumentException or IOException or Org.BouncyCastle.Security.Certificates.CertificateException or InvalidCastException)
        {
            return new ChainResult(ChainStatus.Malformed, "a certificate of the chain is not X.509 DER: " + e.Message);
        }
        return Validate(path, roots, at, leafDomainComponent);
    }

    public static ChainResult Validate(IReadOnlyList<X509Certificate> path, IReadOnlyCollection<X509Certificate> roots, DateTimeOffset at, string? leafDomainComponent = null)
    {
        if (path.Count == 0)
        {
            return new ChainResult(ChainStatus.Malformed, "an empty chain");
        }
        var leaf = path[0];
        if (path.Count > 5)
        {
            return new ChainResult(ChainStatus.WrongProfile, $"{path.Count - 1} sub-certificates, at most 4", leaf);
        }
        if (leaf.GetBasicConstraints() >= 0)
        {
            return new ChainResult(ChainStatus.WrongProfile, $"the leaf {leaf.SubjectDN} is a CA certificate", leaf);
        }
        if (leafDomainComponent is not null && !string.Equals(V2gCertificates.DomainComponent(leaf), leafDomainComponent, StringComparison.OrdinalIgnoreCase))
        {
            return new ChainResult(ChainStatus.WrongProfile, $"the leaf {leaf.SubjectDN} is not a {leafDomainComponent} certificate", leaf);
        }

        // the chain's own order: each certificate is signed by the next one
        for (int i = 0; i + 1 < path.Count; i++)
        {
            if (Issues(path[i + 1], path[i], i) is { } problem)
            {
                return new ChainResult(problem.Status, problem.Detail, leaf);
            }
        }

        // the trust anchor: a root that issued the last certificate (or is the last certificate)
        var top = path[^1];
        X509Certificate? anchor = null;
        string why = $"no trusted root issued {top.SubjectDN} (issuer {top.IssuerDN})";
        foreach (var root in roots)
        {
            if (root.Equals(top))
            {
                anchor = root;
                path = path.Take(path.Count - 1).ToList();
                break;
            }
            if (!root.SubjectDN.Equivalent(top.IssuerDN))
            {
                continue;
            }
            if (Issues(root, top, path.Count - 1) is { } problem)
            {
                why = problem.Detail;
                if (problem.Status == ChainStatus.BadSignature)
                {
                    continue;   // another root with the same name may have signed it
                }
                return new ChainResult(problem.Status, problem.Detail, leaf);
            }
            anchor = root;
            break;
        }
        if (anchor is null)
        {
            return new ChainResult(ChainStatus.UntrustedRoot, why, leaf);
        }

        foreach (var c in path.Append(anchor))
        {
            if (at.UtcDateTime < c.NotBefore)
            {
                return new ChainResult(ChainStatus.NotYetValid, $"{c.SubjectDN} is valid from {c.NotBefore:u}", leaf, anchor);
            }
            if (at.UtcDateTime > c.NotAfter)
            {
                return new ChainResult(ChainStatus.Expired, $"{c.SubjectDN} expired {c.NotAfter:u}", leaf, anchor);
            }
        }
        return new ChainResult(ChainStatus.Valid, $"{leaf.SubjectDN} → {anchor.SubjectDN}", leaf, anchor);
    }

    /// <summary>
    /// Why <paramref name="issuer"/> cannot have issued <paramref name="subject"/> (null: it did), with
    /// <paramref name="intermediates"/> CA certificates between the issuer and the leaf (RFC 5280 §4.2.1.9).
    /// </summary>
    private static (ChainStatus Status, string Detail)? Issues(X509Certificate issuer, X509Certificate subject, int intermediates)
    {
        if (!issuer.SubjectDN.Equivalent(subject.IssuerDN))
        {
            return (ChainStatus.BadSignature, $"{subject.SubjectDN} names the issuer {subject.IssuerDN}, the chain has {issuer.SubjectDN} next");
        }
        try
        {
            subject.Verify(issuer.GetPublicKey());
        }
        catch (Exception e) when (e is Org.BouncyCastle.Security.InvalidKeyException or Org.BouncyCastle.Security.Certificates.CertificateException
            or Org.BouncyCastle.Security.SignatureException or ArgumentException or InvalidOperationException or InvalidCastException)
        {
            // InvalidCastException: the issuer's key is of another algorithm (an Ed448 root and an ECDSA-signed subject)
            return (ChainStatus.BadSignature, $"the signature of {subject.SubjectDN} does not verify with the key of {issuer.SubjectDN}");
        }
        int pathLength = issuer.GetBasicConstraints();
        if (pathLength < 0)
        {
            return (ChainStatus.WrongProfile, $"{issuer.SubjectDN} is no CA");
        }
        var usage = issuer.GetKeyUsage();
        if (usage is not null && !usage[5])
        {
            return (ChainStatus.WrongProfile, $"{issuer.SubjectDN} may not sign certificates (no keyCertSign)");
        }
        // GetBasicConstraints gives int.MaxValue for a CA without a path length constraint
        if (pathLength != int.MaxValue && intermediates > pathLength)
        {
            return (ChainStatus.WrongProfile, $"{issuer.SubjectDN} allows {pathLength} CAs below it, the chain has {intermediates}");
        }
        return null;
    }

    /// <summary>True when the key usage of a certificate has every bit of <paramref name="required"/> (KeyUsage flags).</summary>
    public static bool HasKeyUsage(X509Certificate certificate, int required)
    {
        var usage = certificate.GetKeyUsage();   // index = bit number: 0 digitalSignature … 4 keyAgreement, 5 keyCertSign, …, 8 decipherOnly
        for (int bit = 0; bit < 9; bit++)
        {
            int flag = bit < 8 ? 1 << (7 - bit) : 1 << 15;
            if ((required & flag) != 0 && (usage is null || bit >= usage.Length || !usage[bit]))
            {
                return false;
            }
        }
        return true;
    }
}
