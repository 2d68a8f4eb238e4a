using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Grains.Persistence;
using Npgsql;

namespace JowiShop.Grains.Sales;

/// <summary>The rows a ledger transaction writes, as SQL: each table's statement, for many stores' commits at once.</summary>
public static class LedgerStatements
{
    /// <summary>
    /// The statements of one ledger transaction, one per table for all the commits in it: fences,
    /// receipts, lines, payments, operations, movements, batches, levels.
    /// </summary>
    public static void Add(NpgsqlBatch batch, List<StoreCommit> commits)
    {
        // One fence row per store, first (migration 0016): a store's consecutive commits here chain (see Chains).
        var fences = commits.GroupBy(c => (c.TenantId, c.StoreId))
            .Select(g => (g.Key.TenantId, g.Key.StoreId, First: g.First().Fence, Last: g.Last().Fence)).ToArray();
        batch.BatchCommands.Add(Sql.Command("SELECT advance_store_fences($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            fences.Select(f => f.TenantId).ToArray(), fences.Select(f => f.StoreId).ToArray(),
            fences.Select(f => f.First.Version).ToArray(), fences.Select(f => f.Last.Version + 1).ToArray(),
            fences.Select(f => f.First.PreviousReceiptSeq).ToArray(), fences.Select(f => f.Last.ReceiptSeq).ToArray(),
            fences.Select(f => f.First.PreviousRefundSeq).ToArray(), fences.Select(f => f.Last.RefundSeq).ToArray(),
            fences.Select(f => f.First.PreviousToken).ToArray(), fences.Select(f => f.Last.Token).ToArray()));

        var receipts = commits.SelectMany(c => c.Receipts.Select(r => (c.TenantId, r.Receipt, r.RequestHash))).ToArray();
        if (receipts.Length > 0)
        {
            batch.BatchCommands.Add(Sql.Command(
                """
                INSERT INTO receipts (id, tenant_id, store_id, terminal_id, cashier_id, customer_id, kind, refund_of, sequence_no, receipt_number,
                                      business_date, created_at, subtotal, discount_total, total, change_due, note, request_hash)
                SELECT r.id, r.tenant_id, r.store_id, r.terminal_id, r.cashier_id, r.customer_id, r.kind, r.refund_of, r.seq, r.number,
                       r.business_date, r.created_at, r.subtotal, r.discount_total, r.total, r.change_due, r.note, r.hash
                FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[], $8::uuid[], $9::bigint[], $10::text[],
                            $11::date[], $12::timestamptz[], $13::numeric[], $14::numeric[], $15::numeric[], $16::numeric[], $17::text[], $18::bytea[])
                     AS r(id, tenant_id, store_id, terminal_id, cashier_id, customer_id, kind, refund_of, seq, number, business_date, created_at,
                          subtotal, discount_total, total, change_due, note, hash)
                """,
                receipts.Select(x => x.Receipt.Id).ToArray(), receipts.Select(x => x.TenantId).ToArray(), receipts.Select(x => x.Receipt.StoreId).ToArray(),
                receipts.Select(x => x.Receipt.TerminalId).ToArray(), receipts.Select(x => x.Receipt.CashierId).ToArray(),
                receipts.Select(x => x.Receipt.CustomerId).ToArray(), receipts.Select(x => x.Receipt.Kind == ReceiptKind.Refund ? "refund" : "sale").ToArray(),
                receipts.Select(x => x.Receipt.RefundOf).ToArray(), receipts.Select(x => x.Receipt.SequenceNo).ToArray(),
                receipts.Select(x => x.Receipt.ReceiptNumber).ToArray(), receipts.Select(x => x.Receipt.BusinessDate).ToArray(),
                receipts.Select(x => x.Receipt.CreatedAt).ToArray(), receipts.Select(x => x.Receipt.Subtotal).ToArray(),
                receipts.Select(x => x.Receipt.DiscountTotal).ToArray(), receipts.Select(x => x.Receipt.Total).ToArray(),
                receipts.Select(x => x.Receipt.Change).ToArray(), receipts.Select(x => x.Receipt.Note).ToArray(),
                receipts.Select(x => x.RequestHash).ToArray()));

            var items = receipts.SelectMany(x => x.Receipt.Items.Select(i => (x.TenantId, ReceiptId: x.Receipt.Id, Item: i))).ToArray();
            batch.BatchCommands.Add(Sql.Command(
                """
                INSERT INTO receipt_items (receipt_id, line_no, tenant_id, variant_id, quantity, unit_price, discount, line_total, cost_of_goods)
                SELECT i.receipt_id, i.line_no, i.tenant_id, i.variant_id, i.quantity, i.unit_price, i.discount, i.line_total, i.cost
                FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::uuid[], $5::numeric[], $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[])
                     AS i(receipt_id, line_no, tenant_id, variant_id, quantity, unit_price, discount, line_total, cost)
                """,
                items.Select(x => x.ReceiptId).ToArray(), items.Select(x => x.Item.LineNo).ToArray(), items.Select(x => x.TenantId).ToArray(),
                items.Select(x => x.Item.VariantId).ToArray(), items.Select(x => x.Item.Quantity).ToArray(),
                items.Select(x => x.Item.UnitPrice).ToArray(), items.Select(x => x.Item.Discount).ToArray(),
                items.Select(x => x.Item.LineTotal).ToArray(), items.Select(x => x.Item.CostOfGoods).ToArray()));

            var payments = receipts.SelectMany(x => x.Receipt.Payments.Select((p, n) => (x.TenantId, ReceiptId: x.Receipt.Id, LineNo: n + 1, Payment: p))).ToArray();
            if (payments.Length > 0)
                batch.BatchCommands.Add(Sql.Command(
                    """
                    INSERT INTO receipt_payments (receipt_id, line_no, tenant_id, method, amount)
                    SELECT p.receipt_id, p.line_no, p.tenant_id, p.method, p.amount
                    FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::text[], $5::numeric[]) AS p(receipt_id, line_no, tenant_id, method, amount)
                    """,
                    payments.Select(x => x.ReceiptId).ToArray(), payments.Select(x => x.LineNo).ToArray(), payments.Select(x => x.TenantId).ToArray(),
                    payments.Select(x => x.Payment.Method.ToSql()).ToArray(), payments.Select(x => x.Payment.Amount).ToArray()));
        }

        var operations = commits.SelectMany(c => c.Operations.Select(o => (c.TenantId, c.StoreId, Operation: o))).ToArray();
        if (operations.Length > 0)
            batch.BatchCommands.Add(Sql.Command(
                """
                INSERT INTO stock_operations (id, tenant_id, store_id, kind, reference, request_hash, actor_id)
                SELECT o.id, o.tenant_id, o.store_id, o.kind, o.reference, o.hash, o.actor
                FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::bytea[], $7::uuid[])
                     AS o(id, tenant_id, store_id, kind, reference, hash, actor)
                """,
                operations.Select(x => x.Operation.Id).ToArray(), operations.Select(x => x.TenantId).ToArray(), operations.Select(x => x.StoreId).ToArray(),
                operations.Select(x => x.Operation.Kind).ToArray(), operations.Select(x => x.Operation.Reference).ToArray(),
                operations.Select(x => x.Operation.RequestHash).ToArray(), operations.Select(x => x.Operation.ActorId).ToArray()));

        var movements = commits.SelectMany(c => c.Movements.Select(m => (c.TenantId, c.StoreId, Movement: m))).ToArray();
        if (movements.Length > 0)
            batch.BatchCommands.Add(Sql.Command(
                """
                INSERT INTO stock_movements (tenant_id, store_id, variant_id, kind, quantity, unit_cost, receipt_id, reference, created_at)
                SELECT m.tenant_id, m.store_id, m.variant_id, m.kind, m.quantity, m.unit_cost, m.receipt_id, m.reference, m.created_at
                FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::numeric[], $6::numeric[], $7::uuid[], $8::text[], $9::timestamptz[])
                     AS m(tenant_id, store_id, variant_id, kind, quantity, unit_cost, receipt_id, reference, created_at)
                """,
                movements.Select(x => x.TenantId).ToArray(), movements.Select(x => x.StoreId).ToArray(),
                movements.Select(x => x.Movement.VariantId).ToArray(), movements.Select(x => x.Movement.Kind).ToArray(),
                movements.Select(x => x.Movement.Quantity).ToArray(), movements.Select(x => x.Movement.UnitCost).ToArray(),
                movements.Select(x => x.Movement.ReceiptId).ToArray(), movements.Select(x => x.Movement.Reference).ToArray(),
                movements.Select(x => x.Movement.At).ToArray()));

        var newBatches = commits.SelectMany(c => c.NewBatches.Select(b => (c.TenantId, c.StoreId, New: b))).ToArray();
        if (newBatches.Length > 0)
            batch.BatchCommands.Add(Sql.Command(
                """
                INSERT INTO stock_batches (id, tenant_id, store_id, variant_id, source, received_qty, remaining_qty, unit_cost, supplier_ref, received_at)
                SELECT b.id, b.tenant_id, b.store_id, b.variant_id, b.source, b.received, b.remaining, b.unit_cost, b.reference, b.received_at
                FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::numeric[], $7::numeric[], $8::numeric[], $9::text[], $10::timestamptz[])
                     AS b(id, tenant_id, store_id, variant_id, source, received, remaining, unit_cost, reference, received_at)
                """,
                newBatches.Select(x => x.New.Batch.Id).ToArray(), newBatches.Select(x => x.TenantId).ToArray(), newBatches.Select(x => x.StoreId).ToArray(),
                newBatches.Select(x => x.New.VariantId).ToArray(), newBatches.Select(x => x.New.Source).ToArray(),
                newBatches.Select(x => x.New.Received).ToArray(), newBatches.Select(x => x.New.Batch.Remaining).ToArray(),
                newBatches.Select(x => x.New.Batch.UnitCost).ToArray(), newBatches.Select(x => x.New.Reference).ToArray(),
                newBatches.Select(x => x.New.At).ToArray()));

        // One store's consecutive commits may share the transaction: a batch or a level touched by
        // several of them is written once, as the last one left it.
        var drawn = commits.SelectMany(c => c.DrawnBatches).Reverse().DistinctBy(b => b.Id).ToArray();
        if (drawn.Length > 0)
            batch.BatchCommands.Add(Sql.Command(
                "UPDATE stock_batches b SET remaining_qty = u.remaining FROM unnest($1::uuid[], $2::numeric[]) AS u(id, remaining) WHERE b.id = u.id",
                drawn.Select(b => b.Id).ToArray(), drawn.Select(b => b.Remaining).ToArray()));

        var levels = commits.SelectMany(c => c.Levels.Select(l => (c.TenantId, c.StoreId, Level: l))).Reverse()
            .DistinctBy(x => (x.StoreId, x.Level.VariantId)).ToArray();
        if (levels.Length > 0)
            batch.BatchCommands.Add(Sql.Command(
                """
                INSERT INTO stock_levels (tenant_id, store_id, variant_id, quantity, last_unit_cost, updated_at)
                SELECT s.tenant_id, s.store_id, s.variant_id, s.quantity, s.last_unit_cost, now()
                FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::numeric[], $5::numeric[]) AS s(tenant_id, store_id, variant_id, quantity, last_unit_cost)
                ON CONFLICT (tenant_id, store_id, variant_id)
                DO UPDATE SET quantity = EXCLUDED.quantity, last_unit_cost = EXCLUDED.last_unit_cost, updated_at = now()
                """,
                levels.Select(x => x.TenantId).ToArray(), levels.Select(x => x.StoreId).ToArray(), levels.Select(x => x.Level.VariantId).ToArray(),
                levels.Select(x => x.Level.Quantity).ToArray(), levels.Select(x => x.Level.LastUnitCost).ToArray()));

        foreach (var statement in commits.SelectMany(c => c.Extra))
            batch.BatchCommands.Add(Sql.Command(statement.Sql, statement.Values));
    }
}
