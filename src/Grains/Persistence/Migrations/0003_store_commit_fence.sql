-- The fence every commit of a store grain passes through, in the same transaction as its
-- receipts and stock changes. The grain sends the commit_version it loaded (or last committed)
-- and the sequence numbers it continues from; if another activation committed meanwhile
-- (possible for a moment during a partition), the versions differ and the whole transaction
-- fails: a stale activation can never write a duplicate number, a gap or stale stock.
CREATE FUNCTION store_commit_fence(
    p_tenant uuid, p_store uuid, p_version bigint,
    p_prev_receipt_seq bigint, p_receipt_seq bigint,
    p_prev_refund_seq bigint, p_refund_seq bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_version bigint;
BEGIN
    UPDATE stores
    SET commit_version = commit_version + 1, receipt_seq = p_receipt_seq, refund_seq = p_refund_seq
    WHERE tenant_id = p_tenant AND id = p_store
      AND commit_version = p_version AND receipt_seq = p_prev_receipt_seq AND refund_seq = p_prev_refund_seq
    RETURNING commit_version INTO v_version;
    IF v_version IS NULL THEN
        RAISE EXCEPTION 'store % commit fenced: version % is stale', p_store, p_version USING ERRCODE = 'JW001';
    END IF;
    RETURN v_version;
END
$$;

-- Receipt lines and payments belong to one tenant's receipt: lookups by receipt id and by tenant.
CREATE INDEX ix_receipt_payments_tenant ON receipt_payments (tenant_id, receipt_id);

-- Stock operations other than sales, each applied once: a retried receiving, adjustment or
-- transfer with the same id is answered without moving stock again.
CREATE TABLE stock_operations (
    id          uuid NOT NULL,
    tenant_id   uuid NOT NULL,
    store_id    uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('receiving', 'adjustment', 'transfer_out', 'transfer_in')),
    reference   text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, store_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, id)
);

-- A transfer between two stores of a tenant: sent (out of the sender's batches), then received
-- (in as batches at the same costs). Between the two the stock is in transit, on this row.
CREATE TABLE stock_transfers (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL,
    from_store_id  uuid NOT NULL,
    to_store_id    uuid NOT NULL,
    lots           jsonb NOT NULL,
    sent_at        timestamptz NOT NULL,
    received_at    timestamptz,
    FOREIGN KEY (tenant_id, from_store_id) REFERENCES stores (tenant_id, id),
    FOREIGN KEY (tenant_id, to_store_id) REFERENCES stores (tenant_id, id)
);
CREATE INDEX ix_transfers_in_transit ON stock_transfers (tenant_id, to_store_id) WHERE received_at IS NULL;
