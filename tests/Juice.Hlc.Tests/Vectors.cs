namespace Juice.Hlc.Tests;

/// <summary>Locates ../shared (beside the repository) and its reference vectors.</summary>
internal static class Vectors
{
    public static readonly string RepositoryRoot = FindRoot();
    public static readonly string Shared = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Juice.Hlc.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("repository root not found");
    }

    public static string ExiFolder(string folder) => Path.Combine(Shared, "vectors", "exi", folder);

    public static IEnumerable<string> Names(string folder) =>
        Directory.GetFiles(ExiFolder(folder), "*.exi").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!;

    public static byte[] ReadHex(string path) => Convert.FromHexString(File.ReadAllText(path).Trim());
}
