using System.Text.RegularExpressions;

namespace Juice.Station.Tests.Api;

/// <summary>The README's operator API examples, run as written (curl) against a station: a user who copies them gets answers, not errors.</summary>
public sealed partial class ReadmeExamplesTests
{
    [GeneratedRegex(@"^(?:#\s+once:\s+)?(curl\s.+?)(?:\s+#\s.*)?$")]
    private static partial Regex CurlLine();

    [Fact]
    public async Task Every_curl_example_of_the_README_succeeds_against_a_station()
    {
        string readme = File.ReadAllText(Path.Combine(Juice.Hlc.Tests.Vectors.RepositoryRoot, "README.md"));
        var examples = readme.Split('\n').Select(l => CurlLine().Match(l.Trim())).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        Assert.True(examples.Count >= 6, $"{examples.Count} curl examples found");
        Assert.Contains(examples, e => e.Contains("/api/status", StringComparison.Ordinal));
        Assert.Contains(examples, e => e.Contains("/api/history", StringComparison.Ordinal));

        await using var station = await TestStation.StartAsync();
        string baseUrl = station.Http.BaseAddress!.ToString().TrimEnd('/');
        string work = Directory.CreateTempSubdirectory("juice-readme-").FullName;
        try
        {
            foreach (string example in examples)
            {
                string command = "curl -sS --fail-with-body --max-time 30 " + example["curl ".Length..]
                    .Replace("operator:PASSWORD", "operator:" + TestStation.Password, StringComparison.Ordinal)
                    .Replace("http://127.0.0.1:8080", baseUrl, StringComparison.Ordinal);
                var (code, output) = await Juice.Hlc.Tests.ChildProcess.RunAsync("bash", ["-c", command], TimeSpan.FromMinutes(1), work);
                Assert.True(code == 0, $"README example failed (exit {code}): {example}\n{output}");
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
