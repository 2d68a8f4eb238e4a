-- Customers are listed, looked up and searched from the tenant's customer directory grain
-- (memory, written through). What only served those reads in SQL goes: the trigram and email
-- indexes and the trigger-kept live counter (0006). Every customer write paid for them.
-- ix_customers_tenant_list stays: the directory's activation reads a tenant's customers by it.
DROP TRIGGER customers_count_live ON customers;
DROP FUNCTION count_live_customers();
DROP TABLE customer_counts;
DROP INDEX ix_customers_search;
DROP INDEX ix_customers_phone_search;
DROP INDEX ix_customers_tenant_email;
