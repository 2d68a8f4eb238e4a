-- The customers list answers with the total number of live customers. Counting them per request
-- (count(*) OVER () over the whole tenant) cost 40 ms at 50,000 customers and 230 ms under load;
-- a per-tenant counter kept by a trigger, in the same transaction as the change, is exact and O(1).
CREATE TABLE customer_counts (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
    live      bigint NOT NULL CHECK (live >= 0)
);

INSERT INTO customer_counts (tenant_id, live)
SELECT tenant_id, count(*) FROM customers WHERE deleted_at IS NULL GROUP BY tenant_id;

CREATE FUNCTION count_live_customers() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta bigint := 0;
    tenant uuid;
BEGIN
    IF TG_OP = 'INSERT' THEN
        tenant := NEW.tenant_id;
        IF NEW.deleted_at IS NULL THEN delta := 1; END IF;
    ELSIF TG_OP = 'DELETE' THEN
        tenant := OLD.tenant_id;
        IF OLD.deleted_at IS NULL THEN delta := -1; END IF;
    ELSE
        tenant := NEW.tenant_id;
        IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN delta := -1;
        ELSIF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN delta := 1;
        END IF;
    END IF;
    -- A decrement is a plain UPDATE: the row exists, and an upsert's proposed row (live = -1)
    -- would fail the CHECK before the conflict is seen.
    IF delta > 0 THEN
        INSERT INTO customer_counts AS c (tenant_id, live) VALUES (tenant, delta)
        ON CONFLICT (tenant_id) DO UPDATE SET live = c.live + EXCLUDED.live;
    ELSIF delta < 0 THEN
        UPDATE customer_counts SET live = live + delta WHERE tenant_id = tenant;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER customers_count_live
AFTER INSERT OR DELETE OR UPDATE OF deleted_at ON customers
FOR EACH ROW EXECUTE FUNCTION count_live_customers();
