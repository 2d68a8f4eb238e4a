using Microsoft.AspNetCore.Http.HttpResults;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// RFC 9457 problem responses with a stable machine-readable <c>code</c>; the trace id is
/// added to every problem by the ProblemDetails customization in Program.cs.
/// </summary>
public static class ApiProblems
{
    public static ProblemHttpResult Problem(int status, string code, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title,
            extensions: new Dictionary<string, object?> { ["code"] = code });

    public static ProblemHttpResult NotFound(string code, string detail) =>
        Problem(StatusCodes.Status404NotFound, code, "Not found", detail);

    public static ProblemHttpResult Conflict(string code, string detail) =>
        Problem(StatusCodes.Status409Conflict, code, "Conflict", detail);

    public static ProblemHttpResult Forbidden(string code, string detail) =>
        Problem(StatusCodes.Status403Forbidden, code, "Forbidden", detail);

    public static ProblemHttpResult Unauthorized(string code, string detail) =>
        Problem(StatusCodes.Status401Unauthorized, code, "Unauthorized", detail);

    /// <summary>
    /// A write that did not commit (or whose outcome is unknown and was rolled back): 503 with
    /// Retry-After, so a till retries the same id, which makes the retry safe.
    /// </summary>
    public static ProblemHttpResult RetryLater(HttpContext http, string? detail)
    {
        http.Response.Headers.RetryAfter = "1";
        return Problem(StatusCodes.Status503ServiceUnavailable, "service.unavailable", "Service unavailable",
            detail ?? "Nothing was recorded. Retry with the same id.");
    }

    public static ValidationProblem Validation(FieldErrors errors) =>
        TypedResults.ValidationProblem(errors.ToDictionary(), detail: errors.Summary, title: "Validation failed",
            extensions: new Dictionary<string, object?> { ["code"] = "validation.failed" });

    /// <summary>The default code for a status when the producer named none (e.g. an empty 401 from the bearer handler).</summary>
    public static string DefaultCode(int status) => status switch
    {
        400 => "request.invalid",
        401 => "auth.unauthenticated",
        403 => "auth.forbidden",
        404 => "resource.not_found",
        405 => "request.method_not_allowed",
        409 => "resource.conflict",
        413 => "request.too_large",
        415 => "request.unsupported_media_type",
        429 => "request.rate_limited",
        503 => "service.unavailable",
        >= 500 => "server.error",
        _ => "request.failed",
    };
}

/// <summary>Per-field validation messages, keyed by the JSON path of the field (camelCase).</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    /// <summary>The number of messages so far (to tell whether a step added any).</summary>
    public int Count => _errors.Values.Sum(v => v.Count);

    public FieldErrors Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
            _errors[field] = list = [];
        list.Add(message);
        return this;
    }

    /// <summary>Adds the message when the condition does not hold.</summary>
    public FieldErrors Require(bool condition, string field, string message) =>
        condition ? this : Add(field, message);

    public FieldErrors RequireName(string? value, string field, int maxLength = 200) =>
        Require(!string.IsNullOrWhiteSpace(value) && value.Trim().Length <= maxLength, field,
            $"is required, 1 to {maxLength} characters");

    public Dictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray());

    public string Summary => string.Join("; ", _errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}"));
}
