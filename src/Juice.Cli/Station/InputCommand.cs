using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Juice.Cli.Station;

/// <summary>
/// <c>juice input high|low|show [--url URL] [--password P]</c>: the station's external input (load shedding, the manual's
/// "Opto 1 In") through the operator API where no GPIO line is configured — for a bench, a test or an energy supplier's
/// signal that arrives some other way. Prints the level and whether load shedding is active.
/// </summary>
internal static class InputCommand
{
    public static Command Create()
    {
        var level = new Argument<string>("level") { Description = "high or low (the electrical level; the station's polarity setting decides whether it is active), or show" };
        level.AcceptOnlyFromAmong("high", "low", "show");
        var url = new Option<string>("--url") { Description = "the station's operator API", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var password = new Option<string?>("--password") { Description = "the operator password (default: the environment variable JUICE_OPERATOR_PASSWORD)" };
        var command = new Command("input", "Set or show the station's external input (load shedding) through its operator API") { level, url, password };
        command.SetAction(async (result, ct) =>
        {
            string? secret = result.GetValue(password) ?? Environment.GetEnvironmentVariable("JUICE_OPERATOR_PASSWORD");
            if (string.IsNullOrEmpty(secret))
            {
                Console.Error.WriteLine("the operator password is needed: --password or JUICE_OPERATOR_PASSWORD");
                return 2;
            }
            if (!Uri.TryCreate(result.GetValue(url), UriKind.Absolute, out var baseAddress) || baseAddress.Scheme is not ("http" or "https"))
            {
                Console.Error.WriteLine($"--url '{result.GetValue(url)}' is no http:// or https:// address of the station");
                return 2;
            }
            using var http = new HttpClient { BaseAddress = baseAddress };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("operator:" + secret)));
            try
            {
                string wanted = result.GetValue(level)!;
                using var answer = wanted == "show"
                    ? await http.GetAsync("/api/load-management", ct)
                    : await http.PutAsJsonAsync("/api/load-management/external-input", new { level = wanted }, ct);
                if (!answer.IsSuccessStatusCode)
                {
                    string detail = (int)answer.StatusCode == 401 ? "wrong operator password" : (await answer.Content.ReadAsStringAsync(ct)).Trim();
                    Console.Error.WriteLine($"the station refused ({(int)answer.StatusCode}): {detail}");
                    return 1;
                }
                var state = (await http.GetFromJsonAsync<JsonObject>("/api/load-management", ct))!["externalInput"]!;
                Console.WriteLine($"external input: level {state["level"]?.ToString() ?? "not set"}, load shedding {((bool)state["active"]! ? "active" : "inactive")}, " +
                    $"used by {state["usedBy"]?.ToString() ?? "nothing (off)"}, input {state["source"]}");
                return 0;
            }
            catch (HttpRequestException e)
            {
                Console.Error.WriteLine($"the station at {result.GetValue(url)} cannot be reached: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
