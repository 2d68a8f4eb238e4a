-- Each commit of a store leaves a random token on its row, and the next commit names the token it
-- continues from. The version alone could alias: a store grain numbers a batch from the batch before
-- it before that one has committed, so if that one fails and another activation commits once
-- meanwhile, the version and sequences can read exactly what the stale batch expects. A token is
-- never reached twice.
ALTER TABLE stores ADD COLUMN commit_token uuid;

-- The fence for one transaction of the silo's ledger writer, which writes the commits of many
-- stores together and may hold several consecutive commits of one store: one row per store, from
-- what the first commit continued from to what the last one leaves. One UPDATE for all of them;
-- if any store's row moved meanwhile (another activation committed), the whole transaction fails,
-- as with store_commit_fence (0003, kept for silos of the previous release during a rolling
-- upgrade; it leaves the token as it was, which the next fence here then refuses, and the store
-- reloads).
CREATE FUNCTION store_commit_fences(
    p_tenants uuid[], p_stores uuid[], p_versions bigint[], p_next_versions bigint[],
    p_prev_receipt_seqs bigint[], p_receipt_seqs bigint[],
    p_prev_refund_seqs bigint[], p_refund_seqs bigint[],
    p_prev_tokens uuid[], p_tokens uuid[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_count int;
BEGIN
    UPDATE stores s
    SET commit_version = f.next_version, receipt_seq = f.receipt_seq, refund_seq = f.refund_seq, commit_token = f.token
    FROM unnest(p_tenants, p_stores, p_versions, p_next_versions, p_prev_receipt_seqs, p_receipt_seqs,
                p_prev_refund_seqs, p_refund_seqs, p_prev_tokens, p_tokens)
         AS f(tenant_id, store_id, version, next_version, prev_receipt_seq, receipt_seq, prev_refund_seq, refund_seq, prev_token, token)
    WHERE s.tenant_id = f.tenant_id AND s.id = f.store_id
      AND s.commit_version = f.version AND s.receipt_seq = f.prev_receipt_seq AND s.refund_seq = f.prev_refund_seq
      AND s.commit_token IS NOT DISTINCT FROM f.prev_token;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count <> cardinality(p_stores) THEN
        RAISE EXCEPTION 'store commit fenced: % of % stores moved on meanwhile', cardinality(p_stores) - v_count, cardinality(p_stores)
            USING ERRCODE = 'JW001';
    END IF;
END
$$;
