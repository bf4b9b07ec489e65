-- State a restarted actor rebuilds itself from, beyond orders and fills.
-- risk_state: the risk engine's snapshot (trading state, reason, peak and day-start
-- equity, limits, recent order times and slippage) per account, overwritten in the
-- same transaction that appends the audit records the change produced.
CREATE TABLE risk_state (
    account    TEXT PRIMARY KEY,
    snapshot   JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
