-- Search: case-insensitive substring matching served by trigram indexes (pg_trgm ships with the
-- Debian postgresql-15 package). search_key() folds case and the several apostrophes Uzbek Latin
-- is typed with (o‘ o’ oʻ oʼ o`) to the plain one, so "o'zbek" finds "Oʻzbek" and the other way round.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE FUNCTION search_key(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT translate(lower(t), '‘’ʻʼ`', '''''''''''') $$;

CREATE INDEX ix_products_search ON products USING gin (search_key(name) gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_search ON customers USING gin (search_key(name) gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX ix_customers_phone_search ON customers USING gin (phone gin_trgm_ops) WHERE deleted_at IS NULL AND phone IS NOT NULL;
CREATE INDEX ix_stores_search ON stores USING gin (search_key(name) gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX ix_variants_sku_prefix ON product_variants (tenant_id, lower(sku) text_pattern_ops) WHERE deleted_at IS NULL;
