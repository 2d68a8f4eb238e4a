-- The fence moves off the stores row into a narrow table of its own. Every ledger transaction
-- updates its stores' fence rows first; on the wide stores row that wrote a new version of the
-- name, address and settings with each commit, and a back-office edit of a store (or its soft
-- delete) locked the same row as the till's commits. A narrow row with free room on its page is a
-- cheap HOT update, and nothing but the ledger writer locks it.
-- Upgrading needs a full restart (as for this release's barcode shards): silos of the previous
-- release read the sequences from the stores row and call the functions dropped here.
CREATE TABLE store_fences (
    store_id        uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    -- Last receipt and refund sequence numbers committed, the commit count and the last commit's
    -- token (0011): what the next commit must continue from.
    receipt_seq     bigint NOT NULL DEFAULT 0,
    refund_seq      bigint NOT NULL DEFAULT 0,
    commit_version  bigint NOT NULL DEFAULT 0,
    commit_token    uuid,
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, id)
) WITH (fillfactor = 50);

INSERT INTO store_fences (store_id, tenant_id, receipt_seq, refund_seq, commit_version, commit_token)
SELECT id, tenant_id, receipt_seq, refund_seq, commit_version, commit_token FROM stores;

-- Every store gets its fence row with it, whoever creates the store (registration, the tenant
-- grain, demo data, tests).
CREATE FUNCTION store_fence_for_new_store() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO store_fences (store_id, tenant_id) VALUES (NEW.id, NEW.tenant_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER store_fence_for_new_store AFTER INSERT ON stores
    FOR EACH ROW EXECUTE FUNCTION store_fence_for_new_store();

DROP FUNCTION store_commit_fence(uuid, uuid, bigint, bigint, bigint, bigint, bigint);
DROP FUNCTION store_commit_fences(uuid[], uuid[], bigint[], bigint[], bigint[], bigint[], bigint[], bigint[], uuid[], uuid[]);
ALTER TABLE stores DROP COLUMN receipt_seq, DROP COLUMN refund_seq, DROP COLUMN commit_version, DROP COLUMN commit_token;

-- The fence of one ledger transaction (as 0011's store_commit_fences, on the narrow rows), with
-- one addition: the fence rows are locked first, in store id order. A silo's ledger writer has
-- two transactions in flight at once, and silos write concurrently; every row a ledger
-- transaction changes belongs to a store whose fence row it locked first, so locking the fences
-- in one global order leaves no deadlock path between ledger transactions. A transaction whose
-- store's previous commit is still in flight waits here for it, then sees its outcome: passes
-- after its commit, fails (JW001) after its rollback.
CREATE FUNCTION advance_store_fences(
    p_tenants uuid[], p_stores uuid[], p_versions bigint[], p_next_versions bigint[],
    p_prev_receipt_seqs bigint[], p_receipt_seqs bigint[],
    p_prev_refund_seqs bigint[], p_refund_seqs bigint[],
    p_prev_tokens uuid[], p_tokens uuid[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_count int;
BEGIN
    PERFORM 1 FROM store_fences f WHERE f.store_id = ANY(p_stores) ORDER BY f.store_id FOR UPDATE;
    UPDATE store_fences s
    SET commit_version = f.next_version, receipt_seq = f.receipt_seq, refund_seq = f.refund_seq, commit_token = f.token
    FROM unnest(p_tenants, p_stores, p_versions, p_next_versions, p_prev_receipt_seqs, p_receipt_seqs,
                p_prev_refund_seqs, p_refund_seqs, p_prev_tokens, p_tokens)
         AS f(tenant_id, store_id, version, next_version, prev_receipt_seq, receipt_seq, prev_refund_seq, refund_seq, prev_token, token)
    WHERE s.store_id = f.store_id AND s.tenant_id = f.tenant_id
      AND s.commit_version = f.version AND s.receipt_seq = f.prev_receipt_seq AND s.refund_seq = f.prev_refund_seq
      AND s.commit_token IS NOT DISTINCT FROM f.prev_token;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count <> cardinality(p_stores) THEN
        RAISE EXCEPTION 'store commit fenced: % of % stores moved on meanwhile', cardinality(p_stores) - v_count, cardinality(p_stores)
            USING ERRCODE = 'JW001';
    END IF;
END
$$;
