-- Every receipt commit writes its lines, payments and the FIFO batches it draws from; on the
-- 2-core benchmark machine PostgreSQL's CPU per receipt is what limits receipts a second, and
-- each index is paid on every row (docs/performance.md).
-- * Lines by variant: no query reads them (reports by variant would add it back, concurrently).
DROP INDEX ix_receipt_items_variant;
-- * Payments by (tenant, receipt): the primary key (receipt_id, line_no) already finds a receipt's
--   payments; every query also filters by tenant on the rows.
DROP INDEX ix_receipt_payments_tenant;
-- * Open batches: the partial predicate (remaining_qty > 0) made every draw from a batch a
--   non-HOT update writing both indexes again. Without it (and with room on the page) a draw
--   is a HOT update; exhausted batches stay in the index, read once per variant per store
--   grain activation and filtered there.
DROP INDEX ix_batches_open;
CREATE INDEX ix_batches_store_variant ON stock_batches (tenant_id, store_id, variant_id, received_at);
ALTER TABLE stock_batches SET (fillfactor = 85);
