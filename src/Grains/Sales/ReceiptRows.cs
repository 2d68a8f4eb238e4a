using JowiShop.Grains.Persistence;
using JowiShop.Grains.Abstractions.Sales;
using Npgsql;

namespace JowiShop.Grains.Sales;

/// <summary>Reads committed receipts (with lines and payments) back: replays and GET /receipts.</summary>
public static class ReceiptRows
{
    public sealed record Stored(Receipt Receipt, byte[] RequestHash, Guid TenantId);

    /// <summary>The receipts with these ids in this tenant (any store), with their request hashes.</summary>
    public static async Task<Dictionary<Guid, Stored>> LoadAsync(NpgsqlDataSource db, Guid tenantId, IReadOnlyCollection<Guid> ids, CancellationToken ct = default)
    {
        var result = new Dictionary<Guid, Stored>();
        if (ids.Count == 0)
            return result;
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(Sql.Command(
            """
            SELECT id, receipt_number, kind, store_id, terminal_id, cashier_id, customer_id, refund_of, created_at, business_date,
                   subtotal, discount_total, total, change_due, note, sequence_no, request_hash
            FROM receipts WHERE tenant_id = $1 AND id = ANY($2)
            """, tenantId, ids.ToArray()));
        batch.BatchCommands.Add(Sql.Command(
            "SELECT receipt_id, line_no, variant_id, quantity, unit_price, discount, line_total, cost_of_goods FROM receipt_items WHERE receipt_id = ANY($2) AND tenant_id = $1 ORDER BY receipt_id, line_no",
            tenantId, ids.ToArray()));
        batch.BatchCommands.Add(Sql.Command(
            "SELECT receipt_id, method, amount FROM receipt_payments WHERE receipt_id = ANY($2) AND tenant_id = $1 ORDER BY receipt_id, line_no",
            tenantId, ids.ToArray()));
        await using var reader = await batch.ExecuteReaderAsync(ct);

        var heads = new List<(Receipt Receipt, byte[] Hash)>();
        while (await reader.ReadAsync(ct))
        {
            heads.Add((new Receipt(
                reader.GetGuid(0), reader.GetString(1), reader.GetString(2) == "refund" ? ReceiptKind.Refund : ReceiptKind.Sale,
                reader.GetGuid(3), reader.GetGuid(4), reader.GetGuid(5),
                reader.IsDBNull(6) ? null : reader.GetGuid(6), reader.IsDBNull(7) ? null : reader.GetGuid(7),
                reader.GetFieldValue<DateTimeOffset>(8), reader.GetFieldValue<DateOnly>(9), [],
                reader.GetDecimal(10), reader.GetDecimal(11), reader.GetDecimal(12), [], reader.GetDecimal(13),
                reader.IsDBNull(14) ? null : reader.GetString(14), reader.GetInt64(15)), reader.GetFieldValue<byte[]>(16)));
        }

        await reader.NextResultAsync(ct);
        var lines = new Dictionary<Guid, List<ReceiptLine>>();
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetGuid(0);
            if (!lines.TryGetValue(id, out var list))
                lines[id] = list = [];
            list.Add(new ReceiptLine(reader.GetInt32(1), reader.GetGuid(2), reader.GetDecimal(3), reader.GetDecimal(4),
                reader.GetDecimal(5), reader.GetDecimal(6), reader.GetDecimal(7)));
        }

        await reader.NextResultAsync(ct);
        var payments = new Dictionary<Guid, List<Payment>>();
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetGuid(0);
            if (!payments.TryGetValue(id, out var list))
                payments[id] = list = [];
            list.Add(new Payment(PaymentMethods.FromSql(reader.GetString(1)), reader.GetDecimal(2)));
        }

        foreach (var (receipt, hash) in heads)
            result[receipt.Id] = new Stored(
                receipt with { Items = lines.GetValueOrDefault(receipt.Id) ?? [], Payments = payments.GetValueOrDefault(receipt.Id) ?? [] },
                hash, tenantId);
        return result;
    }

}

public static class PaymentMethods
{
    public static string ToSql(this PaymentMethod method) => method switch
    {
        PaymentMethod.Cash => "cash",
        PaymentMethod.Card => "card",
        PaymentMethod.Transfer => "transfer",
        _ => "other",
    };

    public static PaymentMethod FromSql(string method) => method switch
    {
        "cash" => PaymentMethod.Cash,
        "card" => PaymentMethod.Card,
        "transfer" => PaymentMethod.Transfer,
        _ => PaymentMethod.Other,
    };
}
