using Microsoft.AspNetCore.HttpLogging;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// Adds the caller's tenant to the one-line request log. Only method, path, status and duration
/// are logged: never bodies, query strings or headers, so no password or token reaches a log.
/// </summary>
public sealed class RequestLogInterceptor : IHttpLoggingInterceptor
{
    public ValueTask OnRequestAsync(HttpLoggingInterceptorContext logContext) => ValueTask.CompletedTask;

    public ValueTask OnResponseAsync(HttpLoggingInterceptorContext logContext)
    {
        var tenant = logContext.HttpContext.User.FindFirst(TenantClaims.TenantId)?.Value;
        if (tenant is not null)
            logContext.AddParameter("Tenant", tenant);
        return ValueTask.CompletedTask;
    }
}
