using System.Text.Json.Nodes;
using JowiShop.Client;
using JowiShop.Client.Models;
using JowiShop.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;
using Xunit;

namespace JowiShop.Tests.Api;

/// <summary>
/// Issue 15, "a generated SDK": a till's day driven only through the Kiota client in
/// sdk/JowiShop.Client (generated from sdk/openapi.json), against the real API host: register and
/// log in, scan, sell with change, replay the same receipt id, refund a line, read the daily report,
/// and catch typed problems by <c>code</c> (409 <c>receipt.id_conflict</c> and <c>stock.insufficient</c>, 400 with <c>errors</c>, 401).
/// </summary>
public sealed class SdkTillTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    /// <summary>The till's token, handed to Kiota's bearer provider (no token: no header).</summary>
    private sealed class TillToken : IAccessTokenProvider
    {
        public string? Value { get; set; }
        public AllowedHostsValidator AllowedHostsValidator { get; } = new();
        public Task<string> GetAuthorizationTokenAsync(Uri uri, Dictionary<string, object>? context = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(Value ?? "");
    }

    /// <summary>A client as a till makes one; https because Kiota's bearer provider sends tokens over https only.</summary>
    private (JowiShopClient Client, TillToken Token) NewClient()
    {
        var token = new TillToken();
        var http = api.Factory.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://localhost") });
        var adapter = new HttpClientRequestAdapter(new BaseBearerTokenAuthenticationProvider(token), httpClient: http) { BaseUrl = "https://localhost" };
        return (new JowiShopClient(adapter), token);
    }

    [Fact]
    public async Task A_tills_day_through_the_generated_client()
    {
        var (client, token) = NewClient();
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var email = $"till-{suffix}@example.com";
        var registration = await client.Api.V1.Auth.Register.PostAsync(new RegisterRequest
        {
            BusinessName = $"Till {suffix}", OwnerName = $"Owner {suffix}", Email = email,
            Phone = $"+99897{Random.Shared.NextInt64(1_000_000, 9_999_999)}", Password = "Secret#12345",
        });
        var storeId = registration!.StoreId!.Value;

        // Log in as the till does.
        var login = await client.Api.V1.Auth.Login.PostAsync(new LoginRequest { Login = email, Password = "Secret#12345" });
        Assert.False(string.IsNullOrEmpty(login!.AccessToken));
        Assert.Equal("owner", login.User!.Role?.ToString()?.ToLowerInvariant());
        token.Value = login.AccessToken;

        var terminal = await client.Api.V1.Terminals.PostAsync(new TerminalRequest { StoreId = storeId, Name = "Till 1" });
        var barcode = TestCatalog.Ean13();
        var product = await client.Api.V1.Products.PostAsync(new ProductRequest
        {
            Name = "Green tea 100g",
            Variants = [new VariantRequest { Name = "Default", Sku = TestCatalog.Sku(), Barcodes = [barcode], Price = 12500.50m, Cost = 8000m, Unit = VariantUnit.Piece }],
        });
        Assert.NotNull(product!.Id);

        // Scan.
        var scanned = await client.Api.V1.Products.ByBarcode[barcode].GetAsync(c => c.QueryParameters.StoreId = storeId);
        Assert.Equal(12500.50m, scanned!.Price);
        var variantId = scanned.Id!.Value;

        // Sell two, paid 30 000 cash: decimals are decimals end to end, change is exact.
        var receiptId = Guid.NewGuid();
        ReceiptRequest Sale(decimal quantity) => new()
        {
            Id = receiptId, StoreId = storeId, TerminalId = terminal!.Id,
            Items = [new ReceiptItemRequest { VariantId = variantId, Quantity = quantity }],
            Payments = [new PaymentRequest { Method = PaymentMethod.Cash, Amount = 30000m }],
        };
        var sold = await client.Api.V1.Receipts.PostAsync(Sale(2m));
        Assert.Equal(25001.00m, sold!.Total);
        Assert.Equal(4999.00m, sold.Change);
        Assert.Equal(ReceiptKind.Sale, sold.Kind);

        // The till resends after a lost answer: the same receipt, not a second sale.
        var replay = await client.Api.V1.Receipts.PostAsync(Sale(2m));
        Assert.Equal(sold.ReceiptNumber, replay!.ReceiptNumber);

        // The same id with another body: a typed 409, told apart by code.
        var conflict = await Assert.ThrowsAsync<Problem>(() => client.Api.V1.Receipts.PostAsync(Sale(3m)));
        Assert.Equal(409, conflict.ResponseStatusCode);
        Assert.Equal("receipt.id_conflict", conflict.Code);
        Assert.Equal(409, conflict.Status);
        Assert.False(string.IsNullOrEmpty(conflict.TraceId));

        // A refused field: 400 validation.failed with errors keyed by JSON path.
        var invalid = await Assert.ThrowsAsync<Problem>(() => client.Api.V1.Receipts.PostAsync(new ReceiptRequest
        {
            StoreId = storeId, TerminalId = terminal!.Id,
            Items = [new ReceiptItemRequest { VariantId = variantId, Quantity = -1m }],
            Payments = [new PaymentRequest { Method = PaymentMethod.Cash, Amount = 30000m }],
        }));
        Assert.Equal(400, invalid.ResponseStatusCode);
        Assert.Equal("validation.failed", invalid.Code);
        Assert.NotNull(invalid.Errors);
        Assert.Contains(invalid.Errors!.AdditionalData.Keys, k => k.Contains("quantity", StringComparison.OrdinalIgnoreCase));

        // Read it back.
        var read = await client.Api.V1.Receipts[receiptId].GetAsync();
        Assert.Equal(sold.ReceiptNumber, read!.ReceiptNumber);
        Assert.Equal(2m, Assert.Single(read.Items!).Quantity);

        // Refund one of the two.
        var refund = await client.Api.V1.Receipts[receiptId].Refunds.PostAsync(new RefundRequest
        {
            Id = Guid.NewGuid(), TerminalId = terminal!.Id,
            Items = [new RefundItemRequest { VariantId = variantId, Quantity = 1m }],
        });
        Assert.Equal(ReceiptKind.Refund, refund!.Kind);
        Assert.Equal(receiptId, refund.RefundOf);

        // The day's report.
        var report = await client.Api.V1.Stores[storeId].Reports.Daily.GetAsync();
        Assert.Equal(1, report!.Receipts);
        Assert.Equal(1, report.Refunds);

        // The store stops selling below zero (one sold net is -1 in stock): the other 409, told apart by code.
        await client.Api.V1.Stores[storeId].PatchAsync(new StorePatch { AllowNegativeStock = false });
        var insufficient = await Assert.ThrowsAsync<Problem>(() => client.Api.V1.Receipts.PostAsync(new ReceiptRequest
        {
            Id = Guid.NewGuid(), StoreId = storeId, TerminalId = terminal!.Id,
            Items = [new ReceiptItemRequest { VariantId = variantId, Quantity = 1m }],
            Payments = [new PaymentRequest { Method = PaymentMethod.Card, Amount = 12500.50m }],
        }));
        Assert.Equal(409, insufficient.ResponseStatusCode);
        Assert.Equal("stock.insufficient", insufficient.Code);
        Assert.Equal(variantId, insufficient.VariantId);

        // No token: a typed 401 that says what to do.
        token.Value = null;
        var unauthenticated = await Assert.ThrowsAsync<Problem>(() => client.Api.V1.Receipts[receiptId].GetAsync());
        Assert.Equal(401, unauthenticated.ResponseStatusCode);
        Assert.Equal("auth.unauthenticated", unauthenticated.Code);
        Assert.False(string.IsNullOrEmpty(unauthenticated.Detail));
    }

    [Fact]
    public async Task A_cashier_at_another_store_gets_a_typed_403_naming_the_store()
    {
        var (owner, ownerToken) = NewClient();
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var registration = await owner.Api.V1.Auth.Register.PostAsync(new RegisterRequest
        {
            BusinessName = $"Two stores {suffix}", OwnerName = $"Owner {suffix}", Email = $"two-{suffix}@example.com",
            Phone = $"+99897{Random.Shared.NextInt64(1_000_000, 9_999_999)}", Password = "Secret#12345",
        });
        ownerToken.Value = registration!.AccessToken;
        var home = registration.StoreId!.Value;
        var other = await owner.Api.V1.Stores.PostAsync(new StoreRequest { Name = "Other store" });
        var otherTill = await owner.Api.V1.Terminals.PostAsync(new TerminalRequest { StoreId = other!.Id, Name = "Other till" });
        var product = await owner.Api.V1.Products.PostAsync(new ProductRequest
        {
            Name = "Bread", Variants = [new VariantRequest { Name = "Default", Sku = TestCatalog.Sku(), Barcodes = [TestCatalog.Ean13()], Price = 4000m, Unit = VariantUnit.Piece }],
        });
        var cashierLogin = $"cashier-{suffix}@example.com";
        await owner.Api.V1.Employees.PostAsync(new EmployeeRequest
        {
            Name = "Cashier", Email = cashierLogin, Password = "Secret#12345", Role = "cashier", StoreIds = [home],
        });

        var (cashier, cashierToken) = NewClient();
        cashierToken.Value = (await cashier.Api.V1.Auth.Login.PostAsync(new LoginRequest { Login = cashierLogin, Password = "Secret#12345" }))!.AccessToken;
        var refused = await Assert.ThrowsAsync<Problem>(() => cashier.Api.V1.Receipts.PostAsync(new ReceiptRequest
        {
            Id = Guid.NewGuid(), StoreId = other.Id, TerminalId = otherTill!.Id,
            Items = [new ReceiptItemRequest { VariantId = product!.Variants![0].Id, Quantity = 1m }],
            Payments = [new PaymentRequest { Method = PaymentMethod.Cash, Amount = 4000m }],
        }));
        Assert.Equal(403, refused.ResponseStatusCode);
        Assert.Equal("store.not_assigned", refused.Code);
        Assert.Contains(other.Id!.Value.ToString(), refused.Detail);
    }

    /// <summary>
    /// The committed document (sdk/openapi.json, written at build time by sdk/generate) is the one the
    /// running API serves, but for <c>servers</c> (taken from the request): the SDK is generated from
    /// what integrators see. (sdk/generate --check, run by ./run-tests, holds the client to the document.)
    /// </summary>
    [Fact]
    public async Task The_committed_sdk_document_is_the_served_document()
    {
        var served = JsonNode.Parse(await api.Factory.CreateClient().GetStringAsync("/openapi/v1.json"))!.AsObject();
        var committed = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "sdk", "openapi.json")))!.AsObject();
        served.Remove("servers");
        committed.Remove("servers");
        Assert.True(JsonNode.DeepEquals(served, committed),
            "sdk/openapi.json is not the document the API serves: run sdk/generate and commit the result (docs/sdk.md)");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "JowiShop.sln")))
                return dir.FullName;
        throw new InvalidOperationException("JowiShop.sln not found above " + AppContext.BaseDirectory);
    }
}
