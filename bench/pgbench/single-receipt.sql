-- What a one-commit-per-request design does for each sale, at best, in the shape of JowiShop's
-- ledger since migrations 0015 and 0016 (docs/performance.md): the store's fence (its row of
-- store_fences updated, which numbers the receipt gaplessly), one receipt row carrying its 2 lines and 2 payments (jsonb, as
-- the ledger writes them), 2 stock-level updates, one commit, in a single statement (no extra round
-- trips). The sale spreads over the bench's first two stores, as the receipt scenarios do.
-- Run with -M prepared: the :variables become bound parameters.
\set a random(1, :nvariants)
\set b random(1, :nvariants)
\set s random(1, 2)
WITH v AS (SELECT (SELECT id FROM bench_variants WHERE n = :a) AS a, (SELECT id FROM bench_variants WHERE n = :b) AS b),
f AS (
  UPDATE store_fences SET commit_version = commit_version + 1, receipt_seq = receipt_seq + 1, commit_token = gen_random_uuid()
  WHERE tenant_id = CAST(:tenant AS uuid) AND store_id = CASE WHEN :s = 1 THEN CAST(:store AS uuid) ELSE CAST(:store2 AS uuid) END
  RETURNING store_id AS id, receipt_seq),
r AS (
  INSERT INTO receipts (id, tenant_id, store_id, terminal_id, cashier_id, kind, sequence_no, receipt_number, business_date,
                        created_at, subtotal, discount_total, total, note, request_hash, lines, payments)
  SELECT gen_random_uuid(), CAST(:tenant AS uuid), f.id, CAST(:terminal AS uuid), CAST(:cashier AS uuid), 'sale', f.receipt_seq,
         'PGB-' || f.receipt_seq, current_date, now(), 2, 0, 2, 'pgbench', '\x00'::bytea,
         jsonb_build_array(jsonb_build_object('v', v.a, 'q', 1.000, 'p', 1.00, 'd', 0.00, 't', 1.00, 'c', 1.0000),
                           jsonb_build_object('v', v.b, 'q', 1.000, 'p', 1.00, 'd', 0.00, 't', 1.00, 'c', 1.0000)),
         '[{"m": "cash", "a": 1.00}, {"m": "card", "a": 1.00}]'::jsonb
  FROM f, v)
UPDATE stock_levels SET quantity = quantity - 1, updated_at = now()
WHERE tenant_id = CAST(:tenant AS uuid) AND store_id = (SELECT id FROM f) AND variant_id IN ((SELECT a FROM v), (SELECT b FROM v));
