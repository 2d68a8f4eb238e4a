-- Fiscal product data (issue 13): what an Uzbek fiscal receipt line needs of a variant besides its
-- VAT: the IKPU (MXIK) classification code of the national catalogue (tasnif.soliq.uz: 17 digits),
-- its package code ("conditional unit") and unit code, and whether the goods are digitally marked
-- (DataMatrix). All optional: a shop fills them in as it registers its goods.
ALTER TABLE product_variants
    ADD COLUMN ikpu_code text CONSTRAINT product_variants_ikpu_code_check CHECK (ikpu_code ~ '^[0-9]{17}$'),
    ADD COLUMN package_code text,
    ADD COLUMN unit_code text,
    ADD COLUMN marked boolean NOT NULL DEFAULT false;

-- Receipt lines carry them as sold (jsonb keys ik, pk, uc, mk: ReceiptRows.LinesJson); the view appends them.
CREATE OR REPLACE VIEW receipt_items AS
SELECT r.id AS receipt_id, l.n::int AS line_no, r.tenant_id, (l.x ->> 'v')::uuid AS variant_id,
       (l.x ->> 'q')::numeric(16, 3) AS quantity, (l.x ->> 'p')::numeric(14, 2) AS unit_price, (l.x ->> 'd')::numeric(14, 2) AS discount,
       (l.x ->> 't')::numeric(14, 2) AS line_total, (l.x ->> 'c')::numeric(24, 4) AS cost_of_goods,
       (l.x ->> 'r')::uuid AS tax_rate_id, l.x ->> 'rn' AS tax_rate_name, (l.x ->> 'rp')::numeric(5, 2) AS vat_percent,
       CASE WHEN l.x -> 'r' IS NOT NULL THEN l.x -> 'rp' IS NULL END AS vat_exempt, (l.x ->> 'va')::numeric(14, 2) AS vat_amount,
       CASE WHEN l.x -> 'r' IS NOT NULL THEN coalesce((l.x ->> 'vx')::boolean, false) END AS vat_added,
       l.x ->> 'ik' AS ikpu_code, l.x ->> 'pk' AS package_code, l.x ->> 'uc' AS unit_code, coalesce((l.x ->> 'mk')::boolean, false) AS marked
FROM receipts r CROSS JOIN LATERAL jsonb_array_elements(r.lines) WITH ORDINALITY AS l(x, n);
