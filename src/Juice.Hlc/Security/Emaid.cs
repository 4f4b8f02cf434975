using System.Text.RegularExpressions;

namespace Juice.Hlc.Security;

/// <summary>
/// The e-mobility account identifier (ISO 15118-2 Annex H): country code (2 letters), provider ID (3 alphanumeric),
/// instance (9 alphanumeric, the first an ID type), an optional check digit; separators "-" may appear between the
/// parts in printed form but not in the messages (eMAIDType: 14 or 15 characters).
/// </summary>
public static partial class Emaid
{
    [GeneratedRegex("^[A-Za-z]{2}-?[A-Za-z0-9]{3}-?[A-Za-z0-9]{9}(-?[A-Za-z0-9])?$")]
    private static partial Regex Syntax();

    public static bool IsValid(string? emaid) => emaid is not null && Syntax().IsMatch(emaid);

    /// <summary>The eMAID without separators, upper case (how it is compared and sent as an idTag).</summary>
    public static string Normalize(string emaid) => emaid.Replace("-", "", StringComparison.Ordinal).ToUpperInvariant();

    public static bool SameAccount(string a, string b) => string.Equals(Normalize(a), Normalize(b), StringComparison.Ordinal);
}
