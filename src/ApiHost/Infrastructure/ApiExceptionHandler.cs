using Microsoft.AspNetCore.Diagnostics;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Persistence;
using Npgsql;
using Orleans.Runtime;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// Turns exceptions into problem responses: a malformed request is the client's 400 (naming
/// the field that could not be read, see <see cref="RequestRules"/>), a value PostgreSQL refuses
/// as data is a 400 too, an unreachable database or silo is a 503 with Retry-After (the client
/// may retry, nothing was acknowledged), anything else is a logged 500.
/// </summary>
public sealed class ApiExceptionHandler(IProblemDetailsService problems, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var (status, code, title, detail, errors) = Classify(exception, context);
        if (status >= 500)
            logger.LogError(exception, "Request failed with {Status} ({Code})", status, code);
        else if (code == RefusedValueCode)
            logger.LogWarning(exception, "PostgreSQL refused a request's value: an input rule should have refused it first");
        if (status == StatusCodes.Status503ServiceUnavailable)
            context.Response.Headers.RetryAfter = "1";

        context.Response.StatusCode = status;
        var problem = new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = detail, Extensions = { ["code"] = code } },
        };
        if (errors is not null)
            problem.ProblemDetails.Extensions["errors"] = errors;
        return await problems.TryWriteAsync(problem);
    }

    private const string RefusedValueCode = "request.invalid_value";

    private static (int Status, string Code, string Title, string Detail, Dictionary<string, string[]>? Errors) Classify(Exception exception, HttpContext context)
    {
        if (exception is BadHttpRequestException bad)
        {
            var (status, code, detail, errors) = RequestRules.Describe(bad, context);
            return (status, code, "Malformed request", detail, errors);
        }

        // A backstop: PostgreSQL refusing a value as data (DatabaseFailures.IsRefusedValue). It is the
        // client's value, so a 400, never a 500 or a 503 that invites the same retry forever.
        if (DataRefusal(exception))
            return (StatusCodes.Status400BadRequest, RefusedValueCode, "Invalid value",
                "A value in the request cannot be stored. Remove control characters and keep numbers and dates within range.", null);

        if (IsUnavailable(exception))
            return (StatusCodes.Status503ServiceUnavailable, "service.unavailable", "Service unavailable",
                "A backing service is unavailable. Retry shortly: a receipt retried with the same id is recorded at most once.", null);

        return (StatusCodes.Status500InternalServerError, "server.error", "Server error",
            "The server failed to handle the request.", null);
    }

    private static bool DataRefusal(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is PostgresException { SqlState: var state } && DatabaseFailures.IsRefusedValue(state)
                || e is DatabaseFailureException { IsTransient: false, SqlState: var failed } && DatabaseFailures.IsRefusedValue(failed))
                return true;
        }
        return false;
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
