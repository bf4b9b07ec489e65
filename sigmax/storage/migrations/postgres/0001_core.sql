-- SIGMAX core schema: orders, their events, fills, positions, decisions, risk events,
-- the append-only audit log, API keys and backtest runs.
--
-- `account` separates books: 'paper', 'live:<venue>', 'backtest:<run_id>'. Client order
-- ids and fill ids are unique per account, so replays are idempotent at the database
-- level while every backtest run (which reuses ids like bt-sma_cross-1) keeps its own.
-- Money and quantities are NUMERIC (exact); timestamps are timestamptz (UTC).

CREATE TABLE backtest_runs (
    run_id      TEXT PRIMARY KEY,
    status      TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'succeeded', 'failed')),
    request     JSONB NOT NULL,
    metrics     JSONB,
    error       TEXT,
    started_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ,
    CHECK ((status = 'running') = (finished_at IS NULL))
);

CREATE TABLE orders (
    account         TEXT NOT NULL,
    client_order_id TEXT NOT NULL CHECK (client_order_id <> ''),
    run_id          TEXT REFERENCES backtest_runs (run_id) ON DELETE CASCADE,
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    type            TEXT NOT NULL CHECK (type IN ('market', 'limit', 'stop', 'stop_limit')),
    qty             NUMERIC NOT NULL CHECK (qty > 0),
    limit_price     NUMERIC CHECK (limit_price > 0),
    stop_price      NUMERIC CHECK (stop_price > 0),
    tif             TEXT NOT NULL CHECK (tif IN ('gtc', 'ioc')),
    reduce_only     BOOLEAN NOT NULL DEFAULT false,
    status          TEXT NOT NULL CHECK (status IN ('new', 'accepted', 'partially_filled',
                        'filled', 'cancelled', 'rejected', 'expired')),
    filled_qty      NUMERIC NOT NULL DEFAULT 0 CHECK (filled_qty >= 0 AND filled_qty <= qty),
    avg_fill_price  NUMERIC,
    fees            NUMERIC NOT NULL DEFAULT 0,
    venue_order_id  TEXT,
    reason          TEXT,
    created_ts      TIMESTAMPTZ NOT NULL,
    updated_ts      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account, client_order_id)
);
CREATE INDEX orders_open_idx ON orders (account, symbol)
    WHERE status IN ('new', 'accepted', 'partially_filled');
CREATE INDEX orders_run_idx ON orders (run_id) WHERE run_id IS NOT NULL;

-- One row per state change. (to_status, filled_qty) identifies an event within an order:
-- every status but partially_filled is entered at most once, and each partial fill
-- raises filled_qty, so a replayed event is a no-op (ON CONFLICT DO NOTHING).
CREATE TABLE order_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account         TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    ts              TIMESTAMPTZ NOT NULL,
    filled_qty      NUMERIC NOT NULL,
    reason          TEXT,
    fill_id         TEXT,
    FOREIGN KEY (account, client_order_id)
        REFERENCES orders (account, client_order_id) ON DELETE CASCADE,
    UNIQUE (account, client_order_id, to_status, filled_qty)
);

CREATE TABLE fills (
    account         TEXT NOT NULL,
    fill_id         TEXT NOT NULL CHECK (fill_id <> ''),
    client_order_id TEXT NOT NULL,
    run_id          TEXT,
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    qty             NUMERIC NOT NULL CHECK (qty > 0),
    price           NUMERIC NOT NULL CHECK (price > 0),
    fee             NUMERIC NOT NULL,
    ts              TIMESTAMPTZ NOT NULL,
    liquidity       TEXT NOT NULL CHECK (liquidity IN ('maker', 'taker')),
    reference_price NUMERIC,
    PRIMARY KEY (account, fill_id),
    FOREIGN KEY (account, client_order_id)
        REFERENCES orders (account, client_order_id) ON DELETE CASCADE
);
CREATE INDEX fills_order_idx ON fills (account, client_order_id);

CREATE TABLE positions (
    account      TEXT NOT NULL,
    symbol       TEXT NOT NULL,
    qty          NUMERIC NOT NULL,
    avg_price    NUMERIC NOT NULL,
    realized_pnl NUMERIC NOT NULL DEFAULT 0,
    updated_ts   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account, symbol)
);

CREATE TABLE decisions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account         TEXT NOT NULL,
    run_id          TEXT REFERENCES backtest_runs (run_id) ON DELETE CASCADE,
    ts              TIMESTAMPTZ NOT NULL,
    symbol          TEXT NOT NULL,
    target_position DOUBLE PRECISION NOT NULL CHECK (target_position BETWEEN -1 AND 1),
    signals         JSONB NOT NULL,
    bull_case       TEXT NOT NULL,
    bear_case       TEXT NOT NULL,
    rationale       TEXT NOT NULL,
    missing         TEXT[] NOT NULL DEFAULT '{}',
    approved        BOOLEAN,
    risk_verdict    JSONB,
    UNIQUE (account, symbol, ts)
);

CREATE TABLE risk_events (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account TEXT NOT NULL,
    run_id  TEXT REFERENCES backtest_runs (run_id) ON DELETE CASCADE,
    ts      TIMESTAMPTZ NOT NULL,
    kind    TEXT NOT NULL CHECK (kind <> ''),
    message TEXT NOT NULL,
    payload JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX risk_events_account_ts_idx ON risk_events (account, ts);

-- Hash-chained audit records, one chain per stream. ts is kept as the exact ISO text
-- that was hashed. Append-only: triggers refuse UPDATE, DELETE and TRUNCATE, and an
-- insert must continue its stream's chain (next seq, prev_hash = last hash).
CREATE TABLE audit_log (
    stream      TEXT NOT NULL,
    seq         BIGINT NOT NULL CHECK (seq >= 0),
    ts          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     JSONB NOT NULL,
    prev_hash   TEXT NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash        TEXT NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, seq)
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION audit_log_check_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq  BIGINT;
    last_hash TEXT;
BEGIN
    SELECT seq, hash INTO last_seq, last_hash FROM audit_log
        WHERE stream = NEW.stream ORDER BY seq DESC LIMIT 1;
    IF NEW.seq <> COALESCE(last_seq + 1, 0) THEN
        RAISE EXCEPTION 'audit_log %: seq % does not follow %', NEW.stream, NEW.seq, last_seq
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.prev_hash <> COALESCE(last_hash, repeat('0', 64)) THEN
        RAISE EXCEPTION 'audit_log %: record % prev_hash does not link', NEW.stream, NEW.seq
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_check_chain();

-- Only a sha256 of the key is stored; `prefix` (public, random) finds the row.
CREATE TABLE api_keys (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL UNIQUE,
    key_hash     TEXT NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    scopes       TEXT[] NOT NULL DEFAULT '{}',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    rotated_from BIGINT REFERENCES api_keys (id)
);
