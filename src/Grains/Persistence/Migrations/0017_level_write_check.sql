-- Since 0015 a commit UPDATEs the stock levels the store grain knows to exist (an INSERT only for
-- new ones). An UPDATE that matched fewer rows than it was given would lose a level change while
-- the commit succeeded: nothing deletes stock_levels rows today, but the commit must not trust
-- that. The ledger writer counts the rows its UPDATE changed and calls this, which refuses the
-- whole transaction (JW003: the grain answers 503 and reloads its stock from the database).
CREATE FUNCTION ledger_expect_rows(p_changed bigint, p_expected bigint, p_what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_changed <> p_expected THEN
        RAISE EXCEPTION 'ledger: % changed % rows, expected %', p_what, p_changed, p_expected USING ERRCODE = 'JW003';
    END IF;
END
$$;
