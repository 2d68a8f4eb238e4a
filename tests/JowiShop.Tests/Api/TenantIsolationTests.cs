using System.Net;
using System.Net.Http.Json;
using JowiShop.Grains.Abstractions;
using JowiShop.Tests.Infrastructure;
using Xunit;

namespace JowiShop.Tests.Api;

public sealed class TenantIsolationTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task Another_tenants_store_answers_404_exactly_like_a_missing_one()
    {
        var (alice, aliceReg) = await api.Factory.RegisterAsync();
        var (bob, _) = await api.Factory.RegisterAsync();

        var own = await (await alice.GetAsync($"/api/v1/stores/{aliceReg.StoreId}")).ReadAsync<Store>();
        Assert.Equal(aliceReg.StoreId, own.Id);

        var foreign = await (await bob.GetAsync($"/api/v1/stores/{aliceReg.StoreId}"))
            .AssertProblemAsync(HttpStatusCode.NotFound, "store.not_found");
        var missingId = Guid.NewGuid();
        var missing = await (await bob.GetAsync($"/api/v1/stores/{missingId}"))
            .AssertProblemAsync(HttpStatusCode.NotFound, "store.not_found");
        Assert.Equal(missing.GetProperty("title").GetString(), foreign.GetProperty("title").GetString());
        Assert.Equal(
            missing.GetProperty("detail").GetString()!.Replace(missingId.ToString(), "{id}"),
            foreign.GetProperty("detail").GetString()!.Replace(aliceReg.StoreId.ToString(), "{id}"));
    }

    [Fact]
    public async Task Lists_hold_only_the_callers_tenant()
    {
        var (alice, aliceReg) = await api.Factory.RegisterAsync();
        var (bob, bobReg) = await api.Factory.RegisterAsync();

        var aliceStores = await (await alice.GetAsync("/api/v1/stores")).ReadAsync<ListPage<Store>>();
        var bobStores = await (await bob.GetAsync("/api/v1/stores?page=1&limit=20")).ReadAsync<ListPage<Store>>();
        Assert.Equal([aliceReg.StoreId], aliceStores.Items.Select(s => s.Id));
        Assert.Equal([bobReg.StoreId], bobStores.Items.Select(s => s.Id));
        Assert.Equal(1, aliceStores.Total);
    }

    [Fact]
    public async Task The_tenant_comes_from_the_token_not_the_query()
    {
        var (alice, aliceReg) = await api.Factory.RegisterAsync();
        var (bob, _) = await api.Factory.RegisterAsync();

        // A tenant named in the query string is not a way in.
        var response = await bob.GetAsync($"/api/v1/stores/{aliceReg.StoreId}?tenantId={aliceReg.TenantId}");
        await response.AssertProblemAsync(HttpStatusCode.NotFound, "store.not_found");
        var list = await (await bob.GetAsync($"/api/v1/stores?tenantId={aliceReg.TenantId}")).ReadAsync<ListPage<Store>>();
        Assert.DoesNotContain(list.Items, s => s.Id == aliceReg.StoreId);
        _ = alice;
    }

    [Fact]
    public async Task Paging_parameters_out_of_range_are_400_naming_the_parameter()
    {
        var (client, _) = await api.Factory.RegisterAsync();
        var problem = await (await client.GetAsync("/api/v1/stores?page=0&limit=101"))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("page", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty("limit", out _));

        await (await client.GetAsync("/api/v1/stores?page=abc")).AssertProblemAsync(HttpStatusCode.BadRequest, "request.malformed");
    }

    [Fact]
    public async Task Tenant_settings_default_to_UZS_Tashkent_and_are_admin_only_to_change()
    {
        var (owner, registration) = await api.Factory.RegisterAsync();
        var settings = await (await owner.GetAsync("/api/v1/tenant/settings")).ReadAsync<TenantSettings>();
        Assert.Equal(TenantSettings.Default, settings);

        var updated = await (await owner.PutAsJsonAsync("/api/v1/tenant/settings",
            new { currency = "UZS", timeZone = "Asia/Samarkand", negativeStock = "refuse" })).ReadAsync<TenantSettings>();
        Assert.Equal(new TenantSettings("UZS", "Asia/Samarkand", NegativeStockPolicy.Refuse, DiscountLimits.Default), updated);

        var invalid = await owner.PutAsJsonAsync("/api/v1/tenant/settings", new { currency = "US", timeZone = "Mars/Base", negativeStock = "refuse" });
        var problem = await invalid.AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("currency", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty("timeZone", out _));

        var cashier = await TestUsers.AddAndLoginAsync(api.Factory, registration.TenantId, "cashier");
        await (await cashier.PutAsJsonAsync("/api/v1/tenant/settings", new { currency = "UZS", timeZone = "Asia/Tashkent", negativeStock = "allow" }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");
        var seen = await (await cashier.GetAsync("/api/v1/tenant/settings")).ReadAsync<TenantSettings>();
        Assert.Equal(NegativeStockPolicy.Refuse, seen.NegativeStock);
    }
}
