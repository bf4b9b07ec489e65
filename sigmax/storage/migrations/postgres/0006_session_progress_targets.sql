-- session_progress.acted_targets: the target a portfolio session last acted on, per
-- symbol ({"BTC/USD": 0.25, ...}), so a resumed session of many symbols holds each
-- one's target. acted_target stays the first symbol's, as one-symbol sessions wrote it.
ALTER TABLE session_progress ADD COLUMN acted_targets JSONB NOT NULL DEFAULT '{}'::jsonb;
