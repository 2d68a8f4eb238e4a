-- JowiShop domain schema, version 1.
-- Every row carries tenant_id; entity tables soft-delete with deleted_at and their
-- lookup indexes are tenant-scoped and partial (WHERE deleted_at IS NULL) so that
-- deleted rows cost nothing at lookup time. Ledger tables (receipts, their lines and
-- payments, stock movements) are append-only and never deleted: a sale is undone by a refund.

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    tenant_id   uuid GENERATED ALWAYS AS (id) STORED,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);

CREATE TABLE stores (
    id                   uuid PRIMARY KEY,
    tenant_id            uuid NOT NULL REFERENCES tenants (id),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    address              text,
    phone                text,
    -- NULL: the tenant's default time zone and negative-stock policy apply.
    time_zone            text,
    allow_negative_stock boolean,
    -- Last receipt and refund sequence numbers committed, and a fence that every
    -- commit of the store's grain checks and bumps (see docs/receipts.md).
    receipt_seq          bigint NOT NULL DEFAULT 0,
    refund_seq           bigint NOT NULL DEFAULT 0,
    commit_version       bigint NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    deleted_at           timestamptz,
    UNIQUE (tenant_id, id)
);
CREATE INDEX ix_stores_tenant_name ON stores (tenant_id, name, id) WHERE deleted_at IS NULL;

CREATE TABLE terminals (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    store_id    uuid NOT NULL,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, id)
);
CREATE INDEX ix_terminals_tenant_store ON terminals (tenant_id, store_id, name) WHERE deleted_at IS NULL;

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email          text,
    phone          text,
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'cashier')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz,
    UNIQUE (tenant_id, id),
    CHECK (email IS NOT NULL OR phone IS NOT NULL)
);
-- Logins are global (a login names its tenant), so emails and phones are unique
-- across the deployment among live users.
CREATE UNIQUE INDEX ux_users_email ON users (lower(email)) WHERE deleted_at IS NULL AND email IS NOT NULL;
CREATE UNIQUE INDEX ux_users_phone ON users (phone) WHERE deleted_at IS NULL AND phone IS NOT NULL;
CREATE INDEX ix_users_tenant ON users (tenant_id, name) WHERE deleted_at IS NULL;

CREATE TABLE employees (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    user_id     uuid NOT NULL,
    position    text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE UNIQUE INDEX ux_employees_tenant_user ON employees (tenant_id, user_id) WHERE deleted_at IS NULL;

CREATE TABLE employee_stores (
    tenant_id    uuid NOT NULL,
    employee_id  uuid NOT NULL,
    store_id     uuid NOT NULL,
    PRIMARY KEY (tenant_id, employee_id, store_id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, id)
);
CREATE INDEX ix_employee_stores_store ON employee_stores (tenant_id, store_id);

CREATE TABLE customers (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    phone       text,
    email       text,
    card_code   text,
    notes       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX ux_customers_tenant_phone ON customers (tenant_id, phone) WHERE deleted_at IS NULL AND phone IS NOT NULL;
CREATE INDEX ix_customers_tenant_email ON customers (tenant_id, lower(email) text_pattern_ops) WHERE deleted_at IS NULL AND email IS NOT NULL;
CREATE UNIQUE INDEX ux_customers_tenant_card ON customers (tenant_id, card_code) WHERE deleted_at IS NULL AND card_code IS NOT NULL;
CREATE INDEX ix_customers_tenant_list ON customers (tenant_id, name, id) WHERE deleted_at IS NULL;

CREATE TABLE categories (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    parent_id   uuid,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES categories (tenant_id, id)
);
CREATE INDEX ix_categories_tenant_name ON categories (tenant_id, name, id) WHERE deleted_at IS NULL;

CREATE TABLE products (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    category_id  uuid,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description  text,
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, category_id) REFERENCES categories (tenant_id, id)
);
CREATE INDEX ix_products_tenant_list ON products (tenant_id, name, id) WHERE deleted_at IS NULL;
CREATE INDEX ix_products_tenant_category ON products (tenant_id, category_id, name, id) WHERE deleted_at IS NULL;

CREATE TABLE product_variants (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    product_id  uuid NOT NULL,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    sku         text NOT NULL,
    price       numeric(14, 2) NOT NULL CHECK (price >= 0),
    cost        numeric(14, 2) CHECK (cost >= 0),
    unit        text NOT NULL DEFAULT 'piece' CHECK (unit IN ('piece', 'kg', 'l')),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id)
);
CREATE UNIQUE INDEX ux_variants_tenant_sku ON product_variants (tenant_id, sku) WHERE deleted_at IS NULL;
CREATE INDEX ix_variants_tenant_product ON product_variants (tenant_id, product_id) WHERE deleted_at IS NULL;

-- A variant has one or more barcodes; a barcode belongs to one live variant per tenant.
CREATE TABLE variant_barcodes (
    tenant_id   uuid NOT NULL,
    variant_id  uuid NOT NULL,
    barcode     text NOT NULL,
    symbology   text NOT NULL CHECK (symbology IN ('ean13', 'ean8', 'upca', 'code128')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    FOREIGN KEY (tenant_id, variant_id) REFERENCES product_variants (tenant_id, id)
);
-- text_pattern_ops: the same index serves equality, uniqueness and prefix (LIKE 'abc%') search in any collation.
CREATE UNIQUE INDEX ux_barcodes_tenant_barcode ON variant_barcodes (tenant_id, barcode text_pattern_ops) WHERE deleted_at IS NULL;
CREATE INDEX ix_barcodes_tenant_variant ON variant_barcodes (tenant_id, variant_id) WHERE deleted_at IS NULL;

CREATE TABLE stock_levels (
    tenant_id       uuid NOT NULL,
    store_id        uuid NOT NULL,
    variant_id      uuid NOT NULL,
    quantity        numeric(16, 3) NOT NULL DEFAULT 0,
    -- Cost of the most recent batch, used to cost a sale beyond what is on hand.
    last_unit_cost  numeric(16, 4),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, store_id, variant_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, id),
    FOREIGN KEY (tenant_id, variant_id) REFERENCES product_variants (tenant_id, id)
);

CREATE TABLE stock_batches (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL,
    store_id       uuid NOT NULL,
    variant_id     uuid NOT NULL,
    source         text NOT NULL CHECK (source IN ('opening', 'receiving', 'transfer', 'refund', 'adjustment')),
    received_qty   numeric(16, 3) NOT NULL CHECK (received_qty > 0),
    remaining_qty  numeric(16, 3) NOT NULL CHECK (remaining_qty >= 0),
    unit_cost      numeric(16, 4) NOT NULL CHECK (unit_cost >= 0),
    supplier_ref   text,
    received_at    timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, id),
    FOREIGN KEY (tenant_id, variant_id) REFERENCES product_variants (tenant_id, id)
);
CREATE INDEX ix_batches_open ON stock_batches (tenant_id, store_id, variant_id, received_at) WHERE remaining_qty > 0;

CREATE TABLE receipts (
    id                   uuid PRIMARY KEY,
    tenant_id            uuid NOT NULL,
    store_id             uuid NOT NULL,
    terminal_id          uuid NOT NULL,
    cashier_id           uuid NOT NULL,
    customer_id          uuid,
    kind                 text NOT NULL CHECK (kind IN ('sale', 'refund')),
    refund_of            uuid REFERENCES receipts (id),
    sequence_no          bigint NOT NULL CHECK (sequence_no > 0),
    receipt_number       text NOT NULL,
    business_date        date NOT NULL,
    created_at           timestamptz NOT NULL,
    subtotal             numeric(14, 2) NOT NULL,
    discount_total       numeric(14, 2) NOT NULL,
    total                numeric(14, 2) NOT NULL,
    change_due           numeric(14, 2) NOT NULL DEFAULT 0,
    note                 text,
    -- Hash of the request body, so a replay of the same id with another body is refused.
    request_hash         bytea NOT NULL,
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, id),
    FOREIGN KEY (tenant_id, terminal_id) REFERENCES terminals (tenant_id, id),
    -- The seed keyed receipts by (tenant, number), which collides across stores.
    UNIQUE (tenant_id, store_id, receipt_number),
    UNIQUE (tenant_id, store_id, kind, sequence_no)
);
CREATE INDEX ix_receipts_tenant_store_created ON receipts (tenant_id, store_id, created_at);
CREATE INDEX ix_receipts_tenant_customer ON receipts (tenant_id, customer_id, created_at) WHERE customer_id IS NOT NULL;
CREATE INDEX ix_receipts_refund_of ON receipts (refund_of) WHERE refund_of IS NOT NULL;

CREATE TABLE receipt_items (
    receipt_id      uuid NOT NULL REFERENCES receipts (id),
    line_no         int NOT NULL,
    tenant_id       uuid NOT NULL,
    variant_id      uuid NOT NULL,
    quantity        numeric(16, 3) NOT NULL CHECK (quantity > 0),
    unit_price      numeric(14, 2) NOT NULL,
    discount        numeric(14, 2) NOT NULL DEFAULT 0,
    line_total      numeric(14, 2) NOT NULL,
    cost_of_goods   numeric(16, 4) NOT NULL,
    PRIMARY KEY (receipt_id, line_no)
);
CREATE INDEX ix_receipt_items_variant ON receipt_items (tenant_id, variant_id);

CREATE TABLE receipt_payments (
    receipt_id  uuid NOT NULL REFERENCES receipts (id),
    line_no     int NOT NULL,
    tenant_id   uuid NOT NULL,
    method      text NOT NULL CHECK (method IN ('cash', 'card', 'transfer', 'other')),
    amount      numeric(14, 2) NOT NULL CHECK (amount > 0),
    PRIMARY KEY (receipt_id, line_no)
);

CREATE TABLE stock_movements (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    store_id      uuid NOT NULL,
    variant_id    uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('opening', 'receiving', 'sale', 'refund', 'adjustment', 'transfer_in', 'transfer_out')),
    quantity      numeric(16, 3) NOT NULL,
    unit_cost     numeric(16, 4),
    receipt_id    uuid,
    reference     text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_movements_store_variant ON stock_movements (tenant_id, store_id, variant_id, id);
