-- What a one-commit-per-request design does for each sale, at best: one receipt with 2 lines and
-- 2 payments, 2 stock decrements, one commit, in a single statement (no extra round trips).
-- Run with -M prepared: the :variables become bound parameters.
\set a random(1, :nvariants)
\set b random(1, :nvariants)
WITH v AS (SELECT (SELECT id FROM bench_variants WHERE n = :a) AS a, (SELECT id FROM bench_variants WHERE n = :b) AS b),
r AS (
  INSERT INTO receipts (id, tenant_id, store_id, terminal_id, cashier_id, kind, sequence_no, receipt_number, business_date,
                        created_at, subtotal, discount_total, total, note, request_hash)
  SELECT gen_random_uuid(), CAST(:tenant AS uuid), CAST(:store AS uuid), CAST(:terminal AS uuid), CAST(:cashier AS uuid), 'sale', s, 'PGB-' || s, current_date, now(), 2, 0, 2, 'pgbench', '\x00'::bytea
  FROM (SELECT nextval('bench_receipt_seq') AS s) seq
  RETURNING id),
i AS (
  INSERT INTO receipt_items (receipt_id, line_no, tenant_id, variant_id, quantity, unit_price, discount, line_total, cost_of_goods)
  SELECT r.id, x.n, CAST(:tenant AS uuid), x.v, 1, 1, 0, 1, 1 FROM r, v, LATERAL (VALUES (1, v.a), (2, v.b)) AS x(n, v)),
p AS (
  INSERT INTO receipt_payments (receipt_id, line_no, tenant_id, method, amount)
  SELECT r.id, x.n, CAST(:tenant AS uuid), x.m, 1 FROM r, LATERAL (VALUES (1, 'cash'), (2, 'card')) AS x(n, m))
UPDATE stock_levels SET quantity = quantity - 1
WHERE tenant_id = CAST(:tenant AS uuid) AND store_id = CAST(:store AS uuid) AND variant_id IN ((SELECT a FROM v), (SELECT b FROM v));
