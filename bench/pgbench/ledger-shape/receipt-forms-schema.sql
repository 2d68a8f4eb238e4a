DROP TABLE IF EXISTS rj, ra, rk;
CREATE TABLE rj (
    id uuid PRIMARY KEY, tenant_id uuid NOT NULL, store_id uuid NOT NULL, terminal_id uuid NOT NULL, cashier_id uuid NOT NULL,
    customer_id uuid, kind text NOT NULL CHECK (kind IN ('sale','refund')), refund_of uuid, sequence_no bigint NOT NULL,
    receipt_number text NOT NULL, business_date date NOT NULL, created_at timestamptz NOT NULL,
    subtotal numeric(14,2) NOT NULL, discount_total numeric(14,2) NOT NULL, total numeric(14,2) NOT NULL, change_due numeric(14,2) NOT NULL DEFAULT 0,
    note text, request_hash bytea NOT NULL,
    lines jsonb NOT NULL, payments jsonb NOT NULL,
    UNIQUE (tenant_id, store_id, receipt_number), UNIQUE (tenant_id, store_id, kind, sequence_no));
CREATE INDEX ON rj (tenant_id, store_id, created_at);
CREATE INDEX ON rj (tenant_id, customer_id, created_at) WHERE customer_id IS NOT NULL;
CREATE INDEX ON rj (refund_of) WHERE refund_of IS NOT NULL;
CREATE TABLE rk (LIKE rj INCLUDING ALL);
CREATE TABLE ra (
    id uuid PRIMARY KEY, tenant_id uuid NOT NULL, store_id uuid NOT NULL, terminal_id uuid NOT NULL, cashier_id uuid NOT NULL,
    customer_id uuid, kind text NOT NULL CHECK (kind IN ('sale','refund')), refund_of uuid, sequence_no bigint NOT NULL,
    receipt_number text NOT NULL, business_date date NOT NULL, created_at timestamptz NOT NULL,
    subtotal numeric(14,2) NOT NULL, discount_total numeric(14,2) NOT NULL, total numeric(14,2) NOT NULL, change_due numeric(14,2) NOT NULL DEFAULT 0,
    note text, request_hash bytea NOT NULL,
    line_variant uuid[] NOT NULL, line_qty numeric[] NOT NULL, line_price numeric[] NOT NULL, line_discount numeric[] NOT NULL,
    line_total numeric[] NOT NULL, line_cost numeric[] NOT NULL, pay_method text[] NOT NULL, pay_amount numeric[] NOT NULL,
    UNIQUE (tenant_id, store_id, receipt_number), UNIQUE (tenant_id, store_id, kind, sequence_no));
CREATE INDEX ON ra (tenant_id, store_id, created_at);
CREATE INDEX ON ra (tenant_id, customer_id, created_at) WHERE customer_id IS NOT NULL;
CREATE INDEX ON ra (refund_of) WHERE refund_of IS NOT NULL;
DROP SEQUENCE IF EXISTS s; CREATE SEQUENCE s;
