-- Taxes (issue 13). A tenant's tax rates, VAT-payer flag and price mode live in its tenant grain's
-- settings document (the tenant grain hands them to store grains with every batch's config, which
-- is what makes a rate change exact from the next sale on); here only what rows refer to them.
-- No foreign key: the rates are not rows. A rate id no longer among the tenant's rates falls
-- through to the category's rate, then the tenant default (SalesTaxes.RateOf).

-- A variant's own rate; NULL inherits from its category, else the tenant default.
ALTER TABLE product_variants ADD COLUMN tax_rate_id uuid;
-- A category's rate; NULL inherits from its parent (and so on), else the tenant default.
ALTER TABLE categories ADD COLUMN tax_rate_id uuid;

-- Receipt lines carry the rate they were charged (jsonb keys r, rn, rp, va, vx: ReceiptRows.LinesJson);
-- receipts written before this have none, and read as no VAT information (NULL columns here).
-- The view keeps its columns and adds the tax ones at the end (CREATE OR REPLACE may only append).
CREATE OR REPLACE VIEW receipt_items AS
SELECT r.id AS receipt_id, l.n::int AS line_no, r.tenant_id, (l.x ->> 'v')::uuid AS variant_id,
       (l.x ->> 'q')::numeric(16, 3) AS quantity, (l.x ->> 'p')::numeric(14, 2) AS unit_price, (l.x ->> 'd')::numeric(14, 2) AS discount,
       (l.x ->> 't')::numeric(14, 2) AS line_total, (l.x ->> 'c')::numeric(24, 4) AS cost_of_goods,
       (l.x ->> 'r')::uuid AS tax_rate_id, l.x ->> 'rn' AS tax_rate_name, (l.x ->> 'rp')::numeric(5, 2) AS vat_percent,
       CASE WHEN l.x -> 'r' IS NOT NULL THEN l.x -> 'rp' IS NULL END AS vat_exempt, (l.x ->> 'va')::numeric(14, 2) AS vat_amount,
       CASE WHEN l.x -> 'r' IS NOT NULL THEN coalesce((l.x ->> 'vx')::boolean, false) END AS vat_added
FROM receipts r CROSS JOIN LATERAL jsonb_array_elements(r.lines) WITH ORDINALITY AS l(x, n);
