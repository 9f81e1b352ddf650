-- shopbot's schema. Money is BIGINT minor units with a currency code; times are timestamptz.
-- Invariants live here too, so no bug in a caller can break them: balances never go negative,
-- a unit belongs to at most one order, idempotency keys and payment charges are unique.

CREATE TABLE settings (
    singleton   BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    maintenance BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO settings DEFAULT VALUES;

CREATE TABLE users (
    id         BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('customer', 'support', 'admin', 'owner')),
    banned     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE categories (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX categories_name_key ON categories (lower(name));

CREATE TABLE products (
    id          BIGSERIAL PRIMARY KEY,
    category_id BIGINT REFERENCES categories (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('key', 'file', 'slot', 'service')),
    price_minor BIGINT NOT NULL CHECK (price_minor > 0),
    currency    CHAR(3) NOT NULL,
    hidden      BOOLEAN NOT NULL,
    image       TEXT,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE orders (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    idem_key     TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    cart_version BIGINT NOT NULL,
    total_minor  BIGINT NOT NULL CHECK (total_minor >= 0),
    currency     CHAR(3) NOT NULL,
    status       TEXT NOT NULL
                 CHECK (status IN ('awaiting_payment', 'paid', 'refunded', 'cancelled')),
    invoice_id   BIGINT,
    created_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT orders_user_key UNIQUE (user_id, idem_key)
);
CREATE INDEX orders_by_user ON orders (user_id, id DESC);

CREATE TABLE order_lines (
    order_id         BIGINT NOT NULL REFERENCES orders (id),
    line_no          INT NOT NULL,
    product_id       BIGINT NOT NULL REFERENCES products (id),
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    quantity         INT NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    unit_price_minor BIGINT NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

CREATE TABLE stock_units (
    id         BIGSERIAL PRIMARY KEY,
    product_id BIGINT NOT NULL REFERENCES products (id),
    payload    TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('available', 'reserved', 'sold')),
    order_id   BIGINT REFERENCES orders (id),
    added_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT stock_units_payload_key UNIQUE (product_id, payload),
    CONSTRAINT stock_units_owner CHECK ((state = 'available') = (order_id IS NULL))
);
CREATE INDEX stock_units_available ON stock_units (product_id, id) WHERE state = 'available';
CREATE INDEX stock_units_by_order ON stock_units (order_id) WHERE order_id IS NOT NULL;

CREATE TABLE carts (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    version BIGINT NOT NULL,
    lines   JSONB NOT NULL
);

CREATE TABLE wallets (
    user_id       BIGINT NOT NULL REFERENCES users (id),
    currency      CHAR(3) NOT NULL,
    balance_minor BIGINT NOT NULL,
    held_minor    BIGINT NOT NULL,
    PRIMARY KEY (user_id, currency),
    CONSTRAINT wallets_held_not_negative CHECK (held_minor >= 0),
    CONSTRAINT wallets_available_not_negative CHECK (balance_minor - held_minor >= 0)
);

CREATE TABLE ledger_entries (
    id                  BIGSERIAL PRIMARY KEY,
    user_id             BIGINT NOT NULL REFERENCES users (id),
    idem_key            TEXT NOT NULL,
    fingerprint         TEXT NOT NULL,
    op                  JSONB NOT NULL,
    currency            CHAR(3) NOT NULL,
    balance_delta_minor BIGINT NOT NULL,
    held_delta_minor    BIGINT NOT NULL,
    note                TEXT,
    at                  TIMESTAMPTZ NOT NULL,
    CONSTRAINT ledger_entries_user_key UNIQUE (user_id, idem_key)
);
CREATE INDEX ledger_entries_by_user ON ledger_entries (user_id, id DESC);

CREATE TABLE holds (
    id           BIGINT PRIMARY KEY REFERENCES ledger_entries (id),
    user_id      BIGINT NOT NULL REFERENCES users (id),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency     CHAR(3) NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('open', 'captured', 'released'))
);

CREATE TABLE invoice_numbers (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    last      BIGINT NOT NULL
);
INSERT INTO invoice_numbers (last) VALUES (0);

CREATE TABLE invoices (
    id             BIGSERIAL PRIMARY KEY,
    number         BIGINT NOT NULL UNIQUE,
    user_id        BIGINT NOT NULL REFERENCES users (id),
    lines          JSONB NOT NULL,
    tax_bp         INT NOT NULL CHECK (tax_bp BETWEEN 0 AND 10000),
    subtotal_minor BIGINT NOT NULL,
    tax_minor      BIGINT NOT NULL,
    total_minor    BIGINT NOT NULL,
    currency       CHAR(3) NOT NULL,
    purpose        JSONB NOT NULL,
    order_id       BIGINT REFERENCES orders (id),
    status         TEXT NOT NULL CHECK (status IN ('open', 'paid', 'void', 'expired')),
    payment        JSONB,
    due_at         TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    closed_at      TIMESTAMPTZ,
    CONSTRAINT invoices_payment_when_paid CHECK ((status = 'paid') = (payment IS NOT NULL)),
    CONSTRAINT invoices_closed_when_final CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX invoices_open ON invoices (id) WHERE status = 'open';
ALTER TABLE orders ADD CONSTRAINT orders_invoice_fk FOREIGN KEY (invoice_id) REFERENCES invoices (id);

CREATE TABLE payments (
    provider   TEXT NOT NULL,
    charge_id  TEXT NOT NULL,
    invoice_id BIGINT NOT NULL REFERENCES invoices (id),
    PRIMARY KEY (provider, charge_id)
);

CREATE TABLE dialogues (
    chat_id    BIGINT NOT NULL,
    user_id    BIGINT NOT NULL,
    state      TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);

CREATE TABLE outbox (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    body       JSONB NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts   INT NOT NULL DEFAULT 0,
    not_before TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending';

CREATE TABLE audit_log (
    id     BIGSERIAL PRIMARY KEY,
    actor  BIGINT NOT NULL,
    action TEXT NOT NULL,
    at     TIMESTAMPTZ NOT NULL
);

-- Telegram update ids already handled, so a redelivered update is applied once across instances.
CREATE TABLE processed_updates (
    update_id    BIGINT PRIMARY KEY,
    processed_at TIMESTAMPTZ NOT NULL
);

-- Leader epochs: every new leader takes the next epoch; a job's write carries its epoch and is
-- refused once a newer leader exists.
CREATE TABLE leadership (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    epoch     BIGINT NOT NULL,
    holder    TEXT NOT NULL
);
INSERT INTO leadership (epoch, holder) VALUES (0, '');
