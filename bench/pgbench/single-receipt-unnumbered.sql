-- single-receipt.sql without the fence: receipts numbered from a free-running sequence, so 10
-- clients never wait on a store's row. Not a design JowiShop could be (numbers would not be
-- gapless per store, and nothing fences a stale writer); reported beside the fenced baseline as
-- the upper bound of the same writes, so that the ratio to it is stated too.
-- Run with -M prepared: the :variables become bound parameters.
\set a random(1, :nvariants)
\set b random(1, :nvariants)
\set s random(1, 2)
WITH v AS (SELECT (SELECT id FROM bench_variants WHERE n = :a) AS a, (SELECT id FROM bench_variants WHERE n = :b) AS b),
f AS (SELECT CASE WHEN :s = 1 THEN CAST(:store AS uuid) ELSE CAST(:store2 AS uuid) END AS id, nextval('bench_receipt_seq') AS receipt_seq),
r AS (
  INSERT INTO receipts (id, tenant_id, store_id, terminal_id, cashier_id, kind, sequence_no, receipt_number, business_date,
                        created_at, subtotal, discount_total, total, note, request_hash, lines, payments)
  SELECT gen_random_uuid(), CAST(:tenant AS uuid), f.id, CAST(:terminal AS uuid), CAST(:cashier AS uuid), 'sale', f.receipt_seq,
         'PGU-' || f.receipt_seq, current_date, now(), 2, 0, 2, 'pgbench', '\x00'::bytea,
         jsonb_build_array(jsonb_build_object('v', v.a, 'q', 1.000, 'p', 1.00, 'd', 0.00, 't', 1.00, 'c', 1.0000),
                           jsonb_build_object('v', v.b, 'q', 1.000, 'p', 1.00, 'd', 0.00, 't', 1.00, 'c', 1.0000)),
         '[{"m": "cash", "a": 1.00}, {"m": "card", "a": 1.00}]'::jsonb
  FROM f, v)
UPDATE stock_levels SET quantity = quantity - 1, updated_at = now()
WHERE tenant_id = CAST(:tenant AS uuid) AND store_id = (SELECT id FROM f) AND variant_id IN ((SELECT a FROM v), (SELECT b FROM v));
