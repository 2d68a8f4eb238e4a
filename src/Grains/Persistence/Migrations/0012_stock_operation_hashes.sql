-- Exactly once, for every write that takes an id. A stock operation's id (receiving, adjustment,
-- transfer) names one request: a replay of the id is answered as the original only when it is
-- the same request (the API's SHA-256 of the canonical validated request, store ids included),
-- and a transfer's stores are the ones its first request named.
--
-- Rows written before this migration have no hash (NULL): their replays are judged by store and
-- kind alone, as before, and they are not held to the one-operation-per-id index below (the bug
-- this fixes could have left an id at two stores).
ALTER TABLE stock_operations ADD COLUMN request_hash bytea;
ALTER TABLE stock_transfers ADD COLUMN request_hash bytea;

-- One operation per id: a receiving, an adjustment or a transfer's sending leg is one row; a
-- transfer's receiving leg is one more (at the store it was sent to, below). The primary key
-- (id, store_id) alone let the same id be used again at another store, or for another kind.
CREATE UNIQUE INDEX ux_stock_operations_one_per_id ON stock_operations (id, (kind = 'transfer_in'))
    WHERE request_hash IS NOT NULL;

-- A transfer's row names the sending leg it was written with (the same id, at its from-store).
-- NOT VALID: rows already there are not re-checked (each was written with its sending leg).
ALTER TABLE stock_transfers ADD CONSTRAINT stock_transfers_sending_leg_fkey
    FOREIGN KEY (id, from_store_id) REFERENCES stock_operations (id, store_id) NOT VALID;

-- A transfer's receiving leg books only at the store the transfer was sent to: otherwise the
-- insert fails with SQLSTATE JW002 and the whole commit rolls back.
CREATE FUNCTION stock_transfer_in_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM stock_transfers t
                   WHERE t.id = NEW.id AND t.tenant_id = NEW.tenant_id AND t.to_store_id = NEW.store_id) THEN
        RAISE EXCEPTION 'transfer % was not sent to store %', NEW.id, NEW.store_id USING ERRCODE = 'JW002';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER stock_operations_transfer_in_check BEFORE INSERT ON stock_operations
    FOR EACH ROW WHEN (NEW.kind = 'transfer_in') EXECUTE FUNCTION stock_transfer_in_check();
