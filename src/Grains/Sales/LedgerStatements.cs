using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Grains.Persistence;
using Npgsql;

namespace JowiShop.Grains.Sales;

/// <summary>The rows a ledger transaction writes, as SQL: each table's statement, for many stores' commits at once.</summary>
public static class LedgerStatements
{
    /// <summary>
    /// The statements of one ledger transaction, one per table for all the commits in it: fences,
    /// receipts (with their lines and payments), operations, movements other than sales, new
    /// batches, levels (an UPDATE of the rows that exist, an INSERT of the new ones).
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

        // The store is the commit's, the one its fence checked (0015 dropped the receipts' key to stores on that ground).
        var receipts = commits.SelectMany(c => c.Receipts.Select(r => (c.TenantId, c.StoreId, r.Receipt, r.RequestHash))).ToArray();
        if (receipts.Length > 0)
            batch.BatchCommands.Add(Sql.Command(
                """
                INSERT INTO receipts (id, tenant_id, store_id, terminal_id, cashier_id, customer_id, kind, refund_of, sequence_no, receipt_number,
                                      business_date, created_at, subtotal, discount_total, total, change_due, note, request_hash, lines, payments)
                SELECT r.id, r.tenant_id, r.store_id, r.terminal_id, r.cashier_id, r.customer_id, r.kind, r.refund_of, r.seq, r.number,
                       r.business_date, r.created_at, r.subtotal, r.discount_total, r.total, r.change_due, r.note, r.hash, r.lines::jsonb, r.payments::jsonb
                FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[], $8::uuid[], $9::bigint[], $10::text[],
                            $11::date[], $12::timestamptz[], $13::numeric[], $14::numeric[], $15::numeric[], $16::numeric[], $17::text[], $18::bytea[],
                            $19::text[], $20::text[])
                     AS r(id, tenant_id, store_id, terminal_id, cashier_id, customer_id, kind, refund_of, seq, number, business_date, created_at,
                          subtotal, discount_total, total, change_due, note, hash, lines, payments)
                """,
                receipts.Select(x => x.Receipt.Id).ToArray(), receipts.Select(x => x.TenantId).ToArray(), receipts.Select(x => x.StoreId).ToArray(),
                receipts.Select(x => x.Receipt.TerminalId).ToArray(), receipts.Select(x => x.Receipt.CashierId).ToArray(),
                receipts.Select(x => x.Receipt.CustomerId).ToArray(), receipts.Select(x => x.Receipt.Kind == ReceiptKind.Refund ? "refund" : "sale").ToArray(),
                receipts.Select(x => x.Receipt.RefundOf).ToArray(), receipts.Select(x => x.Receipt.SequenceNo).ToArray(),
                receipts.Select(x => x.Receipt.ReceiptNumber).ToArray(), receipts.Select(x => x.Receipt.BusinessDate).ToArray(),
                receipts.Select(x => x.Receipt.CreatedAt).ToArray(), receipts.Select(x => x.Receipt.Subtotal).ToArray(),
                receipts.Select(x => x.Receipt.DiscountTotal).ToArray(), receipts.Select(x => x.Receipt.Total).ToArray(),
                receipts.Select(x => x.Receipt.Change).ToArray(), receipts.Select(x => x.Receipt.Note).ToArray(),
                receipts.Select(x => x.RequestHash).ToArray(),
                receipts.Select(x => ReceiptRows.LinesJson(x.Receipt.Items)).ToArray(),
                receipts.Select(x => ReceiptRows.PaymentsJson(x.Receipt.Payments)).ToArray()));

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
                INSERT INTO stock_journal (tenant_id, store_id, variant_id, kind, quantity, unit_cost, receipt_id, reference, created_at)
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
                INSERT INTO stock_lots (id, tenant_id, store_id, variant_id, source, received_qty, unit_cost, supplier_ref, received_at, fifo_seq)
                SELECT b.id, b.tenant_id, b.store_id, b.variant_id, b.source, b.received, b.unit_cost, b.reference, b.received_at, b.seq
                FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::numeric[], $7::numeric[], $8::text[], $9::timestamptz[], $10::bigint[])
                     AS b(id, tenant_id, store_id, variant_id, source, received, unit_cost, reference, received_at, seq)
                """,
                newBatches.Select(x => x.New.Batch.Id).ToArray(), newBatches.Select(x => x.TenantId).ToArray(), newBatches.Select(x => x.StoreId).ToArray(),
                newBatches.Select(x => x.New.VariantId).ToArray(), newBatches.Select(x => x.New.Source).ToArray(),
                newBatches.Select(x => x.New.Received).ToArray(), newBatches.Select(x => x.New.Batch.UnitCost).ToArray(),
                newBatches.Select(x => x.New.Reference).ToArray(), newBatches.Select(x => x.New.At).ToArray(),
                newBatches.Select(x => x.New.Batch.Seq).ToArray()));

        // One store's consecutive commits may share the transaction: a level touched by several of
        // them is written once, as the last one left it, and is new if the first one created it.
        var levels = commits.SelectMany(c => c.Levels.Select(l => (c.TenantId, c.StoreId, Level: l)))
            .GroupBy(x => (x.StoreId, x.Level.VariantId))
            .Select(g => (g.Last().TenantId, g.Last().StoreId, Level: g.Last().Level with { IsNew = g.First().Level.IsNew })).ToArray();
        var updated = levels.Where(x => !x.Level.IsNew).ToArray();
        if (updated.Length > 0)
            batch.BatchCommands.Add(Sql.Command(
                """
                WITH changed AS (
                    UPDATE stock_levels l SET quantity = s.quantity, last_unit_cost = s.last_unit_cost, updated_at = now()
                    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::numeric[], $5::numeric[]) AS s(tenant_id, store_id, variant_id, quantity, last_unit_cost)
                    WHERE l.tenant_id = s.tenant_id AND l.store_id = s.store_id AND l.variant_id = s.variant_id
                    RETURNING 1)
                -- Every level the grain knows to exist must be there (0017).
                SELECT ledger_expect_rows((SELECT count(*) FROM changed), cardinality($1::uuid[]), 'stock level update')
                """,
                updated.Select(x => x.TenantId).ToArray(), updated.Select(x => x.StoreId).ToArray(), updated.Select(x => x.Level.VariantId).ToArray(),
                updated.Select(x => x.Level.Quantity).ToArray(), updated.Select(x => x.Level.LastUnitCost).ToArray()));
        var inserted = levels.Where(x => x.Level.IsNew).ToArray();
        if (inserted.Length > 0)
            batch.BatchCommands.Add(Sql.Command(
                """
                INSERT INTO stock_levels (tenant_id, store_id, variant_id, quantity, last_unit_cost, updated_at)
                SELECT s.tenant_id, s.store_id, s.variant_id, s.quantity, s.last_unit_cost, now()
                FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::numeric[], $5::numeric[]) AS s(tenant_id, store_id, variant_id, quantity, last_unit_cost)
                """,
                inserted.Select(x => x.TenantId).ToArray(), inserted.Select(x => x.StoreId).ToArray(), inserted.Select(x => x.Level.VariantId).ToArray(),
                inserted.Select(x => x.Level.Quantity).ToArray(), inserted.Select(x => x.Level.LastUnitCost).ToArray()));

        foreach (var statement in commits.SelectMany(c => c.Extra))
            batch.BatchCommands.Add(Sql.Command(statement.Sql, statement.Values));
    }
}
