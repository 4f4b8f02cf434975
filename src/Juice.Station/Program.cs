using Juice.Station;
using Juice.Station.Api;
using Microsoft.Extensions.Options;

// "Restart" in the web interface stops the host; it is built again from the configuration and the database.
// A start that cannot succeed ends with one line per reason on stderr and a non-zero exit (README: exit codes).
try
{
    do
    {
        await using var app = StationApp.Build(args);
        await app.RunAsync();
    }
    while (StationRestart.Consume());
    return 0;
}
catch (Exception e) when (StationExit.Of(e) is { } exit)
{
    foreach (var line in exit.Lines)
    {
        Console.Error.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} error: {line}");
    }
    return exit.Code;
}

/// <summary>How a failed start ends the process: 2 for the configuration, 3 for a port the station cannot listen on.</summary>
internal sealed record StationExit(int Code, IReadOnlyList<string> Lines)
{
    public static StationExit? Of(Exception e) => e switch
    {
        AggregateException a when a.InnerExceptions.Count == 1 => Of(a.InnerExceptions[0]),
        StationStartupException s => new(s.Problems.Any(p => p.Contains("cannot listen", StringComparison.Ordinal)) ? 3 : 2, StationFailure.Take() ?? s.Problems),
        OptionsValidationException o => new(2, [.. o.Failures]),
        // Kestrel: "Failed to bind to address http://127.0.0.1:8080: address already in use."
        IOException io when io.Message.StartsWith("Failed to bind to address", StringComparison.Ordinal) => new(3, ["Api:Urls: " + io.Message]),
        _ => null,
    };
}
