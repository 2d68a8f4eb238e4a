\set a random(1, 1960)
\set r random(1, 1000000000)
\set e :a + :k
BEGIN;
UPDATE stores SET commit_version = commit_version + 1, receipt_seq = receipt_seq + 1, commit_token = gen_random_uuid() WHERE tenant_id = CAST(:tenant AS uuid) AND id = CAST(:store AS uuid);
INSERT INTO receipts (id, tenant_id, store_id, terminal_id, cashier_id, kind, sequence_no, receipt_number, business_date, created_at, subtotal, discount_total, total, note, request_hash)
SELECT md5(:r::text || 'x')::uuid, CAST(:tenant AS uuid), CAST(:store AS uuid), CAST(:terminal AS uuid), CAST(:cashier AS uuid), 'sale', receipt_seq, 'R-' || receipt_seq, current_date, now(), 100, 0, 100, NULL, '\x0011223344556677889900112233445566778899001122334455667788990011'::bytea FROM stores WHERE id = CAST(:store AS uuid);
INSERT INTO receipt_items (receipt_id, line_no, tenant_id, variant_id, quantity, unit_price, discount, line_total, cost_of_goods)
SELECT md5(:r::text || 'x')::uuid, b.n - CAST(:a AS bigint) + 1, CAST(:tenant AS uuid), b.id, 1, 12500, 0, 12500, 9000 FROM bench_variants b WHERE b.n >= CAST(:a AS bigint) AND b.n < CAST(:e AS bigint);
INSERT INTO receipt_payments (receipt_id, line_no, tenant_id, method, amount) VALUES (md5(:r::text || 'x')::uuid, 1, CAST(:tenant AS uuid), 'cash', 100), (md5(:r::text || 'x')::uuid, 2, CAST(:tenant AS uuid), 'card', 5);
INSERT INTO stock_movements (tenant_id, store_id, variant_id, kind, quantity, unit_cost, receipt_id, reference, created_at)
SELECT CAST(:tenant AS uuid), CAST(:store AS uuid), b.id, 'sale', -1, 9000, md5(:r::text || 'x')::uuid, NULL, now() FROM bench_variants b WHERE b.n >= CAST(:a AS bigint) AND b.n < CAST(:e AS bigint);
UPDATE stock_batches s SET remaining_qty = remaining_qty - 1 FROM bench_variants b WHERE b.n >= CAST(:a AS bigint) AND b.n < CAST(:e AS bigint) AND s.tenant_id = CAST(:tenant AS uuid) AND s.store_id = CAST(:store AS uuid) AND s.variant_id = b.id;
INSERT INTO stock_levels (tenant_id, store_id, variant_id, quantity, last_unit_cost, updated_at)
SELECT CAST(:tenant AS uuid), CAST(:store AS uuid), b.id, 999999, 1, now() FROM bench_variants b WHERE b.n >= CAST(:a AS bigint) AND b.n < CAST(:e AS bigint)
ON CONFLICT (tenant_id, store_id, variant_id) DO UPDATE SET quantity = EXCLUDED.quantity, last_unit_cost = EXCLUDED.last_unit_cost, updated_at = now();
COMMIT;
