-- The audit trail (issue 11): who did what, append-only, each entry written in the transaction of
-- the change it records (or, for sales-side facts, by a trigger on the row itself).
CREATE TABLE audit_log (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    -- The signed-in user who acted; null when nobody was (a failed login).
    actor_id      uuid,
    action        text NOT NULL CHECK (action ~ '^[a-z]+(_[a-z]+)*\.[a-z]+(_[a-z]+)*$'),
    subject_type  text,
    subject_id    uuid,
    store_id      uuid,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb
);
-- Newest first per tenant, paged by seq (GET /api/v1/audit); filters narrow the same walk.
CREATE INDEX ix_audit_log_tenant ON audit_log (tenant_id, seq DESC);
CREATE INDEX ix_audit_log_subject ON audit_log (tenant_id, subject_id, seq DESC) WHERE subject_id IS NOT NULL;

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Refunds and discounted sales are written by the ledger writer, many stores per transaction: a
-- row trigger records them in that same transaction without touching the hot path of the sales
-- that carry no discount (the WHEN clause is checked before any function call).
CREATE FUNCTION audit_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (tenant_id, at, actor_id, action, subject_type, subject_id, store_id, details)
    VALUES (NEW.tenant_id, NEW.created_at, NEW.cashier_id,
            CASE WHEN NEW.kind = 'refund' THEN 'receipt.refunded' ELSE 'receipt.discounted' END,
            'receipt', NEW.id, NEW.store_id,
            jsonb_build_object('receiptNumber', NEW.receipt_number, 'refundOf', NEW.refund_of, 'subtotal', NEW.subtotal,
                               'discountTotal', NEW.discount_total, 'total', NEW.total));
    RETURN NULL;
END $$;
CREATE TRIGGER audit_receipt AFTER INSERT ON receipts
    FOR EACH ROW WHEN (NEW.kind = 'refund' OR NEW.discount_total > 0) EXECUTE FUNCTION audit_receipt();

-- Stock operations (receivings, adjustments, transfers) carry who asked for them; the operation
-- row is written in the ledger writer's transaction with its stock changes, and so is its entry.
ALTER TABLE stock_operations ADD COLUMN actor_id uuid;

CREATE FUNCTION audit_stock_operation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (tenant_id, actor_id, action, subject_type, subject_id, store_id, details)
    VALUES (NEW.tenant_id, NEW.actor_id,
            CASE NEW.kind WHEN 'receiving' THEN 'stock.received' WHEN 'adjustment' THEN 'stock.adjusted'
                          WHEN 'transfer_out' THEN 'stock.transfer_sent' ELSE 'stock.transfer_received' END,
            'stock_operation', NEW.id, NEW.store_id, jsonb_build_object('reference', NEW.reference));
    RETURN NULL;
END $$;
CREATE TRIGGER audit_stock_operation AFTER INSERT ON stock_operations
    FOR EACH ROW EXECUTE FUNCTION audit_stock_operation();
