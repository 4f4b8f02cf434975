using System.Globalization;
using System.Text;
using Juice.Hlc.CodeGen;

// Regenerates src/Juice.Hlc/Exi/Generated from schemas/. With --check, compares instead of writing and exits 1
// when the committed code is stale.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

bool check = args.Contains("--check");
string root = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? FindRoot();
string schemas = Path.Combine(root, "schemas");
string output = Path.Combine(root, "src", "Juice.Hlc", "Exi", "Generated");

var generation = new Generation(schemas);
generation.Run();

var expected = generation.Files.ToDictionary(f => Path.GetFullPath(Path.Combine(output, f.Key)), f => f.Value);
var existing = Directory.Exists(output)
    ? Directory.GetFiles(output, "*.g.cs", SearchOption.AllDirectories).Select(Path.GetFullPath).ToHashSet()
    : [];
var stale = new List<string>();
foreach (var (path, text) in expected.OrderBy(e => e.Key, StringComparer.Ordinal))
{
    string? current = File.Exists(path) ? File.ReadAllText(path) : null;
    if (current == text)
    {
        continue;
    }
    stale.Add(Path.GetRelativePath(root, path));
    if (!check)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text, new UTF8Encoding(false));
    }
}
foreach (var path in existing.Where(p => !expected.ContainsKey(p)).OrderBy(p => p, StringComparer.Ordinal))
{
    stale.Add(Path.GetRelativePath(root, path) + " (no longer generated)");
    if (!check)
    {
        File.Delete(path);
    }
}
if (check)
{
    if (stale.Count > 0)
    {
        Console.Error.WriteLine($"generated code is stale ({stale.Count} file(s)); run: dotnet run --project tools/Juice.Hlc.CodeGen");
        foreach (var s in stale)
        {
            Console.Error.WriteLine("  " + s);
        }
        return 1;
    }
    Console.WriteLine($"generated code is up to date ({expected.Count} files)");
    return 0;
}
Console.WriteLine($"{expected.Count} files, {stale.Count} written or removed, in {Path.GetRelativePath(root, output)}");
return 0;

static string FindRoot()
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Juice.Hlc.sln")))
        {
            return dir.FullName;
        }
    }
    throw new InvalidOperationException("run inside the repository (Juice.Hlc.sln not found)");
}
