-- The two commands a purchase runs, each as one server-side function, so each costs one round
-- trip instead of one per statement: `shop_edit_cart` and `shop_commit_checkout`. They run as a
-- single statement in autocommit, so a refusal (raised with a shopbot SQLSTATE of class SB)
-- rolls back everything the call wrote, and a lost race (serialization failure, deadlock, a
-- twin's unique key) is retried by the store as a whole call.
--
-- Refusals, read back by storage-pg/src/refusal.rs:
--   SB001 out of stock           DETAIL 'product requested available'
--   SB002 insufficient funds     DETAIL 'needed available currency' (in minor units)
--   SB003 key used for another checkout
--   SB004 cart changed           SB005 product unavailable, DETAIL 'product'
--   SB006 price changed          SB007 cart empty
--   SB008 unknown user, DETAIL 'user'  SB009 amount not positive
--   SB010 too many of a product  SB011 too many products in the cart
--   SB012 the request's total is not the sum of its lines
--
-- The rules that live in core are passed in rather than repeated here: the most lines and the
-- largest quantity of a cart, which kinds keep stock, whether the request's total adds up.

-- A ledger entry written by a server-side function has no stored fingerprint: the fingerprint
-- of an entry is that of its own request (user, op, note), which readers compute from the row
-- with core's one fingerprint function.
ALTER TABLE ledger_entries ALTER COLUMN fingerprint DROP NOT NULL;

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

-- Applies one edit (`add`, `set`, `remove`, `clear`) as core's `Cart::apply` does and bumps
-- the version.
CREATE FUNCTION shop_edit_cart(
    p_user BIGINT, p_edit TEXT, p_product BIGINT, p_quantity INT,
    p_max_lines INT, p_max_quantity INT,
    OUT version BIGINT, OUT lines JSONB)
LANGUAGE plpgsql AS $$
DECLARE
    v_position BIGINT;
    v_quantity INT;
BEGIN
    SELECT c.version, c.lines INTO version, lines FROM shop_lock_cart(p_user) c;
    IF p_edit IN ('add', 'set') THEN
        SELECT t.n, (t.line->>'quantity')::INT INTO v_position, v_quantity
            FROM jsonb_array_elements(lines) WITH ORDINALITY AS t(line, n)
            WHERE (t.line->>'product')::BIGINT = p_product;
        IF v_position IS NULL THEN
            IF jsonb_array_length(lines) >= p_max_lines THEN
                RAISE EXCEPTION USING ERRCODE = 'SB011', MESSAGE = 'too many lines';
            END IF;
            lines := lines || jsonb_build_array(
                jsonb_build_object('product', p_product, 'quantity', p_quantity));
        ELSE
            IF p_edit = 'add' THEN
                v_quantity := v_quantity + p_quantity;
                IF v_quantity > p_max_quantity THEN
                    RAISE EXCEPTION USING ERRCODE = 'SB010', MESSAGE = 'too many';
                END IF;
            ELSE
                v_quantity := p_quantity;
            END IF;
            lines := jsonb_set(lines, ARRAY[(v_position - 1)::TEXT, 'quantity'],
                               to_jsonb(v_quantity));
        END IF;
    ELSIF p_edit = 'remove' THEN
        lines := COALESCE(
            (SELECT jsonb_agg(t.line ORDER BY t.n)
               FROM jsonb_array_elements(lines) WITH ORDINALITY AS t(line, n)
              WHERE (t.line->>'product')::BIGINT <> p_product),
            '[]');
    ELSIF p_edit = 'clear' THEN
        lines := '[]';
    ELSE
        RAISE EXCEPTION 'unknown cart edit %', p_edit;
    END IF;
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

    IF v_version <> p_cart_version THEN
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
        -- The oldest free units; units other buyers hold locks on are skipped, never waited for.
        WITH free AS MATERIALIZED (
                 SELECT s.id FROM stock_units s
                  WHERE s.product_id = p_products[i] AND s.state = 'available'
                  ORDER BY s.id LIMIT p_quantities[i] FOR UPDATE SKIP LOCKED),
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

    UPDATE carts SET version = v_version + 1, lines = '[]' WHERE user_id = p_user;
END
$$;
