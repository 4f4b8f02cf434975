using Juice.Hlc.CodeGen;

namespace Juice.Hlc.Tests.CodeGen;

public sealed class GeneratedCodeTests
{
    private static readonly string Generated = Path.Combine(Vectors.RepositoryRoot, "src", "Juice.Hlc", "Exi", "Generated");

    [Fact]
    public void Committed_generated_code_matches_a_fresh_run_of_the_generator()
    {
        var generation = new Generation(Path.Combine(Vectors.RepositoryRoot, "schemas"));
        generation.Run();
        var stale = generation.Files
            .Where(f => !File.Exists(Path.Combine(Generated, f.Key)) || File.ReadAllText(Path.Combine(Generated, f.Key)) != f.Value)
            .Select(f => f.Key)
            .ToList();
        var orphans = Directory.GetFiles(Generated, "*.g.cs", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(Generated, p).Replace('\\', '/'))
            .Where(p => !generation.Files.ContainsKey(p))
            .ToList();
        Assert.True(stale.Count == 0 && orphans.Count == 0,
            $"generated code is stale, run `dotnet run --project tools/Juice.Hlc.CodeGen`: {string.Join(", ", stale.Concat(orphans).Take(10))}");
    }

    [Fact]
    public void Generation_is_deterministic()
    {
        var a = new Generation(Path.Combine(Vectors.RepositoryRoot, "schemas"));
        a.Run();
        var b = new Generation(Path.Combine(Vectors.RepositoryRoot, "schemas"));
        b.Run();
        Assert.Equal(a.Files.OrderBy(f => f.Key, StringComparer.Ordinal), b.Files.OrderBy(f => f.Key, StringComparer.Ordinal));
    }
}
