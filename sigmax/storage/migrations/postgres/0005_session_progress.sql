-- session_progress: how far a trading session got, per account. The session writes
-- the last bar it processed (and the target it last acted on) before it takes the
-- next bar, so a resumed or restarted session continues after that bar instead of
-- replaying from its start.
CREATE TABLE session_progress (
    account      TEXT PRIMARY KEY,
    last_bar_ts  BIGINT NOT NULL,
    acted_target DOUBLE PRECISION NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
