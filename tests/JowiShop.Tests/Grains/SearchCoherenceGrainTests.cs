using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Abstractions.Customers;
using JowiShop.Grains.Abstractions.Search;
using JowiShop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.TestingHost;
using Xunit;

namespace JowiShop.Tests.Grains;

/// <summary>
/// The in-memory search index and customer directory against the database they mirror: writes
/// through either silo are seen by the next read through the other, concurrent writes leave
/// memory equal to the committed rows, and a reactivation reloads the same answers.
/// </summary>
public sealed class SearchCoherenceGrainTests : IAsyncLifetime
{
    private string _postgres = "";
    private InProcessTestCluster _cluster = null!;
    private IGrainFactory _viaFirst = null!;
    private IGrainFactory _viaSecond = null!;
    private readonly Guid _tenantId = Guid.NewGuid();

    public async Task InitializeAsync()
    {
        _postgres = await GrainClusters.CreateMigratedDatabaseAsync("search");
        await using (var db = NpgsqlDataSource.Create(_postgres))
        await using (var cmd = db.CreateCommand("INSERT INTO tenants (id, name) VALUES ($1, 'T')"))
        {
            cmd.Parameters.AddWithValue(_tenantId);
            await cmd.ExecuteNonQueryAsync();
        }
        _cluster = await GrainClusters.StartAsync(_postgres, "search-test", silos: 2);
        var silos = _cluster.GetActiveSilos().ToArray();
        _viaFirst = _cluster.GetSiloServiceProvider(silos[0].SiloAddress).GetRequiredService<IGrainFactory>();
        _viaSecond = _cluster.GetSiloServiceProvider(silos[1].SiloAddress).GetRequiredService<IGrainFactory>();
    }

    public async Task DisposeAsync()
    {
        await _cluster.StopAllSilosAsync();
        await _cluster.DisposeAsync();
    }

    private async Task<Guid> CreateProductAsync(string name, params string[] skus)
    {
        var id = Guid.NewGuid();
        var variants = (skus.Length == 0 ? [TestCatalog.Sku()] : skus)
            .Select(sku => new VariantDraft(Guid.NewGuid(), sku, sku, [TestCatalog.Ean13()], 1000m, null, VariantUnit.Piece, true)).ToArray();
        var write = await _viaFirst.GetGrain<IProductGrain>(id, _tenantId.ToString()).CreateAsync(new ProductDraft(name, null, null, true, variants));
        Assert.Equal(CatalogOutcome.Ok, write.Outcome);
        return id;
    }

    private async Task<Guid[]> SearchProductsAsync(IGrainFactory grains, string query, int limit = 10) =>
        (await grains.GetGrain<ISearchIndexGrain>(_tenantId).SearchAsync(query, limit)).Products.Select(h => h.Id).ToArray();

    [Fact]
    public async Task Product_writes_through_one_silo_are_found_through_the_other_and_after_reactivation()
    {
        var anor = await CreateProductAsync("Anor sharbati");
        Assert.Equal([anor], await SearchProductsAsync(_viaSecond, "anor"));

        var product = _viaSecond.GetGrain<IProductGrain>(anor, _tenantId.ToString());
        Assert.Equal(CatalogOutcome.Ok, (await product.UpdateAsync(new ProductPatch(Name: "Olma sharbati"))).Outcome);
        Assert.Empty(await SearchProductsAsync(_viaFirst, "anor"));
        Assert.Equal([anor], await SearchProductsAsync(_viaFirst, "olma"));

        var variant = (await product.GetAsync())!.Variants[0];
        var newBarcode = TestCatalog.Ean13();
        await product.UpdateVariantAsync(variant.Id, new VariantPatch(Sku: "OLMA-1L", Barcodes: [newBarcode]));
        Assert.Equal([anor], await SearchProductsAsync(_viaFirst, "olma-1"));
        Assert.Equal([anor], await SearchProductsAsync(_viaFirst, newBarcode));
        Assert.Empty(await SearchProductsAsync(_viaFirst, variant.Barcodes[0]));

        await _cluster.DeactivateAsync(((GrainReference)_viaFirst.GetGrain<ISearchIndexGrain>(_tenantId)).GrainId);
        Assert.Equal([anor], await SearchProductsAsync(_viaSecond, "olma-1"));
        Assert.Equal([anor], await SearchProductsAsync(_viaSecond, newBarcode));

        await product.DeleteAsync();
        Assert.Empty(await SearchProductsAsync(_viaFirst, "olma"));
    }

    [Fact]
    public async Task Ranks_exact_then_prefix_then_sku_then_substring_and_fills_the_page_in_name_order()
    {
        var prefixed = new List<Guid>();
        for (var i = 0; i < 12; i++)
            prefixed.Add(await CreateProductAsync($"Nonvoy {i:D2}"));
        var exact = await CreateProductAsync("Nonvoy");
        var inside = await CreateProductAsync("Issiq nonvoy");
        // Many variants of one product match by SKU: they count once, not crowding others out.
        var bySku = await CreateProductAsync("Lavash", [.. Enumerable.Range(0, 12).Select(i => $"NONVOY-{i}")]);

        var page = await SearchProductsAsync(_viaFirst, "NONVOY");
        Assert.Equal([exact, .. prefixed.Take(9)], page);
        var all = await SearchProductsAsync(_viaFirst, "nonvoy", limit: 50);
        Assert.Equal([exact, .. prefixed, bySku, inside], all);
        var hits = (await _viaFirst.GetGrain<ISearchIndexGrain>(_tenantId).SearchAsync("nonvoy-1", 10)).Products;
        Assert.Equal([bySku], hits.Select(h => h.Id));
        Assert.Equal("sku", hits[0].MatchedBy);
    }

    [Fact]
    public async Task Concurrent_customer_writes_leave_memory_equal_to_the_committed_rows()
    {
        var directory = _viaFirst.GetGrain<ICustomerDirectoryGrain>(_tenantId);
        var created = await directory.CreateAsync(new CustomerFields("Aziza", "+998901112233", null, "C-1", null));
        var id = created.Customer!.Id;

        // 30 writes at once through both silos; one activation applies them in commit order.
        await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            (i % 2 == 0 ? _viaFirst : _viaSecond).GetGrain<ICustomerDirectoryGrain>(_tenantId)
                .UpdateAsync(id, new CustomerFields($"Aziza {i:D2}", "+998901112233", $"aziza{i}@mail.uz", "C-1", null))));

        string committed;
        await using (var db = NpgsqlDataSource.Create(_postgres))
        await using (var cmd = db.CreateCommand("SELECT name FROM customers WHERE id = $1"))
        {
            cmd.Parameters.AddWithValue(id);
            committed = (string)(await cmd.ExecuteScalarAsync())!;
        }
        Assert.Equal(committed, (await directory.GetAsync(id))!.Name);
        var listed = await _viaSecond.GetGrain<ICustomerDirectoryGrain>(_tenantId).ListAsync(new PageRequest(1, 20), null);
        Assert.Equal([id], listed.Items.Select(c => c.Id));
        Assert.Equal(committed, listed.Items[0].Name);
        Assert.Equal(1, listed.Total);
        var found = (await _viaSecond.GetGrain<ISearchIndexGrain>(_tenantId).SearchAsync("aziza", 10)).Customers;
        Assert.Equal([(id, committed)], found.Select(c => (c.Id, c.Name)));

        // A phone held by another customer is a conflict naming the holder; nothing changes.
        var other = await directory.CreateAsync(new CustomerFields("Bekzod", "+998901112244", null, null, null));
        var taken = await directory.UpdateAsync(other.Customer!.Id, new CustomerFields("Bekzod", "+998901112233", null, null, null));
        Assert.Equal((CustomerConflict.Phone, id), (taken.Conflict, taken.ConflictingId));
        Assert.Equal(other.Customer.Id, (await directory.FindAsync(CustomerKey.Phone, "+998901112244"))!.Id);

        await _cluster.DeactivateAsync(((GrainReference)directory).GrainId);
        Assert.Equal(committed, (await _viaSecond.GetGrain<ICustomerDirectoryGrain>(_tenantId).GetAsync(id))!.Name);
        Assert.Equal(id, (await directory.FindAsync(CustomerKey.Card, "C-1"))!.Id);
        Assert.True(await directory.DeleteAsync(id));
        Assert.Empty((await _viaFirst.GetGrain<ISearchIndexGrain>(_tenantId).SearchAsync("aziza", 10)).Customers);
        Assert.Null(await _viaSecond.GetGrain<ICustomerDirectoryGrain>(_tenantId).FindAsync(CustomerKey.Phone, "+998901112233"));
        Assert.Equal(1, (await directory.ListAsync(new PageRequest(1, 20), null)).Total);
    }

    [Fact]
    public async Task Customers_are_found_by_name_substring_phone_digits_and_email_prefix_and_renames_move_them()
    {
        var directory = _viaFirst.GetGrain<ICustomerDirectoryGrain>(_tenantId);
        var dilnoza = (await directory.CreateAsync(new CustomerFields("Dilnoza Rahimova", "+998901234567", "dilnoza@mail.uz", null, null))).Customer!;
        var rahim = (await directory.CreateAsync(new CustomerFields("Rahim Karimov", null, "rk@mail.uz", null, null))).Customer!;
        var index = _viaSecond.GetGrain<ISearchIndexGrain>(_tenantId);
        async Task<Guid[]> Find(string query) => (await index.SearchAsync(query, 10)).Customers.Select(c => c.Id).ToArray();

        Assert.Equal([rahim.Id, dilnoza.Id], await Find("RAHIM")); // prefix, then substring
        Assert.Equal([dilnoza.Id], await Find("4567"));              // phone digits
        Assert.Equal([dilnoza.Id], await Find("dilnoza@"));          // email prefix
        Assert.Equal([dilnoza.Id], await Find("di"));                // under 3 characters: every customer ranked
        Assert.Empty(await Find("xyz"));

        await directory.UpdateAsync(dilnoza.Id, new CustomerFields("Dilnoza Aliyeva", "+998901234567", "dilnoza@mail.uz", null, null));
        Assert.Equal([rahim.Id], await Find("rahim"));
        Assert.Equal([dilnoza.Id], await Find("liyev"));
        await _cluster.DeactivateAsync(((GrainReference)index).GrainId);
        Assert.Equal([dilnoza.Id], await Find("liyev"));
        Assert.Equal([rahim.Id], await Find("karim"));
    }
}
