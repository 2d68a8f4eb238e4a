using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Tests.Infrastructure;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Api;

/// <summary>The strict input layer (RequestRules, docs/input.md): each test is a client mistake that was once a 201, a 500 or a 503.</summary>
public sealed class InputRulesTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private const string Nul = "\\u0000"; // as JSON escapes, so the body is exactly what a client sent

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string method, string url, string json) =>
        client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url) { Content = new StringContent(json, Encoding.UTF8, "application/json") });

    private static async Task<JsonElement> AssertFieldRefusedAsync(HttpResponseMessage response, string code, string field, string? message = null)
    {
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, code);
        var messages = problem.TryGetProperty("errors", out var errors) && errors.TryGetProperty(field, out var listed) ? listed : default;
        Assert.True(messages.ValueKind == JsonValueKind.Array, $"no error for {field}: {problem}");
        if (message is not null)
            Assert.Contains(message, messages.EnumerateArray().Select(m => m.GetString()));
        var text = problem.ToString();
        // Framework and CLR words stay out of what a client reads.
        foreach (var leak in new[] { "System.", "JowiShop", "Request", ".NET", "Path:", "LineNumber" })
            Assert.DoesNotContain(leak, text);
        return problem;
    }

    private static string Sale(TestShop shop, string extra = "", string item = "")
    {
        var store = shop.StoreIds[0];
        var variant = shop.VariantIds.First();
        return $$"""
            {"storeId":"{{store}}","terminalId":"{{shop.TerminalByStore[store]}}",
             "items":[{"variantId":"{{variant}}","quantity":1{{item}}}],"payments":[{"method":"cash","amount":1000}]{{extra}}}
            """;
    }

    private static Task<long> CountAsync(TestShop shop, string table) =>
        shop.ScalarAsync<long>($"SELECT count(*) FROM {table} WHERE tenant_id = $1", shop.TenantId);

    [Fact]
    public async Task Unknown_members_of_a_receipt_are_400_naming_the_field_and_sell_nothing()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        await AssertFieldRefusedAsync(await SendAsync(shop.Owner, "POST", "/api/v1/receipts", Sale(shop, extra: ",\"discountPercent\":50")),
            "request.malformed", "discountPercent", RequestRules.UnknownField);
        // A misspelt quantity is named as what it is, not as a missing quantity.
        var store = shop.StoreIds[0];
        var misspelt = $$"""
            {"storeId":"{{store}}","terminalId":"{{shop.TerminalByStore[store]}}",
             "items":[{"variantId":"{{shop.VariantIds.First()}}","qty":1}],"payments":[{"method":"cash","amount":1000}]}
            """;
        await AssertFieldRefusedAsync(await SendAsync(shop.Owner, "POST", "/api/v1/receipts", misspelt), "request.malformed", "items[0].qty", RequestRules.UnknownField);
        Assert.Equal(0L, await CountAsync(shop, "receipts"));
        Assert.Equal(1000m, await shop.ScalarAsync<decimal>("SELECT quantity FROM stock_levels WHERE tenant_id = $1", shop.TenantId));

        (await SendAsync(shop.Owner, "POST", "/api/v1/receipts", Sale(shop))).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task A_NUL_in_a_note_name_description_or_address_is_400_and_writes_nothing()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        var owner = shop.Owner;
        // Was a 503 "retry with the same id" on every retry: PostgreSQL refused it at commit.
        await AssertFieldRefusedAsync(await SendAsync(owner, "POST", "/api/v1/receipts", Sale(shop, extra: $",\"note\":\"a{Nul}b\"")),
            "request.malformed", "note", RequestRules.TextRule);
        await AssertFieldRefusedAsync(await SendAsync(owner, "POST", "/api/v1/categories", $"{{\"name\":\"Dairy{Nul}\"}}"), "request.malformed", "name");
        await AssertFieldRefusedAsync(await SendAsync(owner, "POST", "/api/v1/stores", $"{{\"name\":\"North\",\"address\":\"{Nul}\"}}"), "request.malformed", "address");
        await AssertFieldRefusedAsync(await SendAsync(owner, "POST", "/api/v1/products",
            $$"""{"name":"Milk","description":"fresh{{Nul}}","variants":[{"name":"1 l","sku":"{{TestCatalog.Sku()}}","barcodes":["{{TestCatalog.Ean13()}}"],"price":10}]}"""),
            "request.malformed", "description");
        await AssertFieldRefusedAsync(await SendAsync(owner, "POST", "/api/v1/products",
            $$"""{"name":"Milk","variants":[{"name":"1 l","sku":"{{TestCatalog.Sku()}}","barcodes":["{{TestCatalog.Ean13()}}","A{{Nul}}"],"price":10}]}"""),
            "request.malformed", "variants[0].barcodes[1]");
        var customer = await (await owner.PostAsJsonAsync("/api/v1/customers", new { name = "Aziza" })).ReadAsync<JsonElement>(HttpStatusCode.Created);
        await AssertFieldRefusedAsync(await SendAsync(owner, "PATCH", $"/api/v1/customers/{customer.GetProperty("id")}", $"{{\"notes\":\"x{Nul}\"}}"),
            "request.malformed", "notes");

        Assert.Equal(0L, await CountAsync(shop, "receipts"));
        Assert.Equal(0L, await CountAsync(shop, "categories"));
        Assert.Equal(1L, await CountAsync(shop, "stores"));
        Assert.Equal(1L, await CountAsync(shop, "products"));
        Assert.Null(await shop.ScalarAsync<object>("SELECT notes FROM customers WHERE tenant_id = $1", shop.TenantId) as string);
    }

    [Fact]
    public async Task Unpaired_surrogates_and_control_characters_are_400_while_other_unicode_is_kept()
    {
        var (owner, _) = await api.Factory.RegisterAsync();
        foreach (var bad in new[] { "\\ud800", "a\\udc00b", "\\ud83d", "x\\u001by", "\\u007f", "\\u0085", "bare\\rreturn" })
            await AssertFieldRefusedAsync(await SendAsync(owner, "POST", "/api/v1/categories", $"{{\"name\":\"{bad}\"}}"),
                "request.malformed", "name", RequestRules.TextRule);
        // Invalid UTF-8 bytes are refused the same way.
        var bytes = new ByteArrayContent([.. "{\"name\":\"a"u8, 0xFF, 0xFE, .. "\"}"u8]);
        bytes.Headers.ContentType = new("application/json");
        await AssertFieldRefusedAsync(await owner.PostAsync("/api/v1/categories", bytes), "request.malformed", "name");

        // Tab, line feed, CR LF, a pair of surrogates (emoji), right-to-left marks and Cyrillic are text.
        foreach (var good in new[] { "Fruit\tveg", "Line\nbreak", "Windows\r\nline", "Snacks \ud83c\udf6a", "\u200fمتجر\u200f", "Сыр" })
        {
            var created = await (await owner.PostAsJsonAsync("/api/v1/categories", new { name = good })).ReadAsync<JsonElement>(HttpStatusCode.Created);
            Assert.Equal(good, created.GetProperty("name").GetString());
        }
    }

    [Fact]
    public async Task Pages_past_int_offsets_are_empty_pages()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        // (21,474,838 - 1) x 100 overflowed int: a 500 on categories and customers.
        foreach (var list in new[] { "categories", "customers", "stores", "terminals", "products", "employees", "receipts", $"stores/{shop.StoreIds[0]}/stock" })
        {
            var page = await (await shop.Owner.GetAsync($"/api/v1/{list}?page=21474838&limit=100")).ReadAsync<JsonElement>();
            Assert.Equal(0, page.GetProperty("items").GetArrayLength());
            Assert.Equal(21474838, page.GetProperty("page").GetInt32());
        }
        foreach (var list in new[] { "categories", "customers", "receipts" })
            await AssertFieldRefusedAsync(await shop.Owner.GetAsync($"/api/v1/{list}?page=2147483648"), "request.malformed", "page");
    }

    [Fact]
    public async Task Receipts_filtered_with_a_non_utc_offset_compare_instants()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        var receipt = await (await SendAsync(shop.Owner, "POST", "/api/v1/receipts", Sale(shop))).ReadAsync<Receipt>(HttpStatusCode.Created);
        // An hour before the sale, written in Tashkent's offset: Npgsql refused any offset but UTC (a 500).
        var before = receipt.CreatedAt.AddHours(-1).ToOffset(TimeSpan.FromHours(5)).ToString("yyyy-MM-ddTHH:mm:sszzz");
        var after = receipt.CreatedAt.AddHours(1).ToOffset(TimeSpan.FromHours(-3)).ToString("yyyy-MM-ddTHH:mm:sszzz");
        var found = await (await shop.Owner.GetAsync($"/api/v1/receipts?from={Uri.EscapeDataString(before)}&to={Uri.EscapeDataString(after)}"))
            .ReadAsync<JsonElement>();
        Assert.Equal(receipt.Id, found.GetProperty("items")[0].GetProperty("id").GetGuid());
        var none = await (await shop.Owner.GetAsync($"/api/v1/receipts?to={Uri.EscapeDataString(before)}")).ReadAsync<JsonElement>();
        Assert.Equal(0, none.GetProperty("items").GetArrayLength());
        await (await shop.Owner.GetAsync("/api/v1/receipts?from=2026-01-01T00:00:00%2B05:00")).ReadAsync<JsonElement>();
    }

    [Fact]
    public async Task Duplicate_keys_are_400_in_patch_and_create_bodies()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        var owner = shop.Owner;
        var store = shop.StoreIds[0];
        // JsonObject threw ArgumentException on a repeated key: a 500 on every PATCH endpoint.
        await AssertFieldRefusedAsync(await SendAsync(owner, "PATCH", $"/api/v1/stores/{store}", """{"name":"A","name":"B"}"""),
            "request.malformed", "name", RequestRules.Duplicate);
        var product = shop.Products[0];
        await AssertFieldRefusedAsync(await SendAsync(owner, "PATCH", $"/api/v1/products/{product.Id}/variants/{product.Variants[0].Id}",
            """{"price":1,"nested":{"a":1,"a":2}}"""), "request.malformed", "nested.a", RequestRules.Duplicate);
        await AssertFieldRefusedAsync(await SendAsync(owner, "POST", "/api/v1/receipts", Sale(shop, item: ",\"quantity\":2")),
            "request.malformed", "items[0].quantity", RequestRules.Duplicate);

        Assert.Equal(product.Variants[0].Price, await shop.ScalarAsync<decimal>("SELECT price FROM product_variants WHERE id = $1", product.Variants[0].Id));
        Assert.NotEqual("B", await shop.ScalarAsync<string>("SELECT name FROM stores WHERE id = $1", store));
        Assert.Equal(0L, await CountAsync(shop, "receipts"));
    }

    [Fact]
    public async Task Unknown_patch_fields_are_400_and_change_nothing()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        var owner = shop.Owner;
        var product = shop.Products[0];
        var category = await (await owner.PostAsJsonAsync("/api/v1/categories", new { name = "Drinks" })).ReadAsync<JsonElement>(HttpStatusCode.Created);
        var customer = await (await owner.PostAsJsonAsync("/api/v1/customers", new { name = "Bobur" })).ReadAsync<JsonElement>(HttpStatusCode.Created);
        foreach (var url in new[]
                 {
                     $"/api/v1/stores/{shop.StoreIds[0]}", $"/api/v1/terminals/{shop.TerminalByStore[shop.StoreIds[0]]}",
                     $"/api/v1/products/{product.Id}", $"/api/v1/products/{product.Id}/variants/{product.Variants[0].Id}",
                     $"/api/v1/categories/{category.GetProperty("id")}", $"/api/v1/customers/{customer.GetProperty("id")}",
                 })
            // "Name" is not "name": a field is spelt exactly.
            await AssertFieldRefusedAsync(await SendAsync(owner, "PATCH", url, """{"Name":"Renamed"}"""), "validation.failed", "Name", RequestRules.UnknownField);
        Assert.Equal(0L, await shop.ScalarAsync<long>(
            """
            SELECT (SELECT count(*) FROM stores WHERE tenant_id = $1 AND name = 'Renamed') + (SELECT count(*) FROM terminals WHERE tenant_id = $1 AND name = 'Renamed')
                 + (SELECT count(*) FROM products WHERE tenant_id = $1 AND name = 'Renamed') + (SELECT count(*) FROM product_variants WHERE tenant_id = $1 AND name = 'Renamed')
                 + (SELECT count(*) FROM categories WHERE tenant_id = $1 AND name = 'Renamed') + (SELECT count(*) FROM customers WHERE tenant_id = $1 AND name = 'Renamed')
            """, shop.TenantId));
    }

    [Fact]
    public async Task Piece_variants_sell_in_whole_quantities_and_weighed_ones_in_fractions()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        var variant = shop.Products[0].Variants[0];
        await AssertFieldRefusedAsync(await SendAsync(shop.Owner, "POST", "/api/v1/receipts", Sale(shop).Replace("\"quantity\":1", "\"quantity\":0.5")),
            "validation.failed", "items[0].quantity");
        Assert.Equal(0L, await CountAsync(shop, "receipts"));

        (await shop.Owner.PatchAsJsonAsync($"/api/v1/products/{shop.Products[0].Id}/variants/{variant.Id}", new { unit = "kg" })).EnsureSuccessStatusCode();
        var sold = await (await SendAsync(shop.Owner, "POST", "/api/v1/receipts",
            Sale(shop).Replace("\"quantity\":1", "\"quantity\":0.5").Replace("\"amount\":1000", "\"amount\":500"))).ReadAsync<Receipt>(HttpStatusCode.Created);
        Assert.Equal(0.5m, sold.Items[0].Quantity);
    }

    [Fact]
    public async Task Route_and_query_text_with_control_characters_is_400_naming_the_parameter()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        foreach (var (url, parameter) in new[]
                 {
                     ($"/api/v1/stores/{shop.StoreIds[0]}/receipts/by-number/R-1%01", "number"),
                     ("/api/v1/customers/by-email/a%01%40b.uz", "email"),
                     ("/api/v1/customers/by-card/C%7F1", "code"),
                     ("/api/v1/search?query=mi%00lk", "query"),
                     ("/api/v1/products?query=%00", "query"),
                     ("/api/v1/customers?query=ab%1B", "query"),
                 })
            await AssertFieldRefusedAsync(await shop.Owner.GetAsync(url), "validation.failed", parameter, RequestRules.TextRule);
    }

    [Fact]
    public async Task Malformed_bodies_name_the_field_and_what_it_must_be()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        var owner = shop.Owner;
        await AssertFieldRefusedAsync(await SendAsync(owner, "POST", "/api/v1/receipts", Sale(shop).Replace("\"quantity\":1", "\"quantity\":\"one\"")),
            "request.malformed", "items[0].quantity", "must be a number");
        await AssertFieldRefusedAsync(await SendAsync(owner, "POST", "/api/v1/receipts", Sale(shop).Replace("\"cash\"", "\"cheque\"")),
            "request.malformed", "payments[0].method", "must be one of cash, card, transfer, other");
        await AssertFieldRefusedAsync(await SendAsync(owner, "POST", "/api/v1/receipts", Sale(shop).Replace($"\"{shop.StoreIds[0]}\"", "12")),
            "request.malformed", "storeId", "must be a UUID");
        await AssertFieldRefusedAsync(await SendAsync(owner, "POST", "/api/v1/receipts", "[1]"), "request.malformed", RequestRules.BodyField);
        await AssertFieldRefusedAsync(await SendAsync(owner, "POST", "/api/v1/receipts", ""), "request.malformed", RequestRules.BodyField);
        await AssertFieldRefusedAsync(await SendAsync(owner, "POST", "/api/v1/receipts", "{\"storeId\":"), "request.malformed", "storeId");
        await AssertFieldRefusedAsync(await SendAsync(owner, "PATCH", $"/api/v1/stores/{shop.StoreIds[0]}", "\"x\""), "request.malformed", RequestRules.BodyField);
        await AssertFieldRefusedAsync(await owner.GetAsync("/api/v1/receipts?from=yesterday"), "request.malformed", "from");
        Assert.Equal(0L, await CountAsync(shop, "receipts"));
    }

    [Fact]
    public async Task Null_elements_of_body_arrays_are_400_naming_the_element()
    {
        var shop = await TestShop.CreateAsync(api.Factory, products: 1);
        var store = shop.StoreIds[0];
        // Stock operations dereferenced them: a 500.
        await AssertFieldRefusedAsync(await SendAsync(shop.Owner, "POST", "/api/v1/inventory/receivings", $$"""{"storeId":"{{store}}","lines":[null]}"""),
            "validation.failed", "lines[0]");
        await AssertFieldRefusedAsync(await SendAsync(shop.Owner, "POST", "/api/v1/products",
            $$"""{"name":"Tea","variants":[{"name":"Box","sku":"{{TestCatalog.Sku()}}","barcodes":[null],"price":1}]}"""), "validation.failed", "variants[0].barcodes[0]");
        Assert.Equal(1L, await CountAsync(shop, "products"));
    }

    [Fact]
    public async Task Data_exceptions_from_postgres_are_a_400_not_a_500_or_503()
    {
        var services = api.Factory.Services;
        var handler = new ApiExceptionHandler(services.GetRequiredService<IProblemDetailsService>(), NullLogger<ApiExceptionHandler>.Instance);
        foreach (var exception in new Exception[]
                 {
                     new PostgresException("invalid byte sequence for encoding \"UTF8\": 0x00", "ERROR", "ERROR", "22021"),
                     new DatabaseFailureException("Database call failed", isTransient: false, sqlState: "22P05"),
                 })
        {
            var context = new DefaultHttpContext { RequestServices = services };
            context.Response.Body = new MemoryStream();
            Assert.True(await handler.TryHandleAsync(context, exception, CancellationToken.None));
            Assert.Equal(StatusCodes.Status400BadRequest, context.Response.StatusCode);
            Assert.False(context.Response.Headers.ContainsKey("Retry-After"));
            context.Response.Body.Position = 0;
            var problem = JsonDocument.Parse(context.Response.Body).RootElement;
            Assert.Equal("request.invalid_value", problem.GetProperty("code").GetString());
            Assert.DoesNotContain("UTF8", problem.ToString());
        }
    }

    [Fact]
    public async Task The_openapi_document_still_types_every_string_and_forbids_extra_members()
    {
        var document = JsonDocument.Parse(await api.Factory.CreateClient().GetStringAsync("/openapi/v1.json")).RootElement;
        var schemas = document.GetProperty("components").GetProperty("schemas");
        // The strict converters hide strings from the schema exporter (an empty schema); the schema transformer puts them back.
        var untyped = schemas.EnumerateObject()
            .SelectMany(s => s.Value.TryGetProperty("properties", out var properties) ? properties.EnumerateObject().Select(p => (s.Name, p)) : [])
            .Where(x => !x.p.Value.EnumerateObject().Any() || Types(x.p.Value).Contains("array") && !x.p.Value.TryGetProperty("items", out _))
            .Select(x => $"{x.Name}.{x.p.Name}")
            .ToList();
        Assert.Empty(untyped);
        Assert.Equal("string", schemas.GetProperty("Store").GetProperty("properties").GetProperty("name").GetProperty("type").GetString());
        Assert.Equal("string", schemas.GetProperty("VariantRequest").GetProperty("properties").GetProperty("barcodes").GetProperty("items").GetProperty("type").GetString());
        Assert.False(schemas.GetProperty("ReceiptRequest").GetProperty("additionalProperties").GetBoolean());
    }

    private static string[] Types(JsonElement schema) =>
        !schema.TryGetProperty("type", out var type) ? []
        : type.ValueKind == JsonValueKind.Array ? [.. type.EnumerateArray().Select(t => t.GetString()!)]
        : [type.GetString()!];
}
