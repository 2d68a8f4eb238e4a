\set a random(1, 1960)
\set r random(1, 1000000000)
\set e :a + :k
BEGIN;
UPDATE stores SET commit_version = commit_version + 1, receipt_seq = receipt_seq + 1, commit_token = gen_random_uuid() WHERE tenant_id = CAST(:tenant AS uuid) AND id = CAST(:store AS uuid);
INSERT INTO receipts (id, tenant_id, store_id, terminal_id, cashier_id, kind, sequence_no, receipt_number, business_date, created_at, subtotal, discount_total, total, note, request_hash, lines, payments)
SELECT md5(:r::text || 'x')::uuid, CAST(:tenant AS uuid), CAST(:store AS uuid), CAST(:terminal AS uuid), CAST(:cashier AS uuid), 'sale', receipt_seq, 'R-' || receipt_seq, current_date, now(), 100, 0, 100, NULL, '\x0011223344556677889900112233445566778899001122334455667788990011'::bytea,
  (SELECT jsonb_agg(jsonb_build_object('v', b.id, 'q', 1.000, 'p', 12500.00, 'd', 0.00, 't', 12500.00, 'c', 9000.0000) ORDER BY b.n) FROM bench_variants b WHERE b.n >= CAST(:a AS bigint) AND b.n < CAST(:e AS bigint)),
  '[{"m":"cash","a":100.00},{"m":"card","a":5.00}]'::jsonb FROM stores WHERE id = CAST(:store AS uuid);
UPDATE stock_levels l SET quantity = quantity - 1, last_unit_cost = 1, updated_at = now() FROM bench_variants b WHERE b.n >= CAST(:a AS bigint) AND b.n < CAST(:e AS bigint) AND l.tenant_id = CAST(:tenant AS uuid) AND l.store_id = CAST(:store AS uuid) AND l.variant_id = b.id;
COMMIT;
