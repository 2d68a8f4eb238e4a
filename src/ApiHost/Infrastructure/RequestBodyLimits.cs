using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>An endpoint's request body limit, in bytes (null: none).</summary>
public sealed record BodyLimit(long? MaxRequestBodySize) : IRequestSizeLimitMetadata;

/// <summary>
/// Request body limits per endpoint: <see cref="Default"/> unless the endpoint carries
/// <see cref="IRequestSizeLimitMetadata"/> (<see cref="WithBodyLimit{TBuilder}"/>). A declared
/// Content-Length over the limit is answered 413 <c>request.too_large</c> before anything is read;
/// a chunked body (no Content-Length) fails with the same answer once reading passes the limit:
/// Kestrel enforces it through <see cref="IHttpMaxRequestBodySizeFeature"/>, and on servers without
/// that feature (the test server) the body stream is wrapped to count. (Routing itself copies an
/// endpoint's <see cref="IRequestSizeLimitMetadata"/> into that feature, but endpoints without it
/// would keep Kestrel's 30 MB, and a limit hit while reading would not be this problem answer.)
/// </summary>
public static class RequestBodyLimits
{
    public const string Section = "RequestLimits";

    /// <summary>
    /// Every endpoint: 64 KB. The largest valid bodies of the ordinary endpoints (a customer with 2,000
    /// characters of notes, a store, an employee, a variant with 20 barcodes) are a few KB.
    /// </summary>
    public const long Default = 64 * 1024;

    /// <summary>
    /// Documents of up to 500 lines (receipts, refunds, stock operations) and products with up to 100
    /// variants: 256 KB. A 500-line receipt with price, discount and a 500-character note measured 52 KB
    /// as compact JSON and 73 KB indented (CostLimitTests); this leaves room for either, and for escapes.
    /// </summary>
    public const long Documents = 256 * 1024;

    public static TBuilder WithBodyLimit<TBuilder>(this TBuilder builder, long bytes) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new BodyLimit(bytes));

    /// <summary>Applies the limits; after routing (the endpoint's metadata is read) and before anything reads a body.</summary>
    public static IApplicationBuilder UseRequestBodyLimits(this IApplicationBuilder app, long defaultLimit) =>
        app.Use(async (context, next) =>
        {
            // GETs and the like carry no body: nothing to limit on the hot reads.
            if (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == false)
            {
                await next(context);
                return;
            }
            var limit = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>() is { } metadata
                ? metadata.MaxRequestBodySize
                : defaultLimit;
            if (limit is not { } max)
            {
                await next(context);
                return;
            }
            if (context.Request.ContentLength > max)
            {
                await TooLarge(max).ExecuteAsync(context);
                return;
            }
            var feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
            if (feature is { IsReadOnly: false })
                feature.MaxRequestBodySize = max;
            else
                context.Request.Body = new LimitedReadStream(context.Request.Body, max);
            try
            {
                await next(context);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge && !context.Response.HasStarted)
            {
                // Read past the limit (a chunked body): the same answer as a declared length over it.
                context.Response.Clear();
                await TooLarge(max).ExecuteAsync(context);
            }
        });

    private static IResult TooLarge(long max) =>
        ApiProblems.Problem(StatusCodes.Status413PayloadTooLarge, "request.too_large", "Payload too large",
            $"The request body exceeds this endpoint's limit of {max} bytes.");

    /// <summary>A request body that fails reading past <c>limit</c> bytes, as Kestrel's does.</summary>
    private sealed class LimitedReadStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            Count(await inner.ReadAsync(buffer.AsMemory(offset, count), ct));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
            Count(await inner.ReadAsync(buffer, ct));

        private int Count(int read)
        {
            _read += read;
            if (_read > limit)
                throw new BadHttpRequestException($"Request body too large. The max request body size is {limit} bytes.",
                    StatusCodes.Status413PayloadTooLarge);
            return read;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
