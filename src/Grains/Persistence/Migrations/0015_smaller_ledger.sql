-- A smaller ledger (issue 12). A sale used to write a receipt row, a row per line, a row per
-- payment, a stock movement per line, an update of every FIFO batch it drew from and an upsert of
-- every level: a 30-line sale was about 121 rows. Much of it repeats what another row says:
--
-- * Lines and payments live on the receipt row, as jsonb arrays of objects with short keys
--   (lines: v variant, q quantity, p unit price, d discount, t line total, c cost of goods;
--   payments: m method, a amount; line_no is the position, from 1). Chosen over typed arrays
--   (line_variant uuid[], line_qty numeric[], ...) after measuring both (pgbench, two rounds,
--   docs/performance.md): 2 lines, jsonb 6,401 and 5,124 TPS against arrays 5,849 and 5,464, WAL
--   1,128-1,141 against 1,056-1,111 bytes per receipt; 30 lines, arrays 4 to 8% faster (4,143 and
--   4,499 against 3,878 and 4,158 TPS) with the same WAL (about 2,400 bytes). Close enough that
--   extensibility decides: issue 13 adds VAT rate and amount, IKPU code and marking codes per
--   line, and marking codes are a list per line, which typed arrays cannot hold (they are
--   rectangular); in jsonb each is one more key, with no column per field and no change to the
--   writer's parameters.
-- * receipt_items and receipt_payments become views over the receipt rows, same columns and types.
-- * Sale movements are derived from sale lines: stock_movements becomes a view, the union of the
--   table stock_journal (every other movement: opening, receiving, adjustment, transfers, refunds)
--   and one row per sale line (quantity negative, unit_cost = cost_of_goods / quantity rounded to 4
--   places half to even, as StoreBatch.Take rounds it in C#; id NULL, reference NULL).
-- * A batch's remainder is derived: every removal takes the oldest batch first, and a batch put
--   into negative stock makes good the deficit first, so the open stock is always the newest
--   batches, full, and part of the one before: remaining = greatest(0, least(received_qty,
--   level - sum(received_qty of newer batches of the store and variant))). "Newer" is a per-store
--   FIFO sequence (fifo_seq) that the store grain assigns from the highest it loaded: UUIDv7 ids
--   are not monotonic within a millisecond and received_at can tie. stock_batches becomes a view
--   over the table stock_lots with that formula; the drawn-batch UPDATE leaves the sale's
--   transaction.
-- * Foreign keys: receipts lose (tenant_id, store_id) -> stores: the store fence updates that very
--   (tenant_id, id) row in the same transaction or raises JW001, which proves it. Kept: (tenant_id,
--   terminal_id) -> terminals (tenant isolation, one index probe per receipt), refund_of -> receipts
--   (refunds only), and the keys of stock_levels and stock_lots (written only for new rows).
--   Kept UNIQUE: the receipt id, (tenant_id, store_id, receipt_number) and (tenant_id, store_id,
--   kind, sequence_no), which the gapless numbering promise rests on.
--
-- Existing data moves into the new form and is checked: the derived lines, payments, sale
-- movements and batch remainders must equal what the old tables held, or the migration fails
-- (and rolls back) naming what differs.

-- Banker's rounding to 4 places: C#'s decimal.Round(x, 4); PostgreSQL's round() rounds half away
-- from zero, which differs on exact midpoints (0.0001 / 2).
CREATE FUNCTION ledger_unit_cost(cost numeric, quantity numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN quantity = 0 THEN NULL
        WHEN abs(cost * 10000 / quantity - trunc(cost * 10000 / quantity)) = 0.5
            THEN (trunc(cost * 10000 / quantity) + CASE WHEN mod(trunc(cost * 10000 / quantity), 2) <> 0 THEN sign(cost / quantity) ELSE 0 END) / 10000
        ELSE round(cost / quantity, 4)
    END
$$;

-- Lines and payments onto the receipt rows.
ALTER TABLE receipts ADD COLUMN lines jsonb NOT NULL DEFAULT '[]', ADD COLUMN payments jsonb NOT NULL DEFAULT '[]';
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM receipt_items GROUP BY receipt_id HAVING min(line_no) <> 1 OR max(line_no) <> count(*))
       OR EXISTS (SELECT 1 FROM receipt_payments GROUP BY receipt_id HAVING min(line_no) <> 1 OR max(line_no) <> count(*)) THEN
        RAISE EXCEPTION '0015: receipt lines or payments not numbered 1..n; line_no would not survive as a position';
    END IF;
END $$;
UPDATE receipts r SET lines = i.lines
FROM (SELECT receipt_id, jsonb_agg(jsonb_build_object('v', variant_id, 'q', quantity, 'p', unit_price, 'd', discount, 't', line_total, 'c', cost_of_goods)
                                   ORDER BY line_no) AS lines
      FROM receipt_items GROUP BY receipt_id) i
WHERE i.receipt_id = r.id;
UPDATE receipts r SET payments = p.payments
FROM (SELECT receipt_id, jsonb_agg(jsonb_build_object('m', method, 'a', amount) ORDER BY line_no) AS payments
      FROM receipt_payments GROUP BY receipt_id) p
WHERE p.receipt_id = r.id;
ALTER TABLE receipts ALTER COLUMN lines DROP DEFAULT, ALTER COLUMN payments DROP DEFAULT;

ALTER TABLE receipt_items RENAME TO receipt_items_0014;
ALTER TABLE receipt_payments RENAME TO receipt_payments_0014;

CREATE VIEW receipt_items AS
SELECT r.id AS receipt_id, l.n::int AS line_no, r.tenant_id, (l.x ->> 'v')::uuid AS variant_id,
       (l.x ->> 'q')::numeric(16, 3) AS quantity, (l.x ->> 'p')::numeric(14, 2) AS unit_price, (l.x ->> 'd')::numeric(14, 2) AS discount,
       (l.x ->> 't')::numeric(14, 2) AS line_total, (l.x ->> 'c')::numeric(24, 4) AS cost_of_goods
FROM receipts r CROSS JOIN LATERAL jsonb_array_elements(r.lines) WITH ORDINALITY AS l(x, n);

CREATE VIEW receipt_payments AS
SELECT r.id AS receipt_id, p.n::int AS line_no, r.tenant_id, p.x ->> 'm' AS method, (p.x ->> 'a')::numeric(14, 2) AS amount
FROM receipts r CROSS JOIN LATERAL jsonb_array_elements(r.payments) WITH ORDINALITY AS p(x, n);

DO $$
BEGIN
    IF EXISTS ((SELECT receipt_id, line_no, tenant_id, variant_id, quantity, unit_price, discount, line_total, cost_of_goods FROM receipt_items_0014
                EXCEPT ALL SELECT receipt_id, line_no, tenant_id, variant_id, quantity, unit_price, discount, line_total, cost_of_goods FROM receipt_items)
               UNION ALL
               (SELECT receipt_id, line_no, tenant_id, variant_id, quantity, unit_price, discount, line_total, cost_of_goods FROM receipt_items
                EXCEPT ALL SELECT receipt_id, line_no, tenant_id, variant_id, quantity, unit_price, discount, line_total, cost_of_goods FROM receipt_items_0014)) THEN
        RAISE EXCEPTION '0015: receipt lines on the receipt rows differ from receipt_items';
    END IF;
    IF EXISTS ((SELECT receipt_id, line_no, tenant_id, method, amount FROM receipt_payments_0014
                EXCEPT ALL SELECT receipt_id, line_no, tenant_id, method, amount FROM receipt_payments)
               UNION ALL
               (SELECT receipt_id, line_no, tenant_id, method, amount FROM receipt_payments
                EXCEPT ALL SELECT receipt_id, line_no, tenant_id, method, amount FROM receipt_payments_0014)) THEN
        RAISE EXCEPTION '0015: receipt payments on the receipt rows differ from receipt_payments';
    END IF;
END $$;
DROP TABLE receipt_items_0014, receipt_payments_0014;

-- The fence proves the store (above); the other keys stay.
ALTER TABLE receipts DROP CONSTRAINT receipts_tenant_id_store_id_fkey;

-- Movements: the journal keeps every movement but sales, which the receipt lines say.
ALTER TABLE stock_movements RENAME TO stock_journal;
ALTER INDEX ix_movements_store_variant RENAME TO ix_journal_store_variant;
ALTER TABLE stock_journal RENAME CONSTRAINT stock_movements_kind_check TO stock_journal_kind_check;

CREATE VIEW stock_movements AS
SELECT j.id, j.tenant_id, j.store_id, j.variant_id, j.kind, j.quantity, j.unit_cost, j.receipt_id, j.reference, j.created_at
FROM stock_journal j
UNION ALL
SELECT NULL::bigint, r.tenant_id, r.store_id, (l.x ->> 'v')::uuid, 'sale'::text, (-(l.x ->> 'q')::numeric)::numeric(16, 3),
       ledger_unit_cost((l.x ->> 'c')::numeric, (l.x ->> 'q')::numeric)::numeric(16, 4), r.id, NULL::text, r.created_at
FROM receipts r CROSS JOIN LATERAL jsonb_array_elements(r.lines) AS l(x)
WHERE r.kind = 'sale';

DO $$
BEGIN
    IF EXISTS ((SELECT tenant_id, store_id, variant_id, quantity, unit_cost, receipt_id, reference, created_at FROM stock_journal WHERE kind = 'sale'
                EXCEPT ALL SELECT tenant_id, store_id, variant_id, quantity, unit_cost, receipt_id, reference, created_at FROM stock_movements WHERE kind = 'sale' AND id IS NULL)
               UNION ALL
               (SELECT tenant_id, store_id, variant_id, quantity, unit_cost, receipt_id, reference, created_at FROM stock_movements WHERE kind = 'sale' AND id IS NULL
                EXCEPT ALL SELECT tenant_id, store_id, variant_id, quantity, unit_cost, receipt_id, reference, created_at FROM stock_journal WHERE kind = 'sale')) THEN
        RAISE EXCEPTION '0015: the sale movements derived from receipt lines differ from the stored ones';
    END IF;
END $$;
DELETE FROM stock_journal WHERE kind = 'sale';
-- A sale movement in the journal would count twice.
ALTER TABLE stock_journal ADD CONSTRAINT stock_journal_not_sale CHECK (kind <> 'sale');

-- Batches: the received facts and the FIFO sequence; the remainder follows from the level.
ALTER TABLE stock_batches RENAME TO stock_lots;
ALTER TABLE stock_lots ADD COLUMN fifo_seq bigint;
UPDATE stock_lots b SET fifo_seq = s.seq
FROM (SELECT id, row_number() OVER (PARTITION BY tenant_id, store_id ORDER BY received_at, id) AS seq FROM stock_lots) s
WHERE s.id = b.id;
ALTER TABLE stock_lots ALTER COLUMN fifo_seq SET NOT NULL;
ALTER TABLE stock_lots ADD CONSTRAINT stock_lots_fifo UNIQUE (tenant_id, store_id, fifo_seq);
DROP INDEX ix_batches_store_variant;
-- A store grain loads a variant's lots newest first and stops where the level is used up.
CREATE INDEX ix_lots_store_variant ON stock_lots (tenant_id, store_id, variant_id, fifo_seq DESC) INCLUDE (received_qty);
-- Lots are no longer updated; levels are, once per variant per commit (HOT when the page has room).
ALTER TABLE stock_lots RESET (fillfactor);
ALTER TABLE stock_levels SET (fillfactor = 85);

CREATE VIEW stock_batches AS
SELECT b.id, b.tenant_id, b.store_id, b.variant_id, b.source, b.received_qty,
       greatest(0, least(b.received_qty, COALESCE(l.quantity, 0) - COALESCE(sum(b.received_qty) OVER newer, 0)))::numeric(16, 3) AS remaining_qty,
       b.unit_cost, b.supplier_ref, b.received_at, b.fifo_seq
FROM stock_lots b
LEFT JOIN stock_levels l ON l.tenant_id = b.tenant_id AND l.store_id = b.store_id AND l.variant_id = b.variant_id
WINDOW newer AS (PARTITION BY b.tenant_id, b.store_id, b.variant_id ORDER BY b.fifo_seq DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING);

DO $$
DECLARE
    differing bigint;
BEGIN
    SELECT count(*) INTO differing FROM stock_lots o JOIN stock_batches d USING (id) WHERE o.remaining_qty <> d.remaining_qty;
    IF differing > 0 THEN
        RAISE EXCEPTION '0015: % batch remainders differ from the FIFO formula (batches received at the same instant, or levels and batches disagree)', differing;
    END IF;
END $$;
ALTER TABLE stock_lots DROP COLUMN remaining_qty;
