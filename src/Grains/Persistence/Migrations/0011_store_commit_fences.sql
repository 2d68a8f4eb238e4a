-- The fence for one transaction of the silo's ledger writer, which writes the commits of many
-- stores together and may hold several consecutive commits of one store: one row per store, the
-- version moving from what the first commit continued from to what the last one leaves. One
-- UPDATE for all of them; if any store's row moved meanwhile (another activation committed), the
-- whole transaction fails, exactly as with store_commit_fence (0003, kept for silos of the
-- previous release during a rolling upgrade).
CREATE FUNCTION store_commit_fences(
    p_tenants uuid[], p_stores uuid[], p_versions bigint[], p_next_versions bigint[],
    p_prev_receipt_seqs bigint[], p_receipt_seqs bigint[],
    p_prev_refund_seqs bigint[], p_refund_seqs bigint[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_count int;
BEGIN
    UPDATE stores s
    SET commit_version = f.next_version, receipt_seq = f.receipt_seq, refund_seq = f.refund_seq
    FROM unnest(p_tenants, p_stores, p_versions, p_next_versions, p_prev_receipt_seqs, p_receipt_seqs, p_prev_refund_seqs, p_refund_seqs)
         AS f(tenant_id, store_id, version, next_version, prev_receipt_seq, receipt_seq, prev_refund_seq, refund_seq)
    WHERE s.tenant_id = f.tenant_id AND s.id = f.store_id
      AND s.commit_version = f.version AND s.receipt_seq = f.prev_receipt_seq AND s.refund_seq = f.prev_refund_seq;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count <> cardinality(p_stores) THEN
        RAISE EXCEPTION 'store commit fenced: % of % stores moved on meanwhile', cardinality(p_stores) - v_count, cardinality(p_stores)
            USING ERRCODE = 'JW001';
    END IF;
END
$$;
