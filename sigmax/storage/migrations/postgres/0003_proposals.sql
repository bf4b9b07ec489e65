-- Trade proposals of approval mode: the order the decision graph wants, waiting for an
-- operator. (account, id) is unique and id is also the order's client order id, so a
-- replayed bar proposes nothing new and an approved proposal sends one order at most.
-- Status changes are guarded updates (WHERE status = <the state it comes from>), so of
-- two operators approving at once exactly one moves it; every change is audited in
-- audit_log stream 'proposals:<account>' in the same transaction.
CREATE TABLE proposals (
    account          TEXT NOT NULL,
    id               TEXT NOT NULL,
    session_id       TEXT NOT NULL,
    symbol           TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'approved', 'executed', 'rejected',
                                       'expired', 'failed')),
    order_request    JSONB NOT NULL,
    reference_price  NUMERIC NOT NULL CHECK (reference_price > 0),
    decision         JSONB NOT NULL,
    proposed_verdict JSONB,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL CHECK (expires_at > created_at),
    updated_at       TIMESTAMPTZ NOT NULL,
    decided_by       TEXT,
    decided_at       TIMESTAMPTZ,
    reason           TEXT,
    result           JSONB,
    PRIMARY KEY (account, id)
);

CREATE INDEX proposals_due ON proposals (account, expires_at) WHERE status = 'pending';
CREATE INDEX proposals_by_status ON proposals (account, status, created_at);
