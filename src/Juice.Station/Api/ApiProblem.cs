using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Juice.Station.Api;

/// <summary>
/// Every 4xx of the operator API in one shape: RFC 9457 problem details (<c>application/problem+json</c>) — type,
/// title, status, detail — with <c>error</c> (the same text as detail, as the API always answered) and, where fields
/// are at fault, <c>errors</c>: each field with what is wrong and what is allowed, all of them at once.
/// </summary>
public static class ApiProblem
{
    public const string ContentType = "application/problem+json";

    /// <summary>One problem with the request as a whole (404 no such thing, 409 not now, …).</summary>
    public static IResult Of(int status, string detail, object? extra = null) => Results.Json(Body(status, detail, null, extra), contentType: ContentType, statusCode: status);

    /// <summary>Fields with wrong values (400): each named with what is wrong and what it takes.</summary>
    public static IResult Invalid(IReadOnlyDictionary<string, string> errors, string? detail = null) =>
        Results.Json(Body(StatusCodes.Status400BadRequest, detail ?? Summary(errors), errors, null), contentType: ContentType, statusCode: StatusCodes.Status400BadRequest);

    public static IResult Invalid(string field, string error) => Invalid(new Dictionary<string, string> { [field] = error });

    /// <summary>Writes a problem from a middleware.</summary>
    public static Task WriteAsync(HttpContext context, int status, string detail, IReadOnlyDictionary<string, string>? errors = null)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(Body(status, detail, errors, null), (JsonSerializerOptions?)null, ContentType);
    }

    private static string Summary(IReadOnlyDictionary<string, string> errors) =>
        errors.Count == 1 ? $"{errors.Keys.First()}: {errors.Values.First()}" : $"{errors.Count} fields have wrong values: " + string.Join("; ", errors.Select(e => $"{e.Key}: {e.Value}"));

    private static Dictionary<string, object?> Body(int status, string detail, IReadOnlyDictionary<string, string>? errors, object? extra)
    {
        var body = new Dictionary<string, object?>
        {
            ["type"] = "about:blank",
            ["title"] = ReasonPhrases.GetReasonPhrase(status),
            ["status"] = status,
            ["detail"] = detail,
            ["error"] = detail,
        };
        if (errors is not null)
        {
            body["errors"] = errors;
        }
        foreach (var p in extra?.GetType().GetProperties() ?? [])
        {
            body[JsonNamingPolicy.CamelCase.ConvertName(p.Name)] = p.GetValue(extra);
        }
        return body;
    }

    /// <summary>
    /// What a body the endpoint could not read gets: not JSON at all (with the line and byte), or a value of the wrong
    /// type for a field (its JSON path) — no .NET type names.
    /// </summary>
    public static (string Detail, Dictionary<string, string>? Errors) Unreadable(BadHttpRequestException e)
    {
        if (e.InnerException is JsonException json)
        {
            string where = json.LineNumber is { } line ? $" (line {line + 1}, byte {json.BytePositionInLine + 1})" : "";
            // the serializer's "could not be converted" (a value of another type) names the field by its path
            if (json.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) && json.Message.Contains("could not be converted", StringComparison.Ordinal))
            {
                string field = path[2..];
                return ($"{field}: a value of the wrong type", new Dictionary<string, string> { [field] = "a value of the wrong type" + where });
            }
            return ("the body is not valid JSON" + where, null);
        }
        return (e.StatusCode == StatusCodes.Status415UnsupportedMediaType ? "the body must be JSON (Content-Type: application/json)" : "the request body could not be read: " + e.Message, null);
    }
}
