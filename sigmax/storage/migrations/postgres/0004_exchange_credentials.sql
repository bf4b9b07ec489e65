-- Exchange API credentials managed by operators (API and `sigmax credentials`).
-- The api key, secret and passphrase are stored only as ciphertext: Vault/OpenBao
-- transit ('vault:v1:...') or the local key-encryption fallback ('local:v1:...').
-- `hint` is the masked tail of the api key ('****abcd'); `permissions` is what the
-- last test found ({"read": true, "trade": true, "withdraw": false}, null = unknown).
-- `status`: untested (new or rotated), ok, refused (withdrawal rights without the
-- override), failed (the exchange refused the credentials). Only 'ok' is usable.
CREATE TABLE exchange_credentials (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    exchange            TEXT NOT NULL,
    sandbox             BOOLEAN NOT NULL DEFAULT false,
    api_key_ciphertext  TEXT NOT NULL,
    secret_ciphertext   TEXT NOT NULL,
    password_ciphertext TEXT,
    hint                TEXT NOT NULL,
    cipher              TEXT NOT NULL CHECK (cipher IN ('transit', 'local')),
    key_ref             TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'untested'
                        CHECK (status IN ('untested', 'ok', 'refused', 'failed')),
    permissions         JSONB,
    allow_withdraw      BOOLEAN NOT NULL DEFAULT false,
    last_error          TEXT,
    tested_at           TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
