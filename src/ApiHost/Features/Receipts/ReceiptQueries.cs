using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Grains.Sales;
using Npgsql;
using NpgsqlTypes;

namespace JowiShop.ApiHost.Features.Receipts;

public sealed record ReceiptSummary(Guid Id, string ReceiptNumber, ReceiptKind Kind, Guid StoreId, Guid TerminalId, Guid CashierId,
    Guid? CustomerId, Guid? RefundOf, DateTimeOffset CreatedAt, DateOnly BusinessDate, decimal Total);

public sealed record PaymentTotal(PaymentMethod Method, decimal Sales, decimal Refunds, decimal Net);

public sealed record DailyReport(Guid StoreId, DateOnly BusinessDate, int Receipts, int Refunds, decimal Gross, decimal Discounts,
    decimal RefundTotal, decimal Net, IReadOnlyList<PaymentTotal> ByPaymentMethod, decimal CostOfGoods, decimal GrossMargin);

/// <summary>Receipt reads: committed rows, through the tenant-scoped receipt indexes.</summary>
public sealed class ReceiptQueries(NpgsqlDataSource db)
{
    public async Task<ListPage<ReceiptSummary>> ListAsync(Guid tenantId, PageRequest page, Guid? storeId, DateTimeOffset? from, DateTimeOffset? to,
        Guid? customerId, Guid? terminalId, IReadOnlyList<Guid>? storeLimit, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            """
            SELECT id, receipt_number, kind, store_id, terminal_id, cashier_id, customer_id, refund_of, created_at, business_date, total, count(*) OVER ()
            FROM receipts
            WHERE tenant_id = $1 AND ($2::uuid IS NULL OR store_id = $2) AND ($3::timestamptz IS NULL OR created_at >= $3)
              AND ($4::timestamptz IS NULL OR created_at < $4) AND ($5::uuid IS NULL OR customer_id = $5) AND ($6::uuid IS NULL OR terminal_id = $6)
              AND ($9::uuid[] IS NULL OR store_id = ANY ($9))
            ORDER BY created_at DESC, id
            LIMIT $7 OFFSET $8
            """);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        foreach (var (value, type) in new (object?, NpgsqlDbType)[]
                 { (storeId, NpgsqlDbType.Uuid), (from, NpgsqlDbType.TimestampTz), (to, NpgsqlDbType.TimestampTz), (customerId, NpgsqlDbType.Uuid), (terminalId, NpgsqlDbType.Uuid) })
            cmd.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value, NpgsqlDbType = type });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = page.Limit });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = page.Offset });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)storeLimit?.ToArray() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        var items = new List<ReceiptSummary>();
        long total = 0;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            items.Add(new ReceiptSummary(reader.GetGuid(0), reader.GetString(1), reader.GetString(2) == "refund" ? ReceiptKind.Refund : ReceiptKind.Sale,
                reader.GetGuid(3), reader.GetGuid(4), reader.GetGuid(5), reader.IsDBNull(6) ? null : reader.GetGuid(6),
                reader.IsDBNull(7) ? null : reader.GetGuid(7), reader.GetFieldValue<DateTimeOffset>(8), reader.GetFieldValue<DateOnly>(9), reader.GetDecimal(10)));
            total = reader.GetInt64(11);
        }
        return new ListPage<ReceiptSummary>(items, page.Page, page.Limit, total);
    }

    public async Task<Receipt?> ByNumberAsync(Guid tenantId, Guid storeId, string number, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT id FROM receipts WHERE tenant_id = $1 AND store_id = $2 AND receipt_number = $3");
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = storeId });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = number });
        if (await cmd.ExecuteScalarAsync(ct) is not Guid id)
            return null;
        return (await ReceiptRows.LoadAsync(db, tenantId, [id], ct)).GetValueOrDefault(id)?.Receipt;
    }

    /// <summary>The store of a receipt of this tenant, or null.</summary>
    public async Task<Guid?> StoreOfAsync(Guid tenantId, Guid receiptId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT store_id FROM receipts WHERE tenant_id = $1 AND id = $2");
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = receiptId });
        return await cmd.ExecuteScalarAsync(ct) as Guid?;
    }

    public async Task<DailyReport> DailyAsync(Guid tenantId, Guid storeId, DateOnly date, CancellationToken ct)
    {
        // Lines and payments are on the receipt rows (migration 0015): read there, not through the views.
        await using var batch = db.CreateBatch();
        var head = new NpgsqlBatchCommand(
            """
            SELECT count(*) FILTER (WHERE kind = 'sale'), count(*) FILTER (WHERE kind = 'refund'),
                   COALESCE(sum(subtotal) FILTER (WHERE kind = 'sale'), 0), COALESCE(sum(discount_total) FILTER (WHERE kind = 'sale'), 0),
                   COALESCE(sum(total) FILTER (WHERE kind = 'refund'), 0), COALESCE(sum(total) FILTER (WHERE kind = 'sale'), 0),
                   COALESCE((SELECT sum(CASE WHEN r2.kind = 'sale' THEN (i ->> 'c')::numeric ELSE -(i ->> 'c')::numeric END)
                             FROM receipts r2 CROSS JOIN LATERAL jsonb_array_elements(r2.lines) AS i
                             WHERE r2.tenant_id = $1 AND r2.store_id = $2 AND r2.business_date = $3), 0),
                   COALESCE(sum(change_due) FILTER (WHERE kind = 'sale'), 0)
            FROM receipts WHERE tenant_id = $1 AND store_id = $2 AND business_date = $3
            """);
        var methods = new NpgsqlBatchCommand(
            """
            SELECT p.method, COALESCE(sum(p.amount) FILTER (WHERE p.kind = 'sale'), 0), COALESCE(sum(p.amount) FILTER (WHERE p.kind = 'refund'), 0)
            FROM (SELECT r.kind, x ->> 'm' AS method, (x ->> 'a')::numeric AS amount
                  FROM receipts r CROSS JOIN LATERAL jsonb_array_elements(r.payments) AS x
                  WHERE r.tenant_id = $1 AND r.store_id = $2 AND r.business_date = $3) p
            GROUP BY p.method ORDER BY p.method
            """);
        foreach (var command in new[] { head, methods })
        {
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = storeId });
            command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = date });
            batch.BatchCommands.Add(command);
        }
        await using var reader = await batch.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var (sales, refunds, gross, discounts, refundTotal, salesTotal, cost) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetDecimal(2),
            reader.GetDecimal(3), reader.GetDecimal(4), reader.GetDecimal(5), reader.GetDecimal(6));
        var change = reader.GetDecimal(7);
        await reader.NextResultAsync(ct);
        var byMethod = new List<PaymentTotal>();
        while (await reader.ReadAsync(ct))
        {
            var method = PaymentMethods.FromSql(reader.GetString(0));
            // Change is always given in cash: what the drawer kept is cash taken less change.
            var (s, r) = (reader.GetDecimal(1) - (method == PaymentMethod.Cash ? change : 0m), reader.GetDecimal(2));
            byMethod.Add(new PaymentTotal(method, s, r, s - r));
        }
        var net = salesTotal - refundTotal;
        return new DailyReport(storeId, date, (int)sales, (int)refunds, gross, discounts, refundTotal, net, byMethod,
            decimal.Round(cost, 2), net - decimal.Round(cost, 2));
    }
}
