using System.Net;
using System.Net.Http.Json;
using JowiShop.ApiHost.Features.Auth;
using JowiShop.ApiHost.Features.Products;
using JowiShop.ApiHost.Features.Staff;
using JowiShop.Grains.Abstractions;
using JowiShop.Tests.Infrastructure;
using Xunit;

namespace JowiShop.Tests.Api;

public sealed class StaffAndCategoryTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task A_hired_cashier_logs_in_with_their_role_and_cannot_after_being_let_go()
    {
        var (owner, registration) = await api.Factory.RegisterAsync();
        var email = $"kassir-{Guid.NewGuid():N}@example.com";
        var hired = await (await owner.PostAsJsonAsync("/api/v1/employees", new
        {
            name = "Nodira Kassir", email, phone = (string?)null, password = "Kassa#2026", role = "cashier", position = "Cashier",
            storeIds = new[] { registration.StoreId },
        })).ReadAsync<Employee>(HttpStatusCode.Created);
        Assert.Equal("cashier", hired.Role);
        Assert.Equal([registration.StoreId], hired.StoreIds);

        var login = await (await api.Factory.CreateClient().PostAsJsonAsync("/api/v1/auth/login", new { login = email, password = "Kassa#2026" })).ReadAsync<LoginResponse>();
        Assert.Equal("cashier", login.User.Role);
        Assert.Equal(registration.TenantId, login.User.TenantId);

        var list = await (await owner.GetAsync($"/api/v1/employees?storeId={registration.StoreId}")).ReadAsync<ListPage<Employee>>();
        Assert.Equal(2, list.Total); // the owner and the cashier

        var promoted = await (await owner.PatchAsJsonAsync($"/api/v1/employees/{hired.Id}", new { role = "manager" })).ReadAsync<Employee>();
        Assert.Equal("manager", promoted.Role);

        (await owner.DeleteAsync($"/api/v1/employees/{hired.Id}")).EnsureSuccessStatusCode();
        await (await api.Factory.CreateClient().PostAsJsonAsync("/api/v1/auth/login", new { login = email, password = "Kassa#2026" }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.invalid_credentials");
        await (await owner.GetAsync($"/api/v1/employees/{hired.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "employee.not_found");
    }

    [Fact]
    public async Task Employees_are_validated_the_owner_is_protected_and_tenants_are_sealed()
    {
        var (owner, registration) = await api.Factory.RegisterAsync();
        var problem = await (await owner.PostAsJsonAsync("/api/v1/employees", new { name = "", password = "short", role = "owner", storeIds = new[] { Guid.NewGuid() } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        foreach (var field in new[] { "name", "email", "password", "role", "storeIds[0]" })
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}");

        var employees = await (await owner.GetAsync("/api/v1/employees")).ReadAsync<ListPage<Employee>>();
        var ownerEmployee = employees.Items.Single(e => e.Role == "owner");
        var admin = await TestUsers.AddAndLoginAsync(api.Factory, registration.TenantId, "admin");
        // An admin acts on nobody of their own role or above: the owner's role, credentials and employment are out of reach.
        await (await admin.PatchAsJsonAsync($"/api/v1/employees/{ownerEmployee.Id}", new { role = "cashier" })).AssertProblemAsync(HttpStatusCode.Forbidden, "employee.rank_forbidden");
        await (await admin.DeleteAsync($"/api/v1/employees/{ownerEmployee.Id}")).AssertProblemAsync(HttpStatusCode.Conflict, "employee.owner_protected");
        await (await owner.PatchAsJsonAsync($"/api/v1/employees/{ownerEmployee.Id}", new { role = "cashier" })).AssertProblemAsync(HttpStatusCode.Conflict, "employee.owner_protected");
        await (await owner.PostAsJsonAsync("/api/v1/employees", new { name = "Dup", email = ownerEmployee.Email, password = "Secret#123", role = "cashier" }))
            .AssertProblemAsync(HttpStatusCode.Conflict, "employee.email_taken");

        var manager = await TestUsers.AddAndLoginAsync(api.Factory, registration.TenantId, "manager");
        await (await manager.PostAsJsonAsync("/api/v1/employees", new { name = "X", email = "x@example.com", password = "Secret#123", role = "cashier" }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");
        var (stranger, _) = await api.Factory.RegisterAsync();
        await (await stranger.GetAsync($"/api/v1/employees/{ownerEmployee.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "employee.not_found");
        await (await stranger.DeleteAsync($"/api/v1/employees/{ownerEmployee.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "employee.not_found");
    }

    [Fact]
    public async Task Categories_nest_without_cycles_and_are_not_deleted_while_in_use()
    {
        var (owner, _) = await api.Factory.RegisterAsync();
        var dairy = await (await owner.PostAsJsonAsync("/api/v1/categories", new { name = "Sut mahsulotlari" })).ReadAsync<Category>(HttpStatusCode.Created);
        var cheese = await (await owner.PostAsJsonAsync("/api/v1/categories", new { name = "Pishloq", parentId = dairy.Id })).ReadAsync<Category>(HttpStatusCode.Created);
        Assert.Equal(dairy.Id, cheese.ParentId);
        var children = await (await owner.GetAsync($"/api/v1/categories?parentId={dairy.Id}")).ReadAsync<ListPage<Category>>();
        Assert.Equal([cheese.Id], children.Items.Select(c => c.Id));

        await (await owner.PatchAsJsonAsync($"/api/v1/categories/{dairy.Id}", new { parentId = cheese.Id })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        await (await owner.PatchAsJsonAsync($"/api/v1/categories/{dairy.Id}", new { parentId = dairy.Id })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        await (await owner.DeleteAsync($"/api/v1/categories/{dairy.Id}")).AssertProblemAsync(HttpStatusCode.Conflict, "category.in_use");

        var product = await (await owner.PostAsJsonAsync("/api/v1/products", new { name = "Brynza", categoryId = cheese.Id, variants = new[] { TestCatalog.Variant() } }))
            .ReadAsync<Product>(HttpStatusCode.Created);
        await (await owner.DeleteAsync($"/api/v1/categories/{cheese.Id}")).AssertProblemAsync(HttpStatusCode.Conflict, "category.in_use");
        var byCategory = await (await owner.GetAsync($"/api/v1/products?categoryId={cheese.Id}")).ReadAsync<ListPage<JowiShop.Grains.Abstractions.Catalog.Product>>();
        Assert.Equal([product.Id], byCategory.Items.Select(p => p.Id));
        (await owner.DeleteAsync($"/api/v1/products/{product.Id}")).EnsureSuccessStatusCode();
        (await owner.DeleteAsync($"/api/v1/categories/{cheese.Id}")).EnsureSuccessStatusCode();
        (await owner.DeleteAsync($"/api/v1/categories/{dairy.Id}")).EnsureSuccessStatusCode();
        await (await owner.GetAsync($"/api/v1/categories/{dairy.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "category.not_found");

        var (stranger, _) = await api.Factory.RegisterAsync();
        var mine = await (await owner.PostAsJsonAsync("/api/v1/categories", new { name = "Mine" })).ReadAsync<Category>(HttpStatusCode.Created);
        await (await stranger.GetAsync($"/api/v1/categories/{mine.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "category.not_found");
        await (await stranger.PostAsJsonAsync("/api/v1/categories", new { name = "Child", parentId = mine.Id })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
    }

    private sealed record Product(Guid Id);
}
