using System.Diagnostics;
using JowiShop.Grains.Abstractions.Catalog;
using Microsoft.AspNetCore.Identity;
using Npgsql;
using NpgsqlTypes;

namespace JowiShop.DemoData;

/// <summary>Sizes of the demo data set; the defaults are the seed's benchmark set.</summary>
public sealed record DemoDataOptions
{
    public int Stores { get; init; } = 2;
    public int TerminalsPerStore { get; init; } = 1;
    public int Users { get; init; } = 5;
    public int Customers { get; init; } = 20;
    public int Categories { get; init; } = 15;
    public int Products { get; init; } = 300;
    public int Variants { get; init; } = 450;
    public int RandomSeed { get; init; } = 42;
    public bool SecondTenant { get; init; } = true;
    /// <summary>
    /// How many variants each store holds opening stock of (a deterministic random assortment);
    /// 0 means all. 200 stores x 100,000 variants would be 20 million stock levels.
    /// </summary>
    public int StockedVariantsPerStore { get; init; }
}

public sealed record DemoDataSummary(
    Guid TenantId, Guid? SecondTenantId, bool Created, long Stores, long Terminals, long Users, long Customers, long Categories,
    long Products, long Variants, long Barcodes, long StockLevels, long StockBatches, TimeSpan Elapsed)
{
    public override string ToString() =>
        $"{(Created ? "seeded" : "already seeded")}: {Stores} stores, {Terminals} terminals, {Users} users, {Customers} customers, " +
        $"{Categories} categories, {Products} products, {Variants} variants, {Barcodes} barcodes, {StockLevels} stock levels, " +
        $"{StockBatches} batches in {Elapsed.TotalSeconds:0.0} s";
}

/// <summary>
/// A deterministic demo data set (fixed random seed, fixed ids for what people log in with), written
/// in one transaction with binary COPY so 100,000 variants take seconds. Running it again changes nothing.
/// </summary>
public static class DemoDataSet
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static async Task<DemoDataSummary> SeedAsync(string connectionString, DemoDataOptions options, CancellationToken ct = default)
    {
        if (options.Stores < 1 || options.Products < 1 || options.Variants < options.Products || options.Users < 1 || options.Categories < 1)
            throw new ArgumentException("Need at least 1 store, 1 user, 1 category, 1 product, and as many variants as products.");
        var clock = Stopwatch.StartNew();
        // A large data set's COPY of a million stock levels (each row's keys checked) outlasts
        // Npgsql's 30-second default on a busy machine: seeding is a batch job, not a request.
        await using var db = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { CommandTimeout = 600 }.ConnectionString);
        await using var connection = await db.OpenConnectionAsync(ct);
        if (await ExistsAsync(connection, ct))
            return await SummaryAsync(connection, false, options.SecondTenant, clock.Elapsed, ct);

        var passwordHash = new PasswordHasher<object>().HashPassword(null!, DemoTenant.Password);
        await using (var tx = await connection.BeginTransactionAsync(ct))
        {
            var demo = new TenantSpec(DemoTenant.TenantId, DemoTenant.Name, DemoTenant.OwnerUserId, "Admin JOWi", DemoTenant.OwnerEmail, DemoTenant.OwnerPhone,
                [DemoTenant.CentralStoreId, DemoTenant.ChilanzarStoreId], ["Central", "Chilanzar"], [DemoTenant.CentralTerminalId, DemoTenant.ChilanzarTerminalId],
                "jowi.shop", options, null);
            var demoBarcodes = await SeedTenantAsync(connection, demo, passwordHash, ct);
            if (options.SecondTenant)
            {
                var second = new TenantSpec(DemoTenant.SecondTenantId, DemoTenant.SecondName, DemoTenant.SecondOwnerUserId, "Second Owner",
                    DemoTenant.SecondOwnerEmail, DemoTenant.SecondOwnerPhone, [DemoTenant.SecondStoreId], ["Second Central"], [],
                    "second.shop", new DemoDataOptions { Stores = 1, Users = 1, Customers = 5, Categories = 2, Products = 5, Variants = 5, RandomSeed = options.RandomSeed + 1 },
                    // Barcodes are unique per tenant, not globally: the second shop sells one of the demo's codes too.
                    demoBarcodes[0]);
                await SeedTenantAsync(connection, second, passwordHash, ct);
            }
            await tx.CommitAsync(ct);
        }
        // Fresh statistics now, not when autovacuum gets round to it: without them the planner
        // joins the bulk-loaded catalog with nested loops (a cold scan took 20 ms instead of 2).
        await using (var analyze = new NpgsqlCommand("ANALYZE", connection))
            await analyze.ExecuteNonQueryAsync(ct);
        return await SummaryAsync(connection, true, options.SecondTenant, clock.Elapsed, ct);
    }

    private sealed record TenantSpec(
        Guid TenantId, string Name, Guid OwnerId, string OwnerName, string OwnerEmail, string OwnerPhone,
        Guid[] FixedStoreIds, string[] FixedStoreNames, Guid[] FixedTerminalIds, string EmailDomain, DemoDataOptions Options, string? SharedBarcode);

    /// <summary>Writes one tenant; returns its EAN-13 barcodes in order.</summary>
    private static async Task<List<string>> SeedTenantAsync(NpgsqlConnection connection, TenantSpec spec, string passwordHash, CancellationToken ct)
    {
        var o = spec.Options;
        var random = new Random(o.RandomSeed);
        Guid NewId()
        {
            Span<byte> bytes = stackalloc byte[16];
            random.NextBytes(bytes);
            bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40); // version 4
            bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 4122 variant
            return new Guid(bytes);
        }

        await ExecuteAsync(connection, "INSERT INTO tenants (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)", ct, spec.TenantId, spec.Name, Epoch);

        // Stores and terminals.
        var stores = Enumerable.Range(0, o.Stores).Select(i => (
            Id: i < spec.FixedStoreIds.Length ? spec.FixedStoreIds[i] : NewId(),
            Name: i < spec.FixedStoreNames.Length ? spec.FixedStoreNames[i] : $"Store {i + 1:D3}")).ToArray();
        await CopyAsync(connection, "stores (id, tenant_id, name, address, created_at, updated_at)", stores, (w, s) =>
        {
            w.Write(s.Id, NpgsqlDbType.Uuid); w.Write(spec.TenantId, NpgsqlDbType.Uuid); w.Write(s.Name, NpgsqlDbType.Text);
            w.Write($"Tashkent, {s.Name} street 1", NpgsqlDbType.Text); w.Write(Epoch, NpgsqlDbType.TimestampTz); w.Write(Epoch, NpgsqlDbType.TimestampTz);
        }, ct);
        var terminals = stores.SelectMany((s, i) => Enumerable.Range(0, o.TerminalsPerStore).Select(t => (
            Id: t == 0 && i < spec.FixedTerminalIds.Length ? spec.FixedTerminalIds[i] : NewId(), StoreId: s.Id, Name: $"Till {t + 1}"))).ToArray();
        await CopyAsync(connection, "terminals (id, tenant_id, store_id, name, created_at, updated_at)", terminals, (w, t) =>
        {
            w.Write(t.Id, NpgsqlDbType.Uuid); w.Write(spec.TenantId, NpgsqlDbType.Uuid); w.Write(t.StoreId, NpgsqlDbType.Uuid);
            w.Write(t.Name, NpgsqlDbType.Text); w.Write(Epoch, NpgsqlDbType.TimestampTz); w.Write(Epoch, NpgsqlDbType.TimestampTz);
        }, ct);

        // Users and employees: the owner, then admin, manager and cashiers.
        string[] roles = ["admin", "manager", "cashier"];
        var usedPhones = new HashSet<string> { spec.OwnerPhone, DemoTenant.OwnerPhone, DemoTenant.SecondOwnerPhone };
        var users = new List<(Guid Id, string Name, string Email, string Phone, string Role)> { (spec.OwnerId, spec.OwnerName, spec.OwnerEmail, spec.OwnerPhone, "owner") };
        for (var i = 1; i < o.Users; i++)
        {
            var role = roles[Math.Min(i - 1, roles.Length - 1)];
            users.Add((NewId(), $"{Pick(random, DemoNames.FirstNames)} {Pick(random, DemoNames.LastNames)}", $"{role}{i}@{spec.EmailDomain}",
                UniquePhone(random, usedPhones, "+99890"), role));
        }
        await CopyAsync(connection, "users (id, tenant_id, name, email, phone, password_hash, role, created_at, updated_at)", users, (w, u) =>
        {
            w.Write(u.Id, NpgsqlDbType.Uuid); w.Write(spec.TenantId, NpgsqlDbType.Uuid); w.Write(u.Name, NpgsqlDbType.Text);
            w.Write(u.Email, NpgsqlDbType.Text); w.Write(u.Phone, NpgsqlDbType.Text); w.Write(passwordHash, NpgsqlDbType.Text);
            w.Write(u.Role, NpgsqlDbType.Text); w.Write(Epoch, NpgsqlDbType.TimestampTz); w.Write(Epoch, NpgsqlDbType.TimestampTz);
        }, ct);
        var employees = users.Select(u => (Id: NewId(), u.Id, u.Role)).ToArray();
        await CopyAsync(connection, "employees (id, tenant_id, user_id, position, created_at, updated_at)", employees, (w, e) =>
        {
            w.Write(e.Item1, NpgsqlDbType.Uuid); w.Write(spec.TenantId, NpgsqlDbType.Uuid); w.Write(e.Item2, NpgsqlDbType.Uuid);
            w.Write(char.ToUpperInvariant(e.Role[0]) + e.Role[1..], NpgsqlDbType.Text); w.Write(Epoch, NpgsqlDbType.TimestampTz); w.Write(Epoch, NpgsqlDbType.TimestampTz);
        }, ct);
        // Owners and admins work in every store; the others in one each, round robin.
        var assignments = employees.SelectMany((e, i) => e.Role is "owner" or "admin"
            ? stores.Select(s => (Employee: e.Item1, Store: s.Id))
            : [(e.Item1, stores[i % stores.Length].Id)]).ToArray();
        await CopyAsync(connection, "employee_stores (tenant_id, employee_id, store_id)", assignments, (w, a) =>
        {
            w.Write(spec.TenantId, NpgsqlDbType.Uuid); w.Write(a.Item1, NpgsqlDbType.Uuid); w.Write(a.Item2, NpgsqlDbType.Uuid);
        }, ct);

        // Customers.
        var customers = Enumerable.Range(0, o.Customers).Select(i =>
        {
            var (first, last) = (Pick(random, DemoNames.FirstNames), Pick(random, DemoNames.LastNames));
            var email = random.Next(10) < 7 ? $"customer{i + 1}@example.uz" : null;
            var card = random.Next(2) == 0 ? $"C{i + 1:D9}" : null;
            return (Id: NewId(), Name: $"{first} {last}", Phone: UniquePhone(random, usedPhones, Pick(random, ["+99890", "+99891", "+99893", "+99894", "+99897", "+99899"])), Email: email, Card: card);
        }).ToArray();
        await CopyAsync(connection, "customers (id, tenant_id, name, phone, email, card_code, created_at, updated_at)", customers, (w, c) =>
        {
            w.Write(c.Id, NpgsqlDbType.Uuid); w.Write(spec.TenantId, NpgsqlDbType.Uuid); w.Write(c.Name, NpgsqlDbType.Text);
            w.Write(c.Phone, NpgsqlDbType.Text); WriteNullable(w, c.Email); WriteNullable(w, c.Card);
            w.Write(Epoch, NpgsqlDbType.TimestampTz); w.Write(Epoch, NpgsqlDbType.TimestampTz);
        }, ct);

        // Catalog: categories, products, variants (one barcode each: 80% EAN-13, 20% CODE128).
        var categories = Enumerable.Range(0, o.Categories).Select(i => (Id: NewId(),
            Name: i < DemoNames.Categories.Length ? DemoNames.Categories[i] : $"{DemoNames.Categories[i % DemoNames.Categories.Length]} {i / DemoNames.Categories.Length + 1}")).ToArray();
        await CopyAsync(connection, "categories (id, tenant_id, name, created_at, updated_at)", categories, (w, c) =>
        {
            w.Write(c.Id, NpgsqlDbType.Uuid); w.Write(spec.TenantId, NpgsqlDbType.Uuid); w.Write(c.Name, NpgsqlDbType.Text);
            w.Write(Epoch, NpgsqlDbType.TimestampTz); w.Write(Epoch, NpgsqlDbType.TimestampTz);
        }, ct);
        var products = Enumerable.Range(0, o.Products).Select(i => (Id: NewId(), Category: categories[i % categories.Length].Id,
            Name: $"{DemoNames.Products[i % DemoNames.Products.Length]}{(i >= DemoNames.Products.Length ? $" #{i / DemoNames.Products.Length + 1}" : "")}")).ToArray();
        await CopyAsync(connection, "products (id, tenant_id, category_id, name, created_at, updated_at)", products, (w, p) =>
        {
            w.Write(p.Id, NpgsqlDbType.Uuid); w.Write(spec.TenantId, NpgsqlDbType.Uuid); w.Write(p.Category, NpgsqlDbType.Uuid);
            w.Write(p.Name, NpgsqlDbType.Text); w.Write(Epoch, NpgsqlDbType.TimestampTz); w.Write(Epoch, NpgsqlDbType.TimestampTz);
        }, ct);

        var usedBarcodes = new HashSet<string>();
        var eans = new List<string>();
        var variants = new (Guid Id, Guid Product, string Name, string Sku, string Barcode, string Symbology, decimal Price, decimal Cost, string Unit)[o.Variants];
        for (var i = 0; i < o.Variants; i++)
        {
            // The first variant of every product, then the extra ones spread over the products in turn.
            var product = products[i % products.Length];
            var unit = random.Next(10) switch { 0 => "kg", 1 => "l", _ => "piece" };
            var price = random.Next(10, 2500) * 100m;
            var cost = decimal.Round(price * random.Next(60, 81) / 100m, 2);
            string barcode, symbology;
            if (i == 0 && spec.SharedBarcode is not null)
                (barcode, symbology) = (spec.SharedBarcode, "ean13");
            else if (random.Next(10) < 8)
            {
                do
                {
                    var body = "478" + random.NextInt64(0, 1_000_000_000).ToString("D9");
                    barcode = body + Barcodes.CheckDigit(body);
                } while (!usedBarcodes.Add(barcode));
                symbology = "ean13";
            }
            else
            {
                do barcode = $"JW-{random.Next(0, 100_000_000):D8}"; while (!usedBarcodes.Add(barcode));
                symbology = "code128";
            }
            usedBarcodes.Add(barcode);
            if (symbology == "ean13")
                eans.Add(barcode);
            variants[i] = (NewId(), product.Id, Pick(random, DemoNames.Sizes), $"SKU-{i + 1:D6}", barcode, symbology, price, cost, unit);
        }
        await CopyAsync(connection, "product_variants (id, tenant_id, product_id, name, sku, price, cost, unit, created_at, updated_at)", variants, (w, v) =>
        {
            w.Write(v.Id, NpgsqlDbType.Uuid); w.Write(spec.TenantId, NpgsqlDbType.Uuid); w.Write(v.Product, NpgsqlDbType.Uuid);
            w.Write(v.Name, NpgsqlDbType.Text); w.Write(v.Sku, NpgsqlDbType.Text); w.Write(v.Price, NpgsqlDbType.Numeric);
            w.Write(v.Cost, NpgsqlDbType.Numeric); w.Write(v.Unit, NpgsqlDbType.Text); w.Write(Epoch, NpgsqlDbType.TimestampTz); w.Write(Epoch, NpgsqlDbType.TimestampTz);
        }, ct);
        await CopyAsync(connection, "variant_barcodes (tenant_id, variant_id, barcode, symbology, created_at)", variants, (w, v) =>
        {
            w.Write(spec.TenantId, NpgsqlDbType.Uuid); w.Write(v.Id, NpgsqlDbType.Uuid); w.Write(v.Barcode, NpgsqlDbType.Text);
            w.Write(v.Symbology, NpgsqlDbType.Text); w.Write(Epoch, NpgsqlDbType.TimestampTz);
        }, ct);

        // Opening stock for every variant in every store: one or two batches, each journaled.
        var levels = new List<(Guid Store, Guid Variant, decimal Quantity, decimal Cost)>(stores.Length * variants.Length);
        var batches = new List<(Guid Id, Guid Store, Guid Variant, decimal Quantity, decimal Cost, DateTimeOffset At)>();
        var assortment = o.StockedVariantsPerStore is > 0 and var n && n < variants.Length ? n : variants.Length;
        foreach (var store in stores)
            foreach (var v in assortment == variants.Length ? variants : variants.OrderBy(_ => random.Next()).Take(assortment))
            {
                var quantity = v.Unit == "piece" ? random.Next(50, 501) : random.Next(20_000, 200_001) / 1000m;
                var split = random.Next(3) == 0 ? decimal.Round(quantity / 3, v.Unit == "piece" ? 0 : 3) : 0m;
                if (split > 0)
                    batches.Add((NewId(), store.Id, v.Id, split, v.Cost, Epoch.AddDays(-30)));
                batches.Add((NewId(), store.Id, v.Id, quantity - split, v.Cost, Epoch.AddDays(-10)));
                levels.Add((store.Id, v.Id, quantity, v.Cost));
            }
        await CopyAsync(connection, "stock_levels (tenant_id, store_id, variant_id, quantity, last_unit_cost, updated_at)", levels, (w, l) =>
        {
            w.Write(spec.TenantId, NpgsqlDbType.Uuid); w.Write(l.Store, NpgsqlDbType.Uuid); w.Write(l.Variant, NpgsqlDbType.Uuid);
            w.Write(l.Quantity, NpgsqlDbType.Numeric); w.Write(l.Cost, NpgsqlDbType.Numeric); w.Write(Epoch, NpgsqlDbType.TimestampTz);
        }, ct);
        // The batches' FIFO sequence per store, in the order the store grain must take them (oldest
        // first); what remains of each follows from the level (stock_batches view, migration 0015).
        var fifo = new Dictionary<Guid, long>();
        var sequenced = batches.OrderBy(b => b.At).Select(b => (Batch: b, Seq: fifo[b.Store] = fifo.GetValueOrDefault(b.Store) + 1)).ToList();
        await CopyAsync(connection, "stock_lots (id, tenant_id, store_id, variant_id, source, received_qty, unit_cost, received_at, fifo_seq)", sequenced, (w, x) =>
        {
            var b = x.Batch;
            w.Write(b.Id, NpgsqlDbType.Uuid); w.Write(spec.TenantId, NpgsqlDbType.Uuid); w.Write(b.Store, NpgsqlDbType.Uuid); w.Write(b.Variant, NpgsqlDbType.Uuid);
            w.Write("opening", NpgsqlDbType.Text); w.Write(b.Quantity, NpgsqlDbType.Numeric);
            w.Write(b.Cost, NpgsqlDbType.Numeric); w.Write(b.At, NpgsqlDbType.TimestampTz); w.Write(x.Seq, NpgsqlDbType.Bigint);
        }, ct);
        await CopyAsync(connection, "stock_journal (tenant_id, store_id, variant_id, kind, quantity, unit_cost, reference, created_at)", batches, (w, b) =>
        {
            w.Write(spec.TenantId, NpgsqlDbType.Uuid); w.Write(b.Store, NpgsqlDbType.Uuid); w.Write(b.Variant, NpgsqlDbType.Uuid);
            w.Write("opening", NpgsqlDbType.Text); w.Write(b.Quantity, NpgsqlDbType.Numeric); w.Write(b.Cost, NpgsqlDbType.Numeric);
            w.Write($"batch {b.Id}", NpgsqlDbType.Text); w.Write(b.At, NpgsqlDbType.TimestampTz);
        }, ct);
        return eans;
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private static string UniquePhone(Random random, HashSet<string> used, string prefix)
    {
        string phone;
        do phone = prefix + random.Next(1_000_000, 10_000_000).ToString("D7"); while (!used.Add(phone));
        return phone;
    }

    private static void WriteNullable(NpgsqlBinaryImporter writer, string? value)
    {
        if (value is null) writer.WriteNull(); else writer.Write(value, NpgsqlDbType.Text);
    }

    private static async Task CopyAsync<T>(NpgsqlConnection connection, string target, IEnumerable<T> rows, Action<NpgsqlBinaryImporter, T> write, CancellationToken ct)
    {
        await using var importer = await connection.BeginBinaryImportAsync($"COPY {target} FROM STDIN (FORMAT BINARY)", ct);
        foreach (var row in rows)
        {
            await importer.StartRowAsync(ct);
            write(importer, row);
        }
        await importer.CompleteAsync(ct);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct, params object[] values)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
            cmd.Parameters.AddWithValue(value);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task<bool> ExistsAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)", connection);
        cmd.Parameters.AddWithValue(DemoTenant.TenantId);
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static async Task<DemoDataSummary> SummaryAsync(NpgsqlConnection connection, bool created, bool second, TimeSpan elapsed, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            """
            SELECT (SELECT count(*) FROM stores WHERE tenant_id = $1), (SELECT count(*) FROM terminals WHERE tenant_id = $1),
                   (SELECT count(*) FROM users WHERE tenant_id = $1), (SELECT count(*) FROM customers WHERE tenant_id = $1),
                   (SELECT count(*) FROM categories WHERE tenant_id = $1), (SELECT count(*) FROM products WHERE tenant_id = $1),
                   (SELECT count(*) FROM product_variants WHERE tenant_id = $1), (SELECT count(*) FROM variant_barcodes WHERE tenant_id = $1),
                   (SELECT count(*) FROM stock_levels WHERE tenant_id = $1), (SELECT count(*) FROM stock_lots WHERE tenant_id = $1)
            """, connection);
        cmd.Parameters.AddWithValue(DemoTenant.TenantId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new DemoDataSummary(DemoTenant.TenantId, second ? DemoTenant.SecondTenantId : null, created,
            reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5),
            reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9), elapsed);
    }
}
