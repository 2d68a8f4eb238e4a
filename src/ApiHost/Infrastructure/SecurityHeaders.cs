using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// Response headers that keep browsers from misusing the API's answers, on every answer (errors,
/// 401s and 404s included: they are added just before the response starts).
/// </summary>
public static class SecurityHeaders
{
    /// <summary>The API serves JSON only: nothing may load, run, frame or submit anything.</summary>
    public const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>
    /// The interactive docs (Scalar): its script and styles come from this host (the script is served
    /// under /docs), its configuration is an inline module script, its "try it" calls go to this host.
    /// Nothing is loaded from elsewhere (the web fonts it would fetch fall back to local ones).
    /// </summary>
    public const string DocsPolicy =
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
        "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

    /// <summary>One year, the usual HSTS lifetime.</summary>
    public const string StrictTransportSecurity = "max-age=31536000";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app, PathString docsPath) =>
        app.Use((context, next) =>
        {
            context.Response.OnStarting(state =>
            {
                var http = (HttpContext)state;
                var headers = http.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                // The Orleans dashboard (operators only) is a page like the docs: its own scripts and styles.
                headers.ContentSecurityPolicy = http.Request.Path.StartsWithSegments(docsPath) || http.Request.Path.StartsWithSegments(Telemetry.DashboardPath)
                    ? DocsPolicy : ApiPolicy;
                // The API's answers are per caller and often per tenant: never kept by a browser or a shared cache.
                if (!headers.ContainsKey("Cache-Control") && !http.Request.Path.StartsWithSegments(docsPath))
                    headers.CacheControl = "no-store";
                // After ForwardedHeaders: also when a known TLS proxy forwarded an https request.
                if (http.Request.IsHttps)
                    headers.StrictTransportSecurity = StrictTransportSecurity;
                return Task.CompletedTask;
            }, context);
            return next(context);
        });

    /// <summary>
    /// X-Forwarded-For and X-Forwarded-Proto are believed only from the proxies in
    /// <c>ForwardedHeaders:KnownProxies</c> (addresses) and <c>ForwardedHeaders:KnownNetworks</c> (CIDR);
    /// by default loopback only (deploy/cluster's nginx). The client address they give is what the
    /// per-address rate limits count; the scheme decides Strict-Transport-Security.
    /// </summary>
    public static IServiceCollection AddJowiShopForwardedHeaders(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("ForwardedHeaders");
        var proxies = section.GetSection("KnownProxies").Get<string[]>() ?? [];
        var networks = section.GetSection("KnownNetworks").Get<string[]>() ?? [];
        var limit = section.GetValue("ForwardLimit", 1);
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            o.ForwardLimit = limit;
            foreach (var proxy in proxies)
                o.KnownProxies.Add(IPAddress.TryParse(proxy, out var address)
                    ? address
                    : throw new InvalidOperationException($"ForwardedHeaders:KnownProxies: '{proxy}' is not an IP address."));
            foreach (var network in networks)
                o.KnownIPNetworks.Add(System.Net.IPNetwork.TryParse(network, out var parsed)
                    ? parsed
                    : throw new InvalidOperationException($"ForwardedHeaders:KnownNetworks: '{network}' is not a CIDR network (e.g. 10.0.0.0/8)."));
        });
        return services;
    }
}
