-- A group of purchase commands run together: `shop_run` first tries the whole group with a
-- fixed number of set-based statements (`shop_run_together`), whatever its size, instead of
-- some fifteen statements per command. That try is one subtransaction: it refuses the moment
-- anything is out of the ordinary (a refusal, a twin, a race, an invoice checkout) and rolls
-- back whole, and the group then runs one command at a time as before, where each command gets
-- its own outcome. Refusals are rare, so most groups pay for a handful of statements in all.
--
-- The shortcut takes a group whose commands all come from different users, so no two of them
-- touch the same cart, wallet or idempotency key, and their order inside the group does not
-- matter: they commute. Carts are locked first, in user id order (the order every purchase
-- command takes a cart lock in), then products (shared, in id order), then free units (skipped
-- when another buyer holds them, never waited for).

-- A cart's lines after one edit, as core's `Cart::apply` computes them; raises SB010 or SB011
-- when the edit breaks a limit.
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

-- Why a group cannot run together; `shop_run` catches it (and every other error) and runs the
-- group one command at a time.
CREATE FUNCTION shop_one_by_one(p_why TEXT) RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'SB100', MESSAGE = 'run one by one: ' || p_why;
END
$$;

-- The whole group at once, every command succeeding, or an exception and nothing done. One row
-- per command: its position `n` in `p_commands` and what its own function would return.
CREATE FUNCTION shop_run_together(p_commands JSONB)
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

    -- Every cart the group touches, locked; an editor without a cart gets an empty one.
    PERFORM 1 FROM carts k WHERE k.user_id = ANY(v_users) ORDER BY k.user_id FOR UPDATE;
    GET DIAGNOSTICS v_locked = ROW_COUNT;
    IF v_locked < cardinality(v_users) THEN
        INSERT INTO carts (user_id, version, lines)
            SELECT u, 0, '[]' FROM unnest(v_edit_users) AS u ORDER BY u
            ON CONFLICT (user_id) DO NOTHING;
        PERFORM 1 FROM carts k WHERE k.user_id = ANY(v_users) ORDER BY k.user_id FOR UPDATE;
        GET DIAGNOSTICS v_locked = ROW_COUNT;
        IF v_locked < cardinality(v_users) THEN
            PERFORM shop_one_by_one('a checkout without a cart');
        END IF;
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
    -- products now), and no checkout may have been recorded under its key.
    PERFORM shop_one_by_one('a checkout that would be refused or was recorded')
       FROM unnest(v_commands) AS c
       JOIN carts k ON k.user_id = c.user_id
      WHERE c.op = 'commit_checkout'
        AND (k.version <> c.cart_version
             OR jsonb_array_length(k.lines) = 0
             OR jsonb_array_length(k.lines) <> COALESCE(cardinality(c.products), 0)
             -- OFFSET 0 keeps this a lookup per checkout: the planner could otherwise turn
             -- it into a hash of every order the shop has.
             OR EXISTS (SELECT 1 FROM orders o
                         WHERE o.user_id = c.user_id AND o.idem_key = c.key OFFSET 0)
             OR EXISTS (
                 SELECT 1
                   FROM jsonb_array_elements(k.lines) WITH ORDINALITY AS t(line, i)
                   LEFT JOIN products p ON p.id = (t.line->>'product')::BIGINT
                  WHERE p.id IS NULL OR p.hidden
                     OR p.id IS DISTINCT FROM c.products[t.i]
                     OR p.name IS DISTINCT FROM c.names[t.i]
                     OR p.kind IS DISTINCT FROM c.kinds[t.i]
                     OR (t.line->>'quantity')::INT IS DISTINCT FROM c.quantities[t.i]
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
               WHERE s.product_id = d.product AND s.state = 'available'
               ORDER BY s.id LIMIT d.wanted FOR UPDATE SKIP LOCKED) f),
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
          FROM checkout o WHERE k.user_id = o.user_id),
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
-- The statements above read the commands from an array, whose size a custom plan would be fitted
-- to; one generic plan serves every group and saves planning each statement on every call. A
-- group is a few dozen commands, each reaching its rows by key: the plans probe indexes from the
-- commands, and never scan or hash a whole table, whatever the statistics say (a new shop's
-- tables look empty to the planner, and a plan made then is kept).
ALTER FUNCTION shop_run_together(JSONB) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION shop_run_together(JSONB) SET enable_seqscan = off;
ALTER FUNCTION shop_run_together(JSONB) SET enable_hashjoin = off;
ALTER FUNCTION shop_run_together(JSONB) SET enable_mergejoin = off;

-- One command at a time (migration 0003's `shop_run`), each in its own subtransaction: the way
-- a group runs when it cannot run together.
ALTER FUNCTION shop_run(JSONB) RENAME TO shop_run_one_by_one;

-- Runs `p_commands` (see migration 0003): together when it can, else one command at a time.
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

-- One cart edit on its own (migration 0002), now with the same rules as a group's edits.
CREATE OR REPLACE FUNCTION shop_edit_cart(
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
