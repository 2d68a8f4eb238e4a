using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Persistence;
using Npgsql;
using Orleans.Runtime;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// Turns exceptions into problem responses: a malformed request is the client's 400 (naming
/// what could not be read), an unreachable database or silo is a 503 with Retry-After (the
/// client may retry, nothing was acknowledged), anything else is a logged 500.
/// </summary>
public sealed class ApiExceptionHandler(IProblemDetailsService problems, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var (status, code, title, detail) = Classify(exception);
        if (status >= 500)
            logger.LogError(exception, "Request failed with {Status} ({Code})", status, code);
        if (status == StatusCodes.Status503ServiceUnavailable)
            context.Response.Headers.RetryAfter = "1";

        context.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = detail, Extensions = { ["code"] = code } },
        });
    }

    private static (int Status, string Code, string Title, string Detail) Classify(Exception exception)
    {
        if (exception is BadHttpRequestException bad)
        {
            var detail = bad.InnerException is JsonException json ? $"{bad.Message} {json.Message}" : bad.Message;
            return (bad.StatusCode, ApiProblems.DefaultCode(bad.StatusCode) == "request.invalid" ? "request.malformed" : ApiProblems.DefaultCode(bad.StatusCode),
                "Malformed request", detail);
        }

        if (IsUnavailable(exception))
            return (StatusCodes.Status503ServiceUnavailable, "service.unavailable", "Service unavailable",
                "A backing service is unavailable. Retry shortly: a receipt retried with the same id is recorded at most once.");

        return (StatusCodes.Status500InternalServerError, "server.error", "Server error",
            "The server failed to handle the request.");
    }

    private static bool IsUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is DatabaseFailureException { IsTransient: true } or TimeoutException or SiloUnavailableException or OrleansMessageRejectionException)
                return true;
            if (e is NpgsqlException npgsql && DatabaseFailures.IsTransient(npgsql))
                return true;
        }
        return false;
    }
}
