-- Cost of goods is quantity (up to 10,000) times a unit cost (up to 999,999,999,999.99): it needs
-- more integer digits than a single amount, or one absurd but valid line would fail the commit of
-- every sale grouped with it.
ALTER TABLE receipt_items ALTER COLUMN cost_of_goods TYPE numeric(24, 4);
