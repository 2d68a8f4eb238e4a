using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using JowiShop.Tests.Infrastructure;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace JowiShop.Tests.Api;

/// <summary>
/// Counts the grain calls a sale costs, through the real endpoint and silo: every call arriving at a
/// JowiShop grain while one 2-line and one 30-line sale are answered (caches warm), by method.
/// </summary>
public sealed class SaleGrainCallsTests : IAsyncLifetime
{
    /// <summary>Every JowiShop grain call arriving at this silo, by interface and method; staff-access leases are the auth layer's.</summary>
    private sealed class GrainCallCounter : IIncomingGrainCallFilter
    {
        public readonly ConcurrentDictionary<string, int> Calls = new();

        public Task Invoke(IIncomingGrainCallContext context)
        {
            var type = context.InterfaceMethod?.DeclaringType;
            if (type?.Namespace?.StartsWith("JowiShop", StringComparison.Ordinal) == true && type.Name != "IStaffAccessGrain")
                Calls.AddOrUpdate($"{type.Name}.{context.MethodName}", 1, (_, n) => n + 1);
            return context.Invoke();
        }

        public string Take()
        {
            var calls = string.Join(", ", Calls.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} x{c.Value}"));
            Calls.Clear();
            return calls;
        }
    }

    private readonly GrainCallCounter _counter = new();
    private ApiFactory _factory = null!;
    private Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> _counted = null!;

    public async Task InitializeAsync()
    {
        var servers = await LocalServices.GetAsync();
        _factory = new ApiFactory(await LocalServices.CreateDatabaseAsync("calls"), servers.RedisConnectionString);
        _counted = _factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IIncomingGrainCallFilter>(_counter)));
        _ = _counted.Server;
    }

    public async Task DisposeAsync()
    {
        await _counted.DisposeAsync();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task A_sale_of_2_or_30_lines_costs_one_store_grain_call_and_the_batchs_config()
    {
        var (owner, registration) = await RegisterAsync();
        var terminal = (await (await owner.PostAsJsonAsync("/api/v1/terminals", new { storeId = registration.StoreId, name = "Till" }))
            .ReadAsync<JowiShop.Grains.Abstractions.Terminal>(HttpStatusCode.Created)).Id;
        var variants = new List<(Guid Id, decimal Price)>();
        for (var i = 0; i < 30; i++)
        {
            var product = await TestCatalog.CreateProductAsync(owner, $"Product {i}", TestCatalog.Variant(price: 1000m + i));
            variants.Add((product.Variants[0].Id, product.Variants[0].Price));
        }
        object Sale(int lines) => new
        {
            id = Guid.NewGuid(), storeId = registration.StoreId, terminalId = terminal,
            items = variants.Take(lines).Select(v => new { variantId = v.Id, quantity = 1m }).ToArray(),
            payments = new[] { new { method = "cash", amount = variants.Take(lines).Sum(v => v.Price) } },
        };
        async Task<string> CountAsync(int lines)
        {
            _counter.Take();
            var response = await owner.PostAsJsonAsync("/api/v1/receipts", Sale(lines));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return _counter.Take();
        }

        // Warm: activations, the store's price cache, the front's maps.
        await CountAsync(30);
        var two = await CountAsync(2);
        var thirty = await CountAsync(30);
        Assert.Equal(("IStoreGrain.RingUpAsync x1, ITenantGrain.GetSalesConfigAsync x1", "IStoreGrain.RingUpAsync x1, ITenantGrain.GetSalesConfigAsync x1"),
            (two, thirty));
    }

    private async Task<(HttpClient, JowiShop.ApiHost.Features.Auth.RegisterResponse)> RegisterAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var client = _counted.CreateClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/register", new
        {
            businessName = $"Shop {suffix}", ownerName = $"Owner {suffix}", email = $"owner-{suffix}@example.com",
            phone = $"+99897{Random.Shared.NextInt64(1_000_000, 9_999_999)}", password = "Secret#12345",
        });
        response.EnsureSuccessStatusCode();
        var registration = (await response.Content.ReadFromJsonAsync<JowiShop.ApiHost.Features.Auth.RegisterResponse>())!;
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", registration.AccessToken);
        return (client, registration);
    }
}
