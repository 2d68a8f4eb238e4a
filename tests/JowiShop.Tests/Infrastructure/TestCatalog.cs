using System.Net.Http.Json;
using JowiShop.Grains.Abstractions.Catalog;

namespace JowiShop.Tests.Infrastructure;

/// <summary>Valid, unique test barcodes and products.</summary>
public static class TestCatalog
{
    private static long _next = Random.Shared.NextInt64(100_000_000, 900_000_000);

    /// <summary>A fresh EAN-13 with a correct check digit.</summary>
    public static string Ean13()
    {
        var body = "478" + Interlocked.Increment(ref _next).ToString("D9");
        return body + Barcodes.CheckDigit(body);
    }

    public static string Code128() => "T-" + Interlocked.Increment(ref _next);

    public static string Sku() => "SKU-" + Interlocked.Increment(ref _next);

    public static object Variant(string? barcode = null, decimal price = 12500m, string? sku = null, string name = "Default") => new
    {
        name,
        sku = sku ?? Sku(),
        barcodes = new[] { barcode ?? Ean13() },
        price,
        cost = price * 0.7m,
        unit = "piece",
    };

    public static async Task<Product> CreateProductAsync(HttpClient client, string name = "Test product", params object[] variants)
    {
        if (variants.Length == 0)
            variants = [Variant()];
        var response = await client.PostAsJsonAsync("/api/v1/products", new { name, variants });
        return await response.ReadAsync<Product>(System.Net.HttpStatusCode.Created);
    }
}
