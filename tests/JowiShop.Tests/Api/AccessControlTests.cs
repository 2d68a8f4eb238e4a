using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using JowiShop.ApiHost.Features.Auth;
using JowiShop.ApiHost.Features.Staff;
using JowiShop.ApiHost.Features.Receipts;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Tests.Infrastructure;
using Xunit;

namespace JowiShop.Tests.Api;

/// <summary>
/// Sessions that end when access is taken away, a role hierarchy nobody climbs, store scope and
/// discount authority (issue 11, items 1, 2, 5 and 9). Each test failed on the code before them.
/// </summary>
public sealed class AccessControlTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private const string NewPassword = "Changed#54321";

    private static object TenantSettings(object? limits = null) =>
        new { currency = "UZS", timeZone = "Asia/Tashkent", negativeStock = "allow", maxDiscountPercent = limits };

    [Fact]
    public async Task An_admin_cannot_take_over_the_owner_or_another_admin()
    {
        var (owner, registration) = await api.Factory.RegisterAsync();
        var owners = await (await owner.GetAsync("/api/v1/employees")).ReadAsync<ListPage<Employee>>();
        var ownerEmployee = owners.Items.Single(e => e.Role == Roles.Owner);
        var admin = await TestUsers.AddAsync(api.Factory, registration.TenantId, Roles.Admin);
        var otherAdmin = await TestUsers.AddAsync(api.Factory, registration.TenantId, Roles.Admin);

        foreach (var body in new object[] { new { password = "Takeover#123" }, new { email = "thief@example.com" }, new { name = "Renamed" } })
        {
            await (await admin.Client.PatchAsJsonAsync($"/api/v1/employees/{ownerEmployee.Id}", body))
                .AssertProblemAsync(HttpStatusCode.Forbidden, "employee.rank_forbidden");
            await (await admin.Client.PatchAsJsonAsync($"/api/v1/employees/{otherAdmin.EmployeeId}", body))
                .AssertProblemAsync(HttpStatusCode.Forbidden, "employee.rank_forbidden");
        }
        await (await admin.Client.DeleteAsync($"/api/v1/employees/{otherAdmin.EmployeeId}")).AssertProblemAsync(HttpStatusCode.Forbidden, "employee.rank_forbidden");
        // Nobody appoints an owner or a peer; nobody changes their own role or stores.
        await (await admin.Client.PostAsJsonAsync("/api/v1/employees", new { name = "Peer", email = $"peer-{Guid.NewGuid():N}@example.com", password = "Secret#12345", role = "admin" }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "employee.role_forbidden");
        await (await owner.PostAsJsonAsync("/api/v1/employees", new { name = "Co-owner", email = $"co-{Guid.NewGuid():N}@example.com", password = "Secret#12345", role = "owner" }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        await (await admin.Client.PatchAsJsonAsync($"/api/v1/employees/{admin.EmployeeId}", new { role = "manager" }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "employee.self_change_forbidden");
        await (await admin.Client.PatchAsJsonAsync($"/api/v1/employees/{admin.EmployeeId}", new { storeIds = Array.Empty<Guid>() }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "employee.self_change_forbidden");
        await (await admin.Client.PatchAsJsonAsync($"/api/v1/employees/{admin.EmployeeId}", new { password = "Selfset#12345" }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "employee.self_password");
        // Ownership moves only by the owner's transfer.
        await (await admin.Client.PostAsJsonAsync($"/api/v1/employees/{admin.EmployeeId}/ownership", new { currentPassword = TestUsers.Password }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");

        // The owner's login still works with the original password: nothing above changed it.
        await api.Factory.LoginAsync(ownerEmployee.Email!, "Secret#12345");
        // Below their rank an admin acts freely.
        var cashier = await TestUsers.AddAsync(api.Factory, registration.TenantId, Roles.Cashier);
        (await admin.Client.PatchAsJsonAsync($"/api/v1/employees/{cashier.EmployeeId}", new { position = "Senior cashier" })).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Deleting_demoting_or_reassigning_ends_the_users_tokens_at_the_next_request()
    {
        var (owner, registration) = await api.Factory.RegisterAsync();
        var deleted = await TestUsers.AddAsync(api.Factory, registration.TenantId, Roles.Admin);
        var demoted = await TestUsers.AddAsync(api.Factory, registration.TenantId, Roles.Admin);
        var moved = await TestUsers.AddAsync(api.Factory, registration.TenantId, Roles.Cashier);
        var settings = TenantSettings();
        (await deleted.Client.PutAsJsonAsync("/api/v1/tenant/settings", settings)).EnsureSuccessStatusCode();

        (await owner.DeleteAsync($"/api/v1/employees/{deleted.EmployeeId}")).EnsureSuccessStatusCode();
        await (await deleted.Client.PutAsJsonAsync("/api/v1/tenant/settings", settings)).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");
        await (await deleted.Client.GetAsync("/api/v1/stores")).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");

        (await owner.PatchAsJsonAsync($"/api/v1/employees/{demoted.EmployeeId}", new { role = "cashier" })).EnsureSuccessStatusCode();
        await (await demoted.Client.GetAsync("/api/v1/stores")).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");
        // A new login carries the new role: admin-only writes are refused.
        var relogged = await api.Factory.LoginAsync(demoted.Email, TestUsers.Password);
        await (await relogged.PutAsJsonAsync("/api/v1/tenant/settings", settings)).AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");

        (await owner.PatchAsJsonAsync($"/api/v1/employees/{moved.EmployeeId}", new { storeIds = Array.Empty<Guid>() })).EnsureSuccessStatusCode();
        await (await moved.Client.GetAsync("/api/v1/stores")).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");

        // A password reset by the owner ends the cashier's sessions too.
        var reset = await TestUsers.AddAsync(api.Factory, registration.TenantId, Roles.Cashier);
        (await owner.PatchAsJsonAsync($"/api/v1/employees/{reset.EmployeeId}", new { password = NewPassword })).EnsureSuccessStatusCode();
        await (await reset.Client.GetAsync("/api/v1/stores")).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");
        // A change that grants nothing new keeps them working.
        var renamed = await TestUsers.AddAsync(api.Factory, registration.TenantId, Roles.Cashier);
        (await owner.PatchAsJsonAsync($"/api/v1/employees/{renamed.EmployeeId}", new { name = "New name" })).EnsureSuccessStatusCode();
        (await renamed.Client.GetAsync("/api/v1/stores")).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Refresh_tokens_rotate_and_a_reused_one_revokes_its_family()
    {
        var (_, registration) = await api.Factory.RegisterAsync();
        var cashier = await TestUsers.AddAsync(api.Factory, registration.TenantId, Roles.Cashier);
        var client = api.Factory.CreateClient();
        var login = await (await client.PostAsJsonAsync("/api/v1/auth/login", new { login = cashier.Email, password = TestUsers.Password }))
            .ReadAsync<LoginResponse>();
        Assert.InRange(login.ExpiresIn, 60, 3600); // minutes, not hours
        Assert.True(login.RefreshExpiresAt > DateTimeOffset.UtcNow.AddDays(1));

        var second = await (await client.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = login.RefreshToken })).ReadAsync<LoginResponse>();
        Assert.NotEqual(login.RefreshToken, second.RefreshToken);
        var third = await (await client.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = second.RefreshToken })).ReadAsync<LoginResponse>();
        Assert.Equal(cashier.UserId, third.User.Id);

        // The first token comes back (a copy was stolen): its whole family dies, including the newest token.
        await (await client.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = login.RefreshToken }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.refresh_token_reused");
        await (await client.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = third.RefreshToken }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");
        await (await client.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = "not-a-token" }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.refresh_token_invalid");

        // Another login's family is untouched.
        var other = await (await client.PostAsJsonAsync("/api/v1/auth/login", new { login = cashier.Email, password = TestUsers.Password })).ReadAsync<LoginResponse>();
        (await client.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = other.RefreshToken })).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Logout_and_password_change_end_sessions_and_the_password_change_needs_the_current_one()
    {
        var (_, registration) = await api.Factory.RegisterAsync();
        var cashier = await TestUsers.AddAsync(api.Factory, registration.TenantId, Roles.Cashier);
        var anon = api.Factory.CreateClient();
        var tillA = await (await anon.PostAsJsonAsync("/api/v1/auth/login", new { login = cashier.Email, password = TestUsers.Password })).ReadAsync<LoginResponse>();
        var tillB = await (await anon.PostAsJsonAsync("/api/v1/auth/login", new { login = cashier.Email, password = TestUsers.Password })).ReadAsync<LoginResponse>();
        var a = Bearer(tillA.AccessToken);
        var b = Bearer(tillB.AccessToken);

        await (await a.PostAsJsonAsync("/api/v1/auth/password", new { currentPassword = "Wrong#12345", newPassword = NewPassword }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "auth.current_password_incorrect");
        var changed = await (await a.PostAsJsonAsync("/api/v1/auth/password", new { currentPassword = TestUsers.Password, newPassword = NewPassword }))
            .ReadAsync<LoginResponse>();
        // Till B and till A's old tokens are out; the new session from the change works.
        await (await b.GetAsync("/api/v1/stores")).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");
        await (await a.GetAsync("/api/v1/stores")).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");
        await (await anon.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = tillB.RefreshToken }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");
        var current = Bearer(changed.AccessToken);
        (await current.GetAsync("/api/v1/stores")).EnsureSuccessStatusCode();
        await (await anon.PostAsJsonAsync("/api/v1/auth/login", new { login = cashier.Email, password = TestUsers.Password }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.invalid_credentials");

        Assert.Equal(HttpStatusCode.NoContent, (await current.PostAsync("/api/v1/auth/logout", null)).StatusCode);
        await (await current.GetAsync("/api/v1/stores")).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");
        await (await anon.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = changed.RefreshToken }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");
    }

    [Fact]
    public async Task The_owner_transfers_ownership_and_both_sessions_restart_with_their_new_roles()
    {
        var (owner, registration) = await api.Factory.RegisterAsync();
        var successor = await TestUsers.AddAsync(api.Factory, registration.TenantId, Roles.Admin);
        await (await owner.PostAsJsonAsync($"/api/v1/employees/{successor.EmployeeId}/ownership", new { currentPassword = "Wrong#12345" }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "auth.current_password_incorrect");

        var promoted = await (await owner.PostAsJsonAsync($"/api/v1/employees/{successor.EmployeeId}/ownership", new { currentPassword = "Secret#12345" }))
            .ReadAsync<Employee>();
        Assert.Equal(Roles.Owner, promoted.Role);
        await (await owner.GetAsync("/api/v1/stores")).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");
        await (await successor.Client.GetAsync("/api/v1/stores")).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.session_ended");

        var newOwner = await api.Factory.LoginAsync(successor.Email, TestUsers.Password);
        var employees = await (await newOwner.GetAsync("/api/v1/employees")).ReadAsync<ListPage<Employee>>();
        Assert.Equal(successor.UserId, Assert.Single(employees.Items, e => e.Role == Roles.Owner).UserId);
        Assert.Equal(Roles.Admin, employees.Items.Single(e => e.UserId == registration.User.Id).Role);
    }

    [Fact]
    public async Task Cashiers_and_managers_work_only_at_their_stores()
    {
        var shop = await TestShop.CreateAsync(api.Factory, stores: 2);
        var (storeA, storeB) = (shop.StoreIds[0], shop.StoreIds[1]);
        var cashier = await TestUsers.AddAndLoginAsync(api.Factory, shop.TenantId, Roles.Cashier, [storeA]);
        var manager = await TestUsers.AddAndLoginAsync(api.Factory, shop.TenantId, Roles.Manager, [storeA]);

        var soldAtA = await (await cashier.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeA))).ReadAsync<Receipt>(HttpStatusCode.Created);
        await (await cashier.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeB))).AssertProblemAsync(HttpStatusCode.Forbidden, "store.not_assigned");
        var soldAtB = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeB))).ReadAsync<Receipt>(HttpStatusCode.Created);

        foreach (var client in new[] { cashier, manager })
        {
            await (await client.GetAsync($"/api/v1/receipts/{soldAtB.Id}")).AssertProblemAsync(HttpStatusCode.Forbidden, "store.not_assigned");
            (await client.GetAsync($"/api/v1/receipts/{soldAtA.Id}")).EnsureSuccessStatusCode();
            await (await client.GetAsync($"/api/v1/receipts?storeId={storeB}")).AssertProblemAsync(HttpStatusCode.Forbidden, "store.not_assigned");
            var listed = await (await client.GetAsync("/api/v1/receipts?limit=100")).ReadAsync<ListPage<ReceiptSummary>>();
            Assert.All(listed.Items, r => Assert.Equal(storeA, r.StoreId));
            await (await client.GetAsync($"/api/v1/stores/{storeB}/receipts/by-number/{soldAtB.ReceiptNumber}"))
                .AssertProblemAsync(HttpStatusCode.Forbidden, "store.not_assigned");
            var barcode = shop.Products[0].Variants[0].Barcodes[0];
            await (await client.GetAsync($"/api/v1/products/by-barcode/{barcode}?storeId={storeB}")).AssertProblemAsync(HttpStatusCode.Forbidden, "store.not_assigned");
            (await client.GetAsync($"/api/v1/products/by-barcode/{barcode}?storeId={storeA}")).EnsureSuccessStatusCode();
        }
        await (await manager.GetAsync($"/api/v1/stores/{storeB}/reports/daily")).AssertProblemAsync(HttpStatusCode.Forbidden, "store.not_assigned");
        (await manager.GetAsync($"/api/v1/stores/{storeA}/reports/daily")).EnsureSuccessStatusCode();
        // Admins and the owner work everywhere.
        var admin = await TestUsers.AddAndLoginAsync(api.Factory, shop.TenantId, Roles.Admin, []);
        (await admin.GetAsync($"/api/v1/receipts/{soldAtB.Id}")).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Stock_operations_refunds_and_stock_levels_are_store_scoped_too()
    {
        var shop = await TestShop.CreateAsync(api.Factory, stores: 2);
        var (storeA, storeB) = (shop.StoreIds[0], shop.StoreIds[1]);
        var manager = await TestUsers.AddAndLoginAsync(api.Factory, shop.TenantId, Roles.Manager, [storeA]);
        var variant = shop.VariantIds.First();
        var soldAtB = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeB))).ReadAsync<Receipt>(HttpStatusCode.Created);
        var before = await shop.ScalarAsync<decimal>("SELECT sum(quantity) FROM stock_levels WHERE tenant_id = $1", shop.TenantId);

        await (await manager.PostAsJsonAsync("/api/v1/inventory/receivings", new { storeId = storeB, lines = new[] { new { variantId = variant, quantity = 5m, unitCost = 1m } } }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "store.not_assigned");
        await (await manager.PostAsJsonAsync("/api/v1/inventory/adjustments", new { storeId = storeB, reason = "writeOff", lines = new[] { new { variantId = variant, delta = -1m } } }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "store.not_assigned");
        foreach (var (from, to) in new[] { (storeA, storeB), (storeB, storeA) })
            await (await manager.PostAsJsonAsync("/api/v1/inventory/transfers", new { fromStoreId = from, toStoreId = to, lines = new[] { new { variantId = variant, quantity = 1m } } }))
                .AssertProblemAsync(HttpStatusCode.Forbidden, "store.not_assigned");
        await (await manager.PostAsJsonAsync($"/api/v1/receipts/{soldAtB.Id}/refunds", new { items = new[] { new { variantId = variant, quantity = 1m } } }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "store.not_assigned");
        await (await manager.GetAsync($"/api/v1/stores/{storeB}/stock")).AssertProblemAsync(HttpStatusCode.Forbidden, "store.not_assigned");
        Assert.Equal(before, await shop.ScalarAsync<decimal>("SELECT sum(quantity) FROM stock_levels WHERE tenant_id = $1", shop.TenantId));

        // At the assigned store the same manager works.
        (await manager.PostAsJsonAsync("/api/v1/inventory/adjustments", new { storeId = storeA, reason = "writeOff", lines = new[] { new { variantId = variant, delta = -1m } } }))
            .EnsureSuccessStatusCode();
        (await manager.GetAsync($"/api/v1/stores/{storeA}/stock")).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task The_audit_trail_records_who_did_what_in_the_changes_transaction_and_cannot_be_rewritten()
    {
        var shop = await TestShop.CreateAsync(api.Factory, stores: 2);
        var (storeA, storeB) = (shop.StoreIds[0], shop.StoreIds[1]);
        var ownerId = shop.Registration.User.Id;
        var anon = api.Factory.CreateClient();
        var ownerEmail = (await (await shop.Owner.GetAsync("/api/v1/employees")).ReadAsync<ListPage<Employee>>()).Items.Single(e => e.Role == Roles.Owner).Email!;
        await (await anon.PostAsJsonAsync("/api/v1/auth/login", new { login = ownerEmail, password = "Wrong#password1" }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.invalid_credentials");
        (await anon.PostAsJsonAsync("/api/v1/auth/login", new { login = ownerEmail, password = "Secret#12345" })).EnsureSuccessStatusCode();

        var hired = await (await shop.Owner.PostAsJsonAsync("/api/v1/employees",
            new { name = "Aziz", email = $"aziz-{Guid.NewGuid():N}@example.com", password = "Secret#12345", role = "cashier", storeIds = new[] { storeA } }))
            .ReadAsync<Employee>(HttpStatusCode.Created);
        (await shop.Owner.PatchAsJsonAsync($"/api/v1/employees/{hired.Id}", new { role = "manager" })).EnsureSuccessStatusCode();
        (await shop.Owner.DeleteAsync($"/api/v1/employees/{hired.Id}")).EnsureSuccessStatusCode();
        var product = shop.Products[0];
        var variant = product.Variants[0];
        (await shop.Owner.PatchAsJsonAsync($"/api/v1/products/{product.Id}/variants/{variant.Id}", new { price = variant.Price + 500m })).EnsureSuccessStatusCode();
        var discounted = await (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", new
        {
            id = Guid.NewGuid(), storeId = storeA, terminalId = shop.TerminalByStore[storeA],
            items = new[] { new { variantId = variant.Id, quantity = 1m, discount = 100m } },
            payments = new[] { new { method = "cash", amount = variant.Price + 400m } },
        })).ReadAsync<Receipt>(HttpStatusCode.Created);
        (await shop.Owner.PostAsJsonAsync($"/api/v1/receipts/{discounted.Id}/refunds", new { items = new[] { new { variantId = variant.Id, quantity = 1m } } }))
            .EnsureSuccessStatusCode();
        (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/adjustments", new { storeId = storeA, reason = "damage", lines = new[] { new { variantId = variant.Id, delta = -1m } } }))
            .EnsureSuccessStatusCode();
        (await shop.Owner.PostAsJsonAsync("/api/v1/inventory/transfers", new { fromStoreId = storeA, toStoreId = storeB, lines = new[] { new { variantId = variant.Id, quantity = 2m } } }))
            .EnsureSuccessStatusCode();
        (await shop.Owner.PutAsJsonAsync("/api/v1/tenant/settings", TenantSettings())).EnsureSuccessStatusCode();
        // A plain sale leaves no entry (paid in cash over the total: the first variant's price changed above).
        (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", shop.Sale(storeA, cash: 1_000_000m))).EnsureSuccessStatusCode();

        var entries = new List<AuditEntryDto>();
        long? before = null;
        do
        {
            var page = await (await shop.Owner.GetAsync($"/api/v1/audit?limit=3{(before is null ? "" : $"&before={before}")}")).ReadAsync<AuditPageDto>();
            entries.AddRange(page.Items);
            before = page.NextBefore;
        } while (before is not null);
        Assert.Equal(entries.OrderByDescending(e => e.Seq).Select(e => e.Seq), entries.Select(e => e.Seq)); // newest first, no repeats

        void Has(string action, Guid? actor, Guid? subject = null) =>
            Assert.True(entries.Any(e => e.Action == action && e.ActorId == actor && (subject is null || e.SubjectId == subject)),
                $"no {action} by {actor} on {subject}: {string.Join(", ", entries.Select(e => e.Action))}");
        Has("tenant.registered", ownerId);
        Has("auth.login_failed", null, ownerId);
        Has("auth.login", ownerId);
        Has("employee.created", ownerId, hired.Id);
        Has("employee.role_changed", ownerId, hired.Id);
        Has("employee.deleted", ownerId, hired.Id);
        Has("variant.price_changed", ownerId, variant.Id);
        Has("receipt.discounted", ownerId, discounted.Id);
        Has("receipt.refunded", ownerId);
        Has("stock.adjusted", ownerId);
        Has("stock.transfer_sent", ownerId);
        Has("stock.transfer_received", ownerId);
        Has("tenant.settings_changed", ownerId);
        Assert.Single(entries, e => e.Action == "receipt.discounted"); // the plain sale left none

        var filtered = await (await shop.Owner.GetAsync($"/api/v1/audit?action=employee.&subjectId={hired.Id}")).ReadAsync<AuditPageDto>();
        Assert.Equal(["employee.deleted", "employee.role_changed", "employee.created"], filtered.Items.Select(e => e.Action));

        // Admins only; another tenant sees none of it; the table refuses rewrites.
        var manager = await TestUsers.AddAndLoginAsync(api.Factory, shop.TenantId, Roles.Manager);
        await (await manager.GetAsync("/api/v1/audit")).AssertProblemAsync(HttpStatusCode.Forbidden, "auth.forbidden");
        var (stranger, _) = await api.Factory.RegisterAsync();
        var theirs = await (await stranger.GetAsync($"/api/v1/audit?subjectId={hired.Id}")).ReadAsync<AuditPageDto>();
        Assert.Empty(theirs.Items);
        var rewrite = await Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
            shop.ScalarAsync<long>("WITH d AS (DELETE FROM audit_log WHERE tenant_id = $1 RETURNING 1) SELECT count(*) FROM d", shop.TenantId));
        Assert.Equal("42501", rewrite.SqlState);
    }

    [Fact]
    public async Task A_retried_committed_sale_comes_back_even_when_the_request_would_now_be_refused()
    {
        var shop = await TestShop.CreateAsync(api.Factory);
        var store = shop.StoreIds[0];
        var cashier = await TestUsers.AddAndLoginAsync(api.Factory, shop.TenantId, Roles.Cashier);
        var sale = shop.Sale(store, id: Guid.NewGuid(), lines: 1);
        var first = await (await cashier.PostAsJsonAsync("/api/v1/receipts", sale)).ReadAsync<Receipt>(HttpStatusCode.Created);

        // The answer was lost; meanwhile the variant is taken off sale. The retry is the same sale, not a refusal.
        var product = shop.Products[0];
        (await shop.Owner.PatchAsJsonAsync($"/api/v1/products/{product.Id}/variants/{product.Variants[0].Id}", new { active = false })).EnsureSuccessStatusCode();
        var again = await (await cashier.PostAsJsonAsync("/api/v1/receipts", sale)).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(first.ReceiptNumber, again.ReceiptNumber);
        // A new sale of it is refused, and so is another body under the committed id.
        await (await cashier.PostAsJsonAsync("/api/v1/receipts", shop.Sale(store, lines: 1))).AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        await (await cashier.PostAsJsonAsync("/api/v1/receipts", shop.Sale(store, id: first.Id, lines: 1, note: "other")))
            .AssertProblemAsync(HttpStatusCode.Conflict, "receipt.id_conflict");
        Assert.Equal(1L, await shop.ScalarAsync<long>("SELECT count(*) FROM receipts WHERE tenant_id = $1", shop.TenantId));
    }

    [Fact]
    public async Task A_lower_unit_price_counts_against_the_discount_limit()
    {
        var shop = await TestShop.CreateAsync(api.Factory);
        var store = shop.StoreIds[0];
        var manager = await TestUsers.AddAndLoginAsync(api.Factory, shop.TenantId, Roles.Manager);
        (await shop.Owner.PutAsJsonAsync("/api/v1/tenant/settings", TenantSettings(new { cashier = 0m, manager = 10m, admin = 100m }))).EnsureSuccessStatusCode();
        var variant = shop.Products[0].Variants[0]; // 1000.00
        object Sale(decimal unitPrice) => new
        {
            storeId = store, terminalId = shop.TerminalByStore[store],
            items = new[] { new { variantId = variant.Id, quantity = 1m, unitPrice } },
            payments = new[] { new { method = "cash", amount = Math.Max(unitPrice, 0.01m) } },
        };
        await (await manager.PostAsJsonAsync("/api/v1/receipts", Sale(0m))).AssertProblemAsync(HttpStatusCode.Forbidden, "receipt.discount_forbidden");
        await (await manager.PostAsJsonAsync("/api/v1/receipts", Sale(899.99m))).AssertProblemAsync(HttpStatusCode.Forbidden, "receipt.discount_forbidden");
        (await manager.PostAsJsonAsync("/api/v1/receipts", Sale(900m))).EnsureSuccessStatusCode();
        (await manager.PostAsJsonAsync("/api/v1/receipts", Sale(1500m))).EnsureSuccessStatusCode(); // above the catalog: no reduction
    }

    [Fact]
    public async Task A_write_decided_on_a_stale_read_of_an_employee_is_refused()
    {
        var (owner, registration) = await api.Factory.RegisterAsync();
        var target = await TestUsers.AddAsync(api.Factory, registration.TenantId, Roles.Manager);
        var stale = await (await owner.GetAsync($"/api/v1/employees/{target.EmployeeId}")).ReadAsync<Employee>();
        // The owner demotes the manager after another admin's request read it...
        (await owner.PatchAsJsonAsync($"/api/v1/employees/{target.EmployeeId}", new { role = "cashier" })).EnsureSuccessStatusCode();

        // ...so that request's write, decided on the old role, must not put "manager" back.
        await using var db = Npgsql.NpgsqlDataSource.Create(api.Factory.PostgresConnectionString);
        var employees = new Employees(db, new JowiShop.ApiHost.Infrastructure.PasswordHashGate(new JowiShop.ApiHost.Infrastructure.PasswordHashingSettings()));
        var outcome = await employees.UpdateAsync(registration.TenantId, registration.User.Id, stale,
            new EmployeeFields(stale.Name, stale.Email, stale.Phone, Roles.Manager, "Renamed", stale.StoreIds, null), CancellationToken.None);
        Assert.Equal(EmployeeConflict.Changed, outcome);
        Assert.Equal(EmployeeConflict.Changed, await employees.DeleteAsync(registration.TenantId, registration.User.Id, stale, CancellationToken.None));
        var now = await (await owner.GetAsync($"/api/v1/employees/{target.EmployeeId}")).ReadAsync<Employee>();
        Assert.Equal(Roles.Cashier, now.Role);
        Assert.NotEqual("Renamed", now.Position);
        // Ownership cannot move to someone who changed since the owner looked, nor leave the tenant ownerless.
        Assert.Equal(EmployeeConflict.Changed, await employees.TransferOwnershipAsync(registration.TenantId, registration.User.Id, stale, CancellationToken.None));
        (await owner.GetAsync("/api/v1/stores")).EnsureSuccessStatusCode();
    }

    public sealed record AuditEntryDto(long Seq, DateTimeOffset At, Guid? ActorId, string Action, string? SubjectType, Guid? SubjectId, Guid? StoreId);

    public sealed record AuditPageDto(IReadOnlyList<AuditEntryDto> Items, long? NextBefore);

    [Fact]
    public async Task Discounts_are_limited_per_role_by_the_tenant_settings()
    {
        var shop = await TestShop.CreateAsync(api.Factory);
        var store = shop.StoreIds[0];
        var cashier = await TestUsers.AddAndLoginAsync(api.Factory, shop.TenantId, Roles.Cashier);
        var variant = shop.Products[0].Variants[0];
        object Sale(decimal discount) => new
        {
            id = Guid.NewGuid(), storeId = store, terminalId = shop.TerminalByStore[store],
            items = new[] { new { variantId = variant.Id, quantity = 1m, discount } },
            payments = new[] { new { method = "cash", amount = variant.Price } },
        };

        // The reproduced give-away: a discount of the whole line by a cashier.
        await (await cashier.PostAsJsonAsync("/api/v1/receipts", Sale(variant.Price))).AssertProblemAsync(HttpStatusCode.Forbidden, "receipt.discount_forbidden");
        await (await cashier.PostAsJsonAsync("/api/v1/receipts", Sale(0.01m))).AssertProblemAsync(HttpStatusCode.Forbidden, "receipt.discount_forbidden");
        Assert.Equal(0L, await shop.ScalarAsync<long>("SELECT count(*) FROM receipts WHERE tenant_id = $1", shop.TenantId));

        (await shop.Owner.PutAsJsonAsync("/api/v1/tenant/settings", TenantSettings(new { cashier = 10m, manager = 100m, admin = 100m }))).EnsureSuccessStatusCode();
        // Exactly 10% passes, a cent more does not (price 1000.00: 100.00 is 10%).
        (await cashier.PostAsJsonAsync("/api/v1/receipts", Sale(variant.Price / 10m))).EnsureSuccessStatusCode();
        await (await cashier.PostAsJsonAsync("/api/v1/receipts", Sale(variant.Price / 10m + 0.01m))).AssertProblemAsync(HttpStatusCode.Forbidden, "receipt.discount_forbidden");
        // The owner is not limited.
        (await shop.Owner.PostAsJsonAsync("/api/v1/receipts", Sale(variant.Price))).EnsureSuccessStatusCode();
    }

    private HttpClient Bearer(string token)
    {
        var client = api.Factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
