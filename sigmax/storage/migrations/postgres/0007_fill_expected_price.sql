-- fills.expected_price: the price the venue expected the fill at before its costs (the
-- open a market order fills at, a stop's trigger, a limit). Slippage is judged against
-- it; reference_price stays the decision's price. NULL where a venue does not know it.
ALTER TABLE fills ADD COLUMN expected_price NUMERIC;
