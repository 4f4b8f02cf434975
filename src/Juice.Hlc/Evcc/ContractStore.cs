using Juice.Hlc.Security;
using Org.BouncyCastle.X509;

namespace Juice.Hlc.Evcc;

/// <summary>
/// The EV's contract store (<see cref="EvPlugAndCharge.ContractStore"/>): a folder with an installed contract's chain
/// and private key as PEM files, one pair per protocol family (ISO 15118-2: contract-chain.pem and contract.key.pem;
/// ISO 15118-20: iso20-contract-chain.pem and iso20-contract.key.pem).
/// </summary>
internal static class ContractStore
{
    public static readonly (string Chain, string Key) Iso2 = ("contract-chain.pem", "contract.key.pem");
    public static readonly (string Chain, string Key) Iso20 = ("iso20-contract-chain.pem", "iso20-contract.key.pem");

    /// <summary>The stored chain (leaf first) and the key's PEM text, or null when the folder holds no such pair.</summary>
    public static (IReadOnlyList<X509Certificate> Chain, string KeyPem)? Read(string? folder, (string Chain, string Key) files)
    {
        if (folder is null || !File.Exists(Path.Combine(folder, files.Chain)) || !File.Exists(Path.Combine(folder, files.Key)))
        {
            return null;
        }
        return (V2gCertificates.ParsePem(File.ReadAllText(Path.Combine(folder, files.Chain))), File.ReadAllText(Path.Combine(folder, files.Key)));
    }

    /// <summary>Keeps a contract (the folder is created; an earlier one of the same family is replaced).</summary>
    public static void Write(string? folder, (string Chain, string Key) files, IEnumerable<X509Certificate> chain, string keyPem)
    {
        if (folder is null)
        {
            return;
        }
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, files.Chain), V2gCertificates.ToPem(chain));
        File.WriteAllText(Path.Combine(folder, files.Key), keyPem);
    }
}
