using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace JowiShop.Tests.Api;

/// <summary>Request bodies are bounded per endpoint; ids that do not exist leave no activation behind.</summary>
public sealed class CostLimitTests(ApiFixture api, ITestOutputHelper output) : IClassFixture<ApiFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static string LoginBody(int padding) =>
        $$"""{"login":"a@example.com","password":"{{new string('x', padding)}}"}""";

    [Fact]
    public async Task A_declared_body_over_the_default_limit_is_a_413_problem_even_anonymously()
    {
        var client = api.Factory.CreateClient();
        var response = await client.PostAsync("/api/v1/auth/login",
            new StringContent(LoginBody((int)RequestBodyLimits.Default), Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "request.too_large");
        Assert.Contains($"{RequestBodyLimits.Default} bytes", problem.GetProperty("detail").GetString());

        // Just under the limit: read, and answered on its merits.
        var under = await client.PostAsync("/api/v1/auth/login",
            new StringContent(LoginBody((int)RequestBodyLimits.Default - 100), Encoding.UTF8, "application/json"));
        await under.AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.invalid_credentials");
    }

    [Fact]
    public async Task A_streamed_body_over_the_limit_is_a_413_problem()
    {
        var client = api.Factory.CreateClient();
        var content = new StreamContent(new NoLengthStream(Encoding.UTF8.GetBytes(LoginBody(200_000))));
        content.Headers.ContentType = new("application/json");
        var response = await client.PostAsync("/api/v1/auth/login", content);
        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "request.too_large");
    }

    [Fact]
    public async Task A_500_line_receipt_fits_its_endpoints_larger_limit()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        var storeId = shop.StoreIds[0];
        var variant = shop.Products[0].Variants[0];
        // What a till sends for a full receipt: every line with its price and discount, indented.
        var sale = new
        {
            id = Guid.NewGuid(),
            storeId,
            terminalId = shop.TerminalByStore[storeId],
            customerId = (Guid?)null,
            items = Enumerable.Range(0, 500).Select(_ => new { variantId = variant.Id, quantity = 1.000m, unitPrice = variant.Price, discount = 0.00m }).ToArray(),
            payments = new[] { new { method = "cash", amount = 500 * variant.Price } },
            note = new string('n', 500),
        };
        var compact = JsonSerializer.SerializeToUtf8Bytes(sale, JsonSerializerOptions.Web);
        var indented = JsonSerializer.SerializeToUtf8Bytes(sale, new JsonSerializerOptions(JsonSerializerOptions.Web) { WriteIndented = true });
        output.WriteLine($"500-line receipt: {compact.Length} bytes compact, {indented.Length} bytes indented");
        Assert.True(indented.Length > RequestBodyLimits.Default, $"{indented.Length} bytes: the test no longer needs the larger limit");
        Assert.True(indented.Length < RequestBodyLimits.Documents / 2, $"{indented.Length} bytes: the receipt limit leaves too little room");

        var response = await shop.Owner.PostAsync("/api/v1/receipts", new ByteArrayContent(indented) { Headers = { ContentType = new("application/json") } });
        var receipt = await response.ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(500, receipt.Items.Count);

        // The same body on an endpoint with the default limit is refused before it is read.
        await (await shop.Owner.PostAsync("/api/v1/customers", new ByteArrayContent(indented) { Headers = { ContentType = new("application/json") } }))
            .AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "request.too_large");
    }

    [Fact]
    public async Task Reading_a_product_id_that_does_not_exist_leaves_no_product_grain_active()
    {
        var (client, registration) = await api.Factory.RegisterAsync();
        var grains = api.Factory.Services.GetRequiredService<IGrainFactory>();
        var existing = await TestCatalog.CreateProductAsync(client, "Kept");
        (await client.GetAsync($"/api/v1/products/{existing.Id}")).EnsureSuccessStatusCode();

        var unknown = Guid.NewGuid();
        await (await client.GetAsync($"/api/v1/products/{unknown}")).AssertProblemAsync(HttpStatusCode.NotFound, "product.not_found");
        await (await client.PatchAsJsonAsync($"/api/v1/products/{Guid.NewGuid()}", new { name = "x" }))
            .AssertProblemAsync(HttpStatusCode.NotFound, "product.not_found");

        var tenant = registration.TenantId.ToString();
        var unknownGrain = grains.GetGrain<IProductGrain>(unknown, tenant).GetGrainId();
        var active = await UntilAsync(grains, unknownGrain.Type, ids => !ids.Contains(unknownGrain));
        Assert.DoesNotContain(unknownGrain, active);
        // The same observation sees a product that exists: it stays in memory (the scan cache).
        Assert.Contains(grains.GetGrain<IProductGrain>(existing.Id, tenant).GetGrainId(), active);
    }

    [Fact]
    public async Task A_store_grain_asked_about_a_store_that_does_not_exist_deactivates()
    {
        var (_, registration) = await api.Factory.RegisterAsync();
        var grains = api.Factory.Services.GetRequiredService<IGrainFactory>();
        var store = grains.GetGrain<IStoreGrain>(Guid.NewGuid(), registration.TenantId.ToString());
        var result = await store.SellAsync(new SaleCommand(Guid.NewGuid(), Guid.NewGuid(), registration.User.Id, null,
            [new SaleLine(Guid.NewGuid(), 1m, 1m, 0m, null)], [new Payment(PaymentMethod.Cash, 1m)], null, [1]));
        Assert.Equal(SaleOutcome.StoreNotFound, result.Outcome);

        var id = store.GetGrainId();
        Assert.DoesNotContain(id, await UntilAsync(grains, id.Type, ids => !ids.Contains(id)));
    }

    /// <summary>Polls the cluster's activations of a grain type until the condition holds or the deadline passes; returns the last list.</summary>
    private static async Task<List<GrainId>> UntilAsync(IGrainFactory grains, GrainType type, Func<List<GrainId>, bool> condition)
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        var until = DateTime.UtcNow + Deadline;
        List<GrainId> active;
        do
        {
            active = await management.GetActiveGrains(type);
            if (condition(active))
                break;
            await Task.Delay(50);
        } while (DateTime.UtcNow < until);
        return active;
    }

    /// <summary>A body whose length HttpClient cannot know, so it is sent without Content-Length.</summary>
    private sealed class NoLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
