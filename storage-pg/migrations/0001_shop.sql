-- shopbot's schema: the tables that hold a shop, and the server-side functions the PostgreSQL
-- store runs its purchases and its most frequent reads with.
--
-- Money is BIGINT minor units with a currency code; times are timestamptz. Invariants live here
-- too, so no bug in a caller can break them: balances never go negative, a unit belongs to at
-- most one order, idempotency keys and payment charges are unique.
--
-- The functions, in the order of this file's sections:
--   - The purchase commands, `shop_edit_cart` and `shop_commit_checkout`: each runs one whole
--     command on the server, so a command costs one round trip instead of one per statement.
--     Their helpers: `shop_lock_cart` (the buyer's cart row, locked) and `shop_cart_edited` (a
--     cart's lines after one edit).
--   - The group runner, `shop_run`: the purchase commands of several concurrent callers in one
--     statement, sharing one round trip and one commit. It tries `shop_run_together` (the whole
--     group in a fixed number of set-based statements) and falls back to `shop_run_one_by_one`
--     (each command in its own subtransaction). Its helper: `shop_one_by_one`. The store's
--     direct purchase path calls it with one command at a time.
--   - The shared reads, `shop_callers_with_products` and `shop_callers_with_carts`: the reads a
--     purchase makes first, for several callers at once.
--
-- A refusal is raised with a shopbot SQLSTATE of class SB and rolls back everything its command
-- wrote; a lost race (serialization failure, deadlock, a twin's unique key) is run again by the
-- store as a whole command. Refusals, read back by storage-pg/src/refusal.rs:
--   SB001 out of stock, DETAIL 'product requested available'
--   SB002 insufficient funds, DETAIL 'needed available currency' (in minor units)
--   SB003 key used for another checkout
--   SB004 cart changed
--   SB005 product unavailable, DETAIL 'product'
--   SB006 price changed
--   SB007 cart empty
--   SB008 unknown user, DETAIL 'user'
--   SB009 amount not positive
--   SB010 too many of a product
--   SB011 too many products in the cart
--   SB012 the request's total is not the sum of its lines
--
-- The rules every function keeps:
--   - One lock order: the buyer's cart row first (several carts in user id order), then the
--     products bought, shared, in id order, then free stock units, which are skipped when
--     another buyer holds them and never waited for. The cart comes first even for a purchase
--     that leaves it as it is: that lock makes two commands of one user (a double tap) run one
--     after the other, so the second finds the first's idempotency key.
--   - Plans reach rows by key, through indexes, whatever the table statistics say: a new shop's
--     tables look empty to the planner, and a plan made then is kept, so it would otherwise scan
--     or hash whole tables on every call once the shop has grown. A product's free units are
--     reached through the index of free units (`stock_units_available`, see
--     `shop_commit_checkout`).
--   - A function whose statements read their input from arrays (`shop_run_together`, the shared
--     reads) keeps one generic plan (`plan_cache_mode = force_generic_plan`): a custom plan would
--     be fitted to each call's array size and planned again on every call. Its settings also
--     turn sequential scans, hash joins and merge joins off, so that one plan probes indexes
--     from its input and never scans or hashes a whole table.
--   - The rules that live in core are passed in rather than repeated here: the most lines and the
--     largest quantity of a cart, which kinds keep stock, whether the request's total adds up.

-- =============================================================================================
-- Tables
-- =============================================================================================

CREATE TABLE settings (
    singleton   BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    maintenance BOOLEAN NOT NULL DEFAULT FALSE,
    -- The currency belongs to the shop: recorded once, when the shop is created (`shopbot
    -- init`), and never changed afterwards. A shop that records none (NULL) adopts one at its
    -- first open (`Storage::adopt_currency`), and from then on every process that opens it
    -- sells in that one.
    currency    CHAR(3) CHECK (currency ~ '^[A-Z]{3}$')
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
    -- The cart version the buyer checked out; NULL for an order bought at once, which leaves
    -- the cart as it is (see `shop_commit_checkout`).
    cart_version BIGINT,
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
-- The index of free units, which every claim of units reads. A sold unit's entry stays in it
-- until VACUUM removes it (see `shop_run_together` for the claims that start after them).
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
    -- NULL for an entry written by a server-side function: the fingerprint of an entry is that
    -- of its own request (user, op, note), which readers compute from the row with core's one
    -- fingerprint function.
    fingerprint         TEXT,
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
-- Orders and invoices refer to each other, so one of the two keys comes after both tables.
ALTER TABLE orders
    ADD CONSTRAINT orders_invoice_fk FOREIGN KEY (invoice_id) REFERENCES invoices (id);

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

-- =============================================================================================
-- The purchase commands: `shop_edit_cart` and `shop_commit_checkout`
-- =============================================================================================
-- Each is one whole command in one call. Called as a statement of its own in autocommit, a
-- refusal rolls back everything the call wrote; called by the group runner, it rolls back the
-- command's subtransaction.

-- The user's cart row, locked until the transaction ends, created empty if missing.
-- A cart row exists only for a known user (its foreign key), so only a missing row asks.
CREATE FUNCTION shop_lock_cart(p_user BIGINT, OUT version BIGINT, OUT lines JSONB)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT c.version, c.lines INTO version, lines FROM carts c WHERE c.user_id = p_user FOR UPDATE;
    IF FOUND THEN
        RETURN;
    END IF;
    PERFORM 1 FROM users WHERE id = p_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SB008', MESSAGE = 'unknown user', DETAIL = p_user::TEXT;
    END IF;
    INSERT INTO carts (user_id, version, lines) VALUES (p_user, 0, '[]')
        ON CONFLICT (user_id) DO NOTHING;
    SELECT c.version, c.lines INTO version, lines FROM carts c WHERE c.user_id = p_user FOR UPDATE;
END
$$;

-- A cart's lines after one edit, as core's `Cart::apply` computes them; raises SB010 or SB011
-- when the edit breaks a limit. A single edit and a group's edits both apply it, so they keep
-- the same rules.
CREATE FUNCTION shop_cart_edited(
    p_lines JSONB, p_edit TEXT, p_product BIGINT, p_quantity INT,
    p_max_lines INT, p_max_quantity INT)
RETURNS JSONB
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_position BIGINT;
    v_quantity INT;
BEGIN
    IF p_edit IN ('add', 'set') THEN
        SELECT t.n, (t.line->>'quantity')::INT INTO v_position, v_quantity
            FROM jsonb_array_elements(p_lines) WITH ORDINALITY AS t(line, n)
            WHERE (t.line->>'product')::BIGINT = p_product;
        IF v_position IS NULL THEN
            IF jsonb_array_length(p_lines) >= p_max_lines THEN
                RAISE EXCEPTION USING ERRCODE = 'SB011', MESSAGE = 'too many lines';
            END IF;
            RETURN p_lines || jsonb_build_array(
                jsonb_build_object('product', p_product, 'quantity', p_quantity));
        END IF;
        IF p_edit = 'add' THEN
            v_quantity := v_quantity + p_quantity;
            IF v_quantity > p_max_quantity THEN
                RAISE EXCEPTION USING ERRCODE = 'SB010', MESSAGE = 'too many';
            END IF;
        ELSE
            v_quantity := p_quantity;
        END IF;
        RETURN jsonb_set(p_lines, ARRAY[(v_position - 1)::TEXT, 'quantity'], to_jsonb(v_quantity));
    ELSIF p_edit = 'remove' THEN
        RETURN COALESCE(
            (SELECT jsonb_agg(t.line ORDER BY t.n)
               FROM jsonb_array_elements(p_lines) WITH ORDINALITY AS t(line, n)
              WHERE (t.line->>'product')::BIGINT <> p_product),
            '[]');
    ELSIF p_edit = 'clear' THEN
        RETURN '[]';
    END IF;
    RAISE EXCEPTION 'unknown cart edit %', p_edit;
END
$$;

-- Applies one edit (`add`, `set`, `remove`, `clear`) to the user's cart, as core's
-- `Cart::apply` does, and bumps the version.
CREATE FUNCTION shop_edit_cart(
    p_user BIGINT, p_edit TEXT, p_product BIGINT, p_quantity INT,
    p_max_lines INT, p_max_quantity INT,
    OUT version BIGINT, OUT lines JSONB)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT c.version, c.lines INTO version, lines FROM shop_lock_cart(p_user) c;
    lines := shop_cart_edited(lines, p_edit, p_product, p_quantity, p_max_lines, p_max_quantity);
    version := version + 1;
    UPDATE carts c SET version = shop_edit_cart.version, lines = shop_edit_cart.lines
        WHERE c.user_id = p_user;
END
$$;

-- Turns the cart into an order, as storage-pg's `commit_checkout` documents: the cart's lock
-- first (a concurrent twin waits there, then finds the recorded order), the idempotency key,
-- the cart version, the plan re-checked under share locks on the products, the stock claimed
-- without waiting on other buyers' units, the payment (a conditional wallet debit with its
-- ledger entry and delivery message, or an invoice), and the cart emptied.
--
-- Buying at once ("buy now"): a checkout with no cart version buys the lines it names and
-- leaves the cart as it is, so a purchase straight from a product page is one command instead
-- of a cart edit and a checkout. Its order records no cart version. The buyer's cart row is
-- still locked first, as for every purchase command: it is what makes two checkouts of one
-- user (a double tap) run one after the other, so the second finds the first's key.
--
-- A product's free units are always reached through the index of free units. With a plain
-- `product_id = …`, statistics taken while most units were free let the planner walk the
-- primary key in id order instead, filtering for free units: every checkout then read every
-- unit sold before the first free one (tens of thousands of blocks for a product with 20,000
-- sales). So the claim asks for `product_id = ANY(ARRAY[…])`, which the planner cannot treat as
-- an equality with a constant, and orders by product and id, an order only that index provides.
--
-- Returns `recorded` (the key's earlier order, whose id is `order_id`) or the new order's id,
-- its invoice and the units it holds, ordered by id.
CREATE FUNCTION shop_commit_checkout(
    p_user BIGINT, p_key TEXT, p_fingerprint TEXT, p_cart_version BIGINT,
    p_products BIGINT[], p_names TEXT[], p_kinds TEXT[], p_quantities INT[],
    p_prices BIGINT[], p_currencies TEXT[], p_uses_stock BOOLEAN[],
    p_total BIGINT, p_currency TEXT, p_total_adds_up BOOLEAN,
    p_ledger_key TEXT, p_charge JSONB,
    p_invoice_lines JSONB, p_tax_bp INT, p_subtotal BIGINT, p_tax BIGINT, p_invoice_total BIGINT,
    p_purpose JSONB, p_due_at TIMESTAMPTZ,
    p_at TIMESTAMPTZ,
    OUT recorded BOOLEAN, OUT order_id BIGINT, OUT invoice_id BIGINT,
    OUT unit_ids BIGINT[], OUT unit_products BIGINT[], OUT unit_payloads TEXT[])
LANGUAGE plpgsql AS $$
DECLARE
    v_wallet CONSTANT BOOLEAN := p_charge IS NOT NULL;
    v_count CONSTANT INT := COALESCE(array_length(p_products, 1), 0);
    v_version BIGINT;
    v_lines JSONB;
    v_fingerprint TEXT;
    v_line RECORD;
    v_changed BOOLEAN := FALSE;
    v_claimed INT;
    v_ids BIGINT[];
    v_payloads TEXT[];
    v_available BIGINT;
    v_number BIGINT;
BEGIN
    SELECT c.version, c.lines INTO v_version, v_lines FROM shop_lock_cart(p_user) c;

    SELECT o.fingerprint, o.id INTO v_fingerprint, order_id
        FROM orders o WHERE o.user_id = p_user AND o.idem_key = p_key;
    IF FOUND THEN
        IF v_fingerprint <> p_fingerprint THEN
            RAISE EXCEPTION USING ERRCODE = 'SB003',
                MESSAGE = 'this idempotency key was used for another checkout';
        END IF;
        recorded := TRUE;
        RETURN;
    END IF;
    recorded := FALSE;

    IF p_cart_version IS NULL THEN
        -- Bought at once: the lines as asked for stand in for the cart, which stays as it is.
        SELECT COALESCE(jsonb_agg(jsonb_build_object('product', t.product, 'quantity', t.quantity)
                                  ORDER BY t.n), '[]')
          INTO v_lines
          FROM unnest(p_products, p_quantities) WITH ORDINALITY AS t(product, quantity, n);
    ELSIF v_version <> p_cart_version THEN
        RAISE EXCEPTION USING ERRCODE = 'SB004', MESSAGE = 'cart changed';
    END IF;
    IF jsonb_array_length(v_lines) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'SB007', MESSAGE = 'cart empty';
    END IF;
    -- Prices and visibility stay as checked until the order is committed.
    PERFORM 1 FROM products
        WHERE id IN (SELECT (l->>'product')::BIGINT FROM jsonb_array_elements(v_lines) AS l)
        ORDER BY id FOR SHARE;
    FOR v_line IN
        SELECT t.n, (t.line->>'product')::BIGINT AS product, (t.line->>'quantity')::INT AS quantity,
               p.id IS NOT NULL AND NOT p.hidden AS sold, p.name, p.kind, p.price_minor,
               p.currency::TEXT AS currency
          FROM jsonb_array_elements(v_lines) WITH ORDINALITY AS t(line, n)
          LEFT JOIN products p ON p.id = (t.line->>'product')::BIGINT
         ORDER BY t.n
    LOOP
        IF NOT v_line.sold THEN
            RAISE EXCEPTION USING ERRCODE = 'SB005', MESSAGE = 'product unavailable',
                DETAIL = v_line.product::TEXT;
        END IF;
        v_changed := v_changed OR v_line.n > v_count
            OR v_line.product IS DISTINCT FROM p_products[v_line.n]
            OR v_line.name IS DISTINCT FROM p_names[v_line.n]
            OR v_line.kind IS DISTINCT FROM p_kinds[v_line.n]
            OR v_line.quantity IS DISTINCT FROM p_quantities[v_line.n]
            OR v_line.price_minor IS DISTINCT FROM p_prices[v_line.n]
            OR v_line.currency IS DISTINCT FROM p_currencies[v_line.n];
    END LOOP;
    IF v_changed OR jsonb_array_length(v_lines) <> v_count THEN
        RAISE EXCEPTION USING ERRCODE = 'SB006', MESSAGE = 'price changed';
    END IF;
    IF NOT p_total_adds_up THEN
        RAISE EXCEPTION USING ERRCODE = 'SB012', MESSAGE = 'total does not add up';
    END IF;

    INSERT INTO orders (user_id, idem_key, fingerprint, cart_version, total_minor, currency,
                        status, created_at)
        VALUES (p_user, p_key, p_fingerprint, p_cart_version, p_total, p_currency,
                CASE WHEN v_wallet THEN 'paid' ELSE 'awaiting_payment' END, p_at)
        RETURNING id INTO order_id;
    INSERT INTO order_lines (order_id, line_no, product_id, name, kind, quantity,
                             unit_price_minor)
        SELECT shop_commit_checkout.order_id, (t.n - 1)::INT, t.product, t.name, t.kind, t.quantity, t.price
          FROM unnest(p_products, p_names, p_kinds, p_quantities, p_prices)
               WITH ORDINALITY AS t(product, name, kind, quantity, price, n);

    unit_ids := '{}';
    unit_products := '{}';
    unit_payloads := '{}';
    FOR i IN 1 .. v_count LOOP
        CONTINUE WHEN NOT p_uses_stock[i];
        -- The oldest free units, through the index of free units (see above); units other
        -- buyers hold locks on are skipped, never waited for.
        WITH free AS MATERIALIZED (
                 SELECT s.id FROM stock_units s
                  WHERE s.product_id = ANY(ARRAY[p_products[i]]) AND s.state = 'available'
                  ORDER BY s.product_id, s.id LIMIT p_quantities[i] FOR UPDATE SKIP LOCKED),
             taken AS (
                 UPDATE stock_units u
                    SET state = CASE WHEN v_wallet THEN 'sold' ELSE 'reserved' END,
                        order_id = shop_commit_checkout.order_id
                   FROM free WHERE u.id = free.id
                 RETURNING u.id, u.payload)
        SELECT count(*), array_agg(taken.id ORDER BY taken.id),
               array_agg(taken.payload ORDER BY taken.id)
          INTO v_claimed, v_ids, v_payloads FROM taken;
        IF v_claimed < p_quantities[i] THEN
            -- Counted after this call took what it could, so add that back.
            SELECT count(*) INTO v_available FROM stock_units
                WHERE product_id = p_products[i] AND state = 'available';
            RAISE EXCEPTION USING ERRCODE = 'SB001', MESSAGE = 'out of stock',
                DETAIL = format('%s %s %s', p_products[i], p_quantities[i],
                                v_available + v_claimed);
        END IF;
        unit_ids := unit_ids || v_ids;
        unit_products := unit_products || array_fill(p_products[i], ARRAY[v_claimed]);
        unit_payloads := unit_payloads || v_payloads;
    END LOOP;

    IF v_wallet THEN
        IF p_total <= 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'SB009', MESSAGE = 'amount not positive';
        END IF;
        UPDATE wallets SET balance_minor = balance_minor - p_total
            WHERE user_id = p_user AND currency = p_currency
              AND balance_minor - held_minor >= p_total;
        IF NOT FOUND THEN
            SELECT balance_minor - held_minor INTO v_available FROM wallets
                WHERE user_id = p_user AND currency = p_currency;
            RAISE EXCEPTION USING ERRCODE = 'SB002', MESSAGE = 'insufficient funds',
                DETAIL = format('%s %s %s', p_total, COALESCE(v_available, 0), p_currency);
        END IF;
        INSERT INTO ledger_entries (user_id, idem_key, fingerprint, op, currency,
                                    balance_delta_minor, held_delta_minor, note, at)
            VALUES (p_user, p_ledger_key, NULL,
                    jsonb_set(p_charge, '{charge,order}', to_jsonb(order_id)),
                    p_currency, -p_total, 0, NULL, p_at);
        INSERT INTO outbox (user_id, body, status, attempts, not_before, created_at)
            VALUES (p_user, jsonb_build_object('kind', 'order_delivered', 'order', order_id),
                    'pending', 0, p_at, p_at);
    ELSE
        -- The counter row's lock makes invoice numbers gap-free.
        UPDATE invoice_numbers SET last = last + 1 RETURNING last INTO v_number;
        INSERT INTO invoices (number, user_id, lines, tax_bp, subtotal_minor, tax_minor,
                              total_minor, currency, purpose, order_id, status, due_at,
                              created_at)
            VALUES (v_number, p_user, p_invoice_lines, p_tax_bp, p_subtotal, p_tax,
                    p_invoice_total, p_currency,
                    jsonb_set(p_purpose, '{order}', to_jsonb(order_id)), order_id, 'open',
                    p_due_at, p_at)
            RETURNING id INTO invoice_id;
        INSERT INTO outbox (user_id, body, status, attempts, not_before, created_at)
            VALUES (p_user, jsonb_build_object('kind', 'invoice_issued', 'invoice', invoice_id),
                    'pending', 0, p_at, p_at);
        UPDATE orders o SET invoice_id = shop_commit_checkout.invoice_id
            WHERE o.id = shop_commit_checkout.order_id;
    END IF;

    IF p_cart_version IS NOT NULL THEN
        UPDATE carts SET version = v_version + 1, lines = '[]' WHERE user_id = p_user;
    END IF;
END
$$;

-- =============================================================================================
-- The group runner: `shop_run`, `shop_run_together`, `shop_run_one_by_one`
-- =============================================================================================
-- Group commit for the purchase commands: `shop_run` runs the `shop_edit_cart` and
-- `shop_commit_checkout` calls of several concurrent callers in one statement, so they share
-- one round trip and one commit (one WAL flush) instead of paying for one each.
--
-- `shop_run` first tries the whole group with a fixed number of set-based statements
-- (`shop_run_together`), whatever its size, instead of some fifteen statements per command.
-- That try is one subtransaction: it refuses the moment anything is out of the ordinary (a
-- refusal, a twin, a race, an invoice checkout) and rolls back whole, and the group then runs
-- one command at a time (`shop_run_one_by_one`), where each command gets its own outcome.
-- Refusals are rare, so most groups pay for a handful of statements in all.
--
-- Only the store calls into this section; nothing above it depends on anything in it.

-- One command: its kind (`edit_cart` or `commit_checkout`) and the arguments of that
-- function, named as in the JSON object the store sends. Times travel as Unix milliseconds,
-- which JSON carries exactly. `free_after` says, per line of a checkout, where the claim of its
-- product's units starts (a unit id; none or NULL means from the first unit; see
-- `shop_run_together`).
CREATE TYPE shop_command AS (
    op            TEXT,
    user_id       BIGINT,
    edit          TEXT,
    product       BIGINT,
    quantity      INT,
    max_lines     INT,
    max_quantity  INT,
    key           TEXT,
    fingerprint   TEXT,
    cart_version  BIGINT,
    products      BIGINT[],
    names         TEXT[],
    kinds         TEXT[],
    quantities    INT[],
    prices        BIGINT[],
    currencies    TEXT[],
    uses_stock    BOOLEAN[],
    total         BIGINT,
    currency      TEXT,
    total_adds_up BOOLEAN,
    ledger_key    TEXT,
    charge        JSONB,
    invoice_lines JSONB,
    tax_bp        INT,
    subtotal      BIGINT,
    tax           BIGINT,
    invoice_total BIGINT,
    purpose       JSONB,
    due_at_ms     BIGINT,
    at_ms         BIGINT,
    free_after    BIGINT[]
);

-- Why a group cannot run together, raised as SB100; `shop_run` catches it (and every other
-- error) and runs the group one command at a time, so SB100 never reaches the store.
CREATE FUNCTION shop_one_by_one(p_why TEXT) RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'SB100', MESSAGE = 'run one by one: ' || p_why;
END
$$;

-- The whole group at once, every command succeeding, or an exception and nothing done. One row
-- per command: its position `n` in `p_commands` and what its own function would return.
--
-- It takes a group whose commands all come from different users, so no two of them touch the
-- same cart, wallet or idempotency key, and their order inside the group does not matter: they
-- commute. Carts are locked first, in user id order (the order every purchase command takes a
-- cart lock in), then products (shared, in id order), then free units (skipped when another
-- buyer holds them, never waited for).
--
-- Claims start after the newest unit the store sold of the product (each line's `free_after`).
-- Every sale leaves the sold unit's entry in the index of free units until VACUUM removes it,
-- and a claim that starts from the product's first entry reads every unit sold since the last
-- VACUUM: on a product that sells fast, with 120,000 sales since then, a group of four
-- checkouts took 3.6 ms of server time, and 2.3 ms once vacuumed; by default a table of a
-- million units is vacuumed every 200,000 changes. Units freed below that point (a reservation
-- released, a claim another instance rolled back) are still sold, by claims that start from
-- the first unit: those of invoice checkouts, which run one command at a time, and those of a
-- group that finds too few units above it and so runs one command at a time.
--
-- Its statements read the commands from an array, so it keeps one generic plan that probes
-- indexes from the commands (see the rules at the top): a group is a few dozen commands, each
-- reaching its rows by key.
CREATE FUNCTION shop_run_together(p_commands JSONB)
RETURNS TABLE (
    n BIGINT, version BIGINT, lines JSONB,
    order_id BIGINT, unit_ids BIGINT[], unit_products BIGINT[], unit_payloads TEXT[])
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
#variable_conflict use_column
DECLARE
    v_commands shop_command[];
    v_users BIGINT[];
    v_edit_users BIGINT[];
    v_checkouts INT;
    v_irregular BOOLEAN;
    v_locked INT;
BEGIN
    SELECT array_agg(c ORDER BY t.i),
           array_agg(c.user_id ORDER BY c.user_id),
           array_agg(c.user_id) FILTER (WHERE c.op = 'edit_cart'),
           count(*) FILTER (WHERE c.op = 'commit_checkout'),
           count(DISTINCT c.user_id) <> count(*)
               OR bool_or(c.op NOT IN ('edit_cart', 'commit_checkout'))
               OR bool_or(c.op = 'commit_checkout' AND
                          (c.charge IS NULL OR c.total <= 0 OR NOT c.total_adds_up))
      INTO v_commands, v_users, v_edit_users, v_checkouts, v_irregular
      FROM jsonb_array_elements(p_commands) WITH ORDINALITY AS t(j, i),
           jsonb_populate_record(NULL::shop_command, t.j) AS c;
    IF v_irregular THEN
        PERFORM shop_one_by_one('a user twice, or a command that needs its own path');
    END IF;

    -- Every cart the group touches, locked; a user without a cart gets an empty one (a cart
    -- checkout then finds it empty and is refused one by one).
    PERFORM 1 FROM carts k WHERE k.user_id = ANY(v_users) ORDER BY k.user_id FOR UPDATE;
    GET DIAGNOSTICS v_locked = ROW_COUNT;
    IF v_locked < cardinality(v_users) THEN
        INSERT INTO carts (user_id, version, lines)
            SELECT u, 0, '[]' FROM unnest(v_users) AS u ORDER BY u
            ON CONFLICT (user_id) DO NOTHING;
        PERFORM 1 FROM carts k WHERE k.user_id = ANY(v_users) ORDER BY k.user_id FOR UPDATE;
    END IF;

    IF v_edit_users IS NOT NULL THEN
        RETURN QUERY
        WITH edited AS (
            UPDATE carts k
               SET version = k.version + 1,
                   lines = shop_cart_edited(k.lines, c.edit, c.product, c.quantity,
                                            c.max_lines, c.max_quantity)
              FROM unnest(v_commands) WITH ORDINALITY AS c
             WHERE c.op = 'edit_cart' AND k.user_id = c.user_id
            RETURNING c.ordinality AS n, k.version, k.lines)
        SELECT e.n, e.version, e.lines, NULL::BIGINT, NULL::BIGINT[], NULL::BIGINT[], NULL::TEXT[]
          FROM edited e;
    END IF;

    IF v_checkouts = 0 THEN
        RETURN;
    END IF;

    -- Prices and visibility stay as checked until the group commits.
    PERFORM 1 FROM products p
      WHERE p.id IN (SELECT unnest(c.products) FROM unnest(v_commands) AS c
                      WHERE c.op = 'commit_checkout')
      ORDER BY p.id FOR SHARE;
    -- Each cart must be as its buyer saw it (version and every line, re-planned against the
    -- products now), or, bought at once, the lines as asked for re-planned; and no checkout
    -- may have been recorded under its key.
    PERFORM shop_one_by_one('a checkout that would be refused or was recorded')
       FROM unnest(v_commands) AS c
       JOIN carts k ON k.user_id = c.user_id
      WHERE c.op = 'commit_checkout'
        AND (CASE WHEN c.cart_version IS NULL
                  THEN COALESCE(cardinality(c.products), 0) = 0
                  ELSE k.version <> c.cart_version
                       OR jsonb_array_length(k.lines) = 0
                       OR jsonb_array_length(k.lines) <> COALESCE(cardinality(c.products), 0)
             END
             -- OFFSET 0 keeps this a lookup per checkout: the planner could otherwise turn
             -- it into a hash of every order the shop has.
             OR EXISTS (SELECT 1 FROM orders o
                         WHERE o.user_id = c.user_id AND o.idem_key = c.key OFFSET 0)
             OR EXISTS (
                 SELECT 1
                   FROM (SELECT (l.line->>'product')::BIGINT, (l.line->>'quantity')::INT, l.i
                           FROM jsonb_array_elements(k.lines) WITH ORDINALITY AS l(line, i)
                          WHERE c.cart_version IS NOT NULL
                         UNION ALL
                         SELECT b.product, b.quantity, b.i
                           FROM unnest(c.products, c.quantities)
                                    WITH ORDINALITY AS b(product, quantity, i)
                          WHERE c.cart_version IS NULL) AS t(product, quantity, i)
                   LEFT JOIN products p ON p.id = t.product
                  WHERE p.id IS NULL OR p.hidden
                     OR p.id IS DISTINCT FROM c.products[t.i]
                     OR p.name IS DISTINCT FROM c.names[t.i]
                     OR p.kind IS DISTINCT FROM c.kinds[t.i]
                     OR t.quantity IS DISTINCT FROM c.quantities[t.i]
                     OR p.price_minor IS DISTINCT FROM c.prices[t.i]
                     OR p.currency::TEXT IS DISTINCT FROM c.currencies[t.i]))
      LIMIT 1;

    RETURN QUERY
    WITH checkout AS MATERIALIZED (
        SELECT c.ordinality AS n, c.user_id, c.key, c.fingerprint, c.cart_version,
               c.products, c.names, c.kinds, c.quantities, c.prices, c.uses_stock, c.free_after,
               c.total, c.currency, c.ledger_key, c.charge,
               TIMESTAMPTZ 'epoch' + c.at_ms * INTERVAL '1 millisecond' AS at,
               nextval('orders_id_seq') AS order_id
          FROM unnest(v_commands) WITH ORDINALITY AS c
         WHERE c.op = 'commit_checkout'),
    line AS MATERIALIZED (
        SELECT o.n, o.order_id, l.i, l.product, l.name, l.kind, l.quantity, l.price, l.uses_stock,
               l.free_after,
               -- Units of this product the group's earlier lines take, this line's included.
               sum(l.quantity) OVER (PARTITION BY l.product, l.uses_stock
                                     ORDER BY o.n, l.i) AS upto
          FROM checkout o,
               unnest(o.products, o.names, o.kinds, o.quantities, o.prices, o.uses_stock,
                      o.free_after)
                   WITH ORDINALITY AS l(product, name, kind, quantity, price, uses_stock,
                                        free_after, i)),
    demand AS (
        SELECT l.product, sum(l.quantity)::BIGINT AS wanted,
               min(COALESCE(l.free_after, 0)) AS after
          FROM line l WHERE l.uses_stock GROUP BY l.product),
    free AS MATERIALIZED (
        SELECT d.product, f.id, row_number() OVER (PARTITION BY d.product ORDER BY f.id) AS rank
          FROM demand d
          CROSS JOIN LATERAL (
              SELECT s.id FROM stock_units s
               WHERE s.product_id = ANY(ARRAY[d.product]) AND s.id > d.after
                 AND s.state = 'available'
               ORDER BY s.product_id, s.id LIMIT d.wanted FOR UPDATE SKIP LOCKED) f),
    sold AS (
        UPDATE stock_units u SET state = 'sold', order_id = l.order_id
          FROM line l JOIN free f
            ON f.product = l.product AND f.rank > l.upto - l.quantity AND f.rank <= l.upto
         WHERE l.uses_stock AND u.id = f.id
        RETURNING l.n, u.id, u.product_id, u.payload),
    ordered AS (
        INSERT INTO orders (id, user_id, idem_key, fingerprint, cart_version, total_minor,
                            currency, status, created_at)
        SELECT o.order_id, o.user_id, o.key, o.fingerprint, o.cart_version, o.total,
               o.currency, 'paid', o.at
          FROM checkout o ORDER BY o.n),
    lined AS (
        INSERT INTO order_lines (order_id, line_no, product_id, name, kind, quantity,
                                 unit_price_minor)
        SELECT l.order_id, (l.i - 1)::INT, l.product, l.name, l.kind, l.quantity, l.price
          FROM line l),
    paid AS (
        UPDATE wallets w SET balance_minor = w.balance_minor - o.total
          FROM checkout o
         WHERE w.user_id = o.user_id AND w.currency = o.currency
           AND w.balance_minor - w.held_minor >= o.total
        RETURNING o.n),
    charged AS (
        INSERT INTO ledger_entries (user_id, idem_key, fingerprint, op, currency,
                                    balance_delta_minor, held_delta_minor, note, at)
        SELECT o.user_id, o.ledger_key, NULL,
               jsonb_set(o.charge, '{charge,order}', to_jsonb(o.order_id)),
               o.currency, -o.total, 0, NULL, o.at
          FROM checkout o ORDER BY o.n),
    queued AS (
        INSERT INTO outbox (user_id, body, status, attempts, not_before, created_at)
        SELECT o.user_id, jsonb_build_object('kind', 'order_delivered', 'order', o.order_id),
               'pending', 0, o.at, o.at
          FROM checkout o ORDER BY o.n),
    emptied AS (
        UPDATE carts k SET version = k.version + 1, lines = '[]'
          FROM checkout o WHERE k.user_id = o.user_id AND o.cart_version IS NOT NULL),
    -- Every unit wanted was free and every buyer could pay, or none of this happened.
    complete AS (
        SELECT (SELECT count(*) FROM paid) = (SELECT count(*) FROM checkout)
               AND (SELECT count(*) FROM sold) = (SELECT COALESCE(sum(d.wanted), 0) FROM demand d)
               AS yes)
    SELECT o.n, NULL::BIGINT, NULL::JSONB, o.order_id,
           COALESCE(u.ids, '{}'), COALESCE(u.products, '{}'), COALESCE(u.payloads, '{}')
      FROM checkout o
      CROSS JOIN complete
      LEFT JOIN LATERAL (
          SELECT array_agg(s.id ORDER BY s.id) AS ids,
                 array_agg(s.product_id ORDER BY s.id) AS products,
                 array_agg(s.payload ORDER BY s.id) AS payloads
            FROM sold s WHERE s.n = o.n) u ON TRUE
     WHERE CASE WHEN complete.yes THEN TRUE ELSE shop_one_by_one('short of stock or funds') END;
END
$$;

-- Runs `p_commands` (a JSON array of `shop_command` objects) one command at a time, in order;
-- the way a group runs when it cannot run together. One row per command, in the same order:
-- its failure (`code` and the rest) or its function's result.
--
-- Each command runs in its own subtransaction (the BEGIN … EXCEPTION block): a command that
-- fails, refused or lost to a race, rolls back alone and its SQLSTATE, message, detail and
-- constraint come back in its row; the others go on. The store answers a caller only after the
-- whole statement committed, and runs a command that lost a race again in a later group.
--
-- A group is at most a few dozen commands, well under the 64 subtransactions a backend tracks
-- in shared memory before other sessions' snapshots slow down.
CREATE FUNCTION shop_run_one_by_one(p_commands JSONB)
RETURNS TABLE (
    code TEXT, message TEXT, detail TEXT, constraint_name TEXT,
    version BIGINT, lines JSONB,
    recorded BOOLEAN, order_id BIGINT, invoice_id BIGINT,
    unit_ids BIGINT[], unit_products BIGINT[], unit_payloads TEXT[])
LANGUAGE plpgsql AS $$
DECLARE
    c shop_command;
BEGIN
    FOR c IN SELECT * FROM jsonb_populate_recordset(NULL::shop_command, p_commands) LOOP
        code := NULL; message := NULL; detail := NULL; constraint_name := NULL;
        version := NULL; lines := NULL;
        recorded := NULL; order_id := NULL; invoice_id := NULL;
        unit_ids := NULL; unit_products := NULL; unit_payloads := NULL;
        BEGIN
            IF c.op = 'edit_cart' THEN
                SELECT e.version, e.lines INTO version, lines
                  FROM shop_edit_cart(c.user_id, c.edit, c.product, c.quantity,
                                      c.max_lines, c.max_quantity) e;
            ELSIF c.op = 'commit_checkout' THEN
                SELECT r.recorded, r.order_id, r.invoice_id,
                       r.unit_ids, r.unit_products, r.unit_payloads
                  INTO recorded, order_id, invoice_id, unit_ids, unit_products, unit_payloads
                  FROM shop_commit_checkout(
                           c.user_id, c.key, c.fingerprint, c.cart_version,
                           c.products, c.names, c.kinds, c.quantities,
                           c.prices, c.currencies, c.uses_stock,
                           c.total, c.currency, c.total_adds_up,
                           c.ledger_key, c.charge,
                           c.invoice_lines, c.tax_bp, c.subtotal, c.tax, c.invoice_total,
                           c.purpose,
                           TIMESTAMPTZ 'epoch' + c.due_at_ms * INTERVAL '1 millisecond',
                           TIMESTAMPTZ 'epoch' + c.at_ms * INTERVAL '1 millisecond') r;
            ELSE
                RAISE EXCEPTION 'unknown command %', c.op;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                                    detail = PG_EXCEPTION_DETAIL,
                                    constraint_name = CONSTRAINT_NAME;
        END;
        RETURN NEXT;
    END LOOP;
END
$$;

-- Runs `p_commands` (a JSON array of `shop_command` objects): together when it can, else one
-- command at a time. One row per command, in the same order: its failure (`code` and the rest)
-- or its function's result.
CREATE FUNCTION shop_run(p_commands JSONB)
RETURNS TABLE (
    code TEXT, message TEXT, detail TEXT, constraint_name TEXT,
    version BIGINT, lines JSONB,
    recorded BOOLEAN, order_id BIGINT, invoice_id BIGINT,
    unit_ids BIGINT[], unit_products BIGINT[], unit_payloads TEXT[])
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        -- The rows are all made before the first is returned, so a try that fails returns none.
        RETURN QUERY
        SELECT NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::TEXT, t.version, t.lines,
               CASE WHEN t.order_id IS NULL THEN NULL ELSE FALSE END, t.order_id, NULL::BIGINT,
               t.unit_ids, t.unit_products, t.unit_payloads
          FROM shop_run_together(p_commands) t ORDER BY t.n;
        RETURN;
    EXCEPTION WHEN OTHERS THEN
        NULL;
    END;
    RETURN QUERY SELECT * FROM shop_run_one_by_one(p_commands);
END
$$;

-- =============================================================================================
-- The shared reads: `shop_callers_with_products`, `shop_callers_with_carts`
-- =============================================================================================
-- The reads a purchase makes first, asked for several callers at once (`batch.rs`), keep one
-- plan. Sent as plain statements, they would read their callers from arrays and the server
-- would fit a new plan to each batch's size: at 8 buyers, planning a batch took 113 µs and
-- running it 24 µs. A function's statements are planned once per connection, and these keep
-- one generic plan with rows reached by key whatever the statistics say (see the rules at the
-- top).

-- Each caller (with the settings) and the product it asked about, in the order asked.
CREATE FUNCTION shop_callers_with_products(p_users BIGINT[], p_products BIGINT[])
RETURNS TABLE (
    i BIGINT, maintenance BOOLEAN,
    user_id BIGINT, user_name TEXT, user_role TEXT, user_banned BOOLEAN,
    user_created_at TIMESTAMPTZ,
    id BIGINT, category_id BIGINT, name TEXT, description TEXT, kind TEXT, price_minor BIGINT,
    currency CHAR(3), hidden BOOLEAN, image TEXT, created_at TIMESTAMPTZ)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
BEGIN
    RETURN QUERY
    SELECT q.i, s.maintenance, u.id, u.name, u.role, u.banned, u.created_at,
           p.id, p.category_id, p.name, p.description, p.kind, p.price_minor, p.currency,
           p.hidden, p.image, p.created_at
      FROM unnest(p_users, p_products) WITH ORDINALITY AS q(asker, product, i)
      JOIN settings s ON s.singleton
      LEFT JOIN LATERAL (SELECT * FROM users x WHERE x.id = q.asker OFFSET 0) u ON TRUE
      LEFT JOIN LATERAL (SELECT * FROM products x WHERE x.id = q.product OFFSET 0) p ON TRUE
     ORDER BY q.i;
END
$$;

-- Each caller (with the settings), its cart and one row per line of it with the line's
-- product (one row with no line for an empty or missing cart), in the order asked.
CREATE FUNCTION shop_callers_with_carts(p_users BIGINT[])
RETURNS TABLE (
    i BIGINT, maintenance BOOLEAN,
    user_id BIGINT, user_name TEXT, user_role TEXT, user_banned BOOLEAN,
    user_created_at TIMESTAMPTZ,
    cart_version BIGINT, cart_lines JSONB,
    id BIGINT, category_id BIGINT, name TEXT, description TEXT, kind TEXT, price_minor BIGINT,
    currency CHAR(3), hidden BOOLEAN, image TEXT, created_at TIMESTAMPTZ)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
BEGIN
    RETURN QUERY
    SELECT q.i, s.maintenance, u.id, u.name, u.role, u.banned, u.created_at,
           c.version, c.lines,
           p.id, p.category_id, p.name, p.description, p.kind, p.price_minor, p.currency,
           p.hidden, p.image, p.created_at
      FROM unnest(p_users) WITH ORDINALITY AS q(asker, i)
      JOIN settings s ON s.singleton
      LEFT JOIN LATERAL (SELECT * FROM users x WHERE x.id = q.asker OFFSET 0) u ON TRUE
      LEFT JOIN LATERAL (SELECT * FROM carts x WHERE x.user_id = q.asker OFFSET 0) c ON TRUE
      LEFT JOIN LATERAL jsonb_array_elements(c.lines) AS l(line) ON TRUE
      LEFT JOIN LATERAL (SELECT * FROM products x
                          WHERE x.id = (l.line->>'product')::BIGINT OFFSET 0) p ON TRUE
     ORDER BY q.i, p.id;
END
$$;
