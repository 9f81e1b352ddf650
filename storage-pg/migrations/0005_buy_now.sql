-- Buying at once ("buy now"): a checkout with no cart version buys the lines it names and
-- leaves the cart as it is, so a purchase straight from a product page is one command instead
-- of a cart edit and a checkout. Its order records no cart version. The buyer's cart row is
-- still locked first, as for every purchase command: it is what makes two checkouts of one
-- user (a double tap) run one after the other, so the second finds the first's key.
--
-- Both purchase functions are replaced whole, as PostgreSQL replaces functions. What changed:
-- where a checkout without a cart version takes its lines from, that its cart is not emptied,
-- and how free units are found. A product's free units are now always reached through the
-- index of free units. With a plain `product_id = …`, statistics taken while most units were
-- free let the planner walk the primary key in id order instead, filtering for free units:
-- every checkout then read every unit sold before the first free one (tens of thousands of
-- blocks for a product with 20,000 sales). `= ANY(ARRAY[…])` is not an equality the planner can
-- treat as a constant, so ordering by the product and id only that index provides.

ALTER TABLE orders ALTER COLUMN cart_version DROP NOT NULL;

-- Migration 0002's checkout, one command on its own.
CREATE OR REPLACE FUNCTION shop_commit_checkout(
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

-- Migration 0004's group of purchase commands run together.
CREATE OR REPLACE FUNCTION shop_run_together(p_commands JSONB)
RETURNS TABLE (
    n BIGINT, version BIGINT, lines JSONB,
    order_id BIGINT, unit_ids BIGINT[], unit_products BIGINT[], unit_payloads TEXT[])
LANGUAGE plpgsql AS $$
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
               c.products, c.names, c.kinds, c.quantities, c.prices, c.uses_stock,
               c.total, c.currency, c.ledger_key, c.charge,
               TIMESTAMPTZ 'epoch' + c.at_ms * INTERVAL '1 millisecond' AS at,
               nextval('orders_id_seq') AS order_id
          FROM unnest(v_commands) WITH ORDINALITY AS c
         WHERE c.op = 'commit_checkout'),
    line AS MATERIALIZED (
        SELECT o.n, o.order_id, l.i, l.product, l.name, l.kind, l.quantity, l.price, l.uses_stock,
               -- Units of this product the group's earlier lines take, this line's included.
               sum(l.quantity) OVER (PARTITION BY l.product, l.uses_stock
                                     ORDER BY o.n, l.i) AS upto
          FROM checkout o,
               unnest(o.products, o.names, o.kinds, o.quantities, o.prices, o.uses_stock)
                   WITH ORDINALITY AS l(product, name, kind, quantity, price, uses_stock, i)),
    demand AS (
        SELECT l.product, sum(l.quantity)::BIGINT AS wanted
          FROM line l WHERE l.uses_stock GROUP BY l.product),
    free AS MATERIALIZED (
        SELECT d.product, f.id, row_number() OVER (PARTITION BY d.product ORDER BY f.id) AS rank
          FROM demand d
          CROSS JOIN LATERAL (
              SELECT s.id FROM stock_units s
               WHERE s.product_id = ANY(ARRAY[d.product]) AND s.state = 'available'
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

-- Replacing a function resets its settings; these are migration 0004's, for the same reasons.
ALTER FUNCTION shop_run_together(JSONB) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION shop_run_together(JSONB) SET enable_seqscan = off;
ALTER FUNCTION shop_run_together(JSONB) SET enable_hashjoin = off;
ALTER FUNCTION shop_run_together(JSONB) SET enable_mergejoin = off;
