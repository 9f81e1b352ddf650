-- Claims start after the newest unit the store sold of the product. Every sale leaves the
-- sold unit's entry in the index of free units until VACUUM removes it, and a claim read from
-- the product's first entry, so on a product that sells fast each claim read every unit sold
-- since the last VACUUM. With 120,000 sales since then, a group of four checkouts took 3.6 ms of
-- server time, and 2.3 ms once vacuumed; by default a table of a million units is vacuumed
-- every 200,000 changes. Units freed below that point (a reservation released, a claim another
-- instance rolled back) are still sold, by claims that read from the first unit as before:
-- those of invoice checkouts, which run one command at a time, and those of a group that finds
-- too few units above it and so runs one command at a time.
--
-- Each line of a checkout may now say where its product's claim starts (`free_after`, a unit
-- id; none or NULL means from the first unit). `shop_run_together` is replaced whole, as
-- PostgreSQL replaces functions; only the claim changed.

ALTER TYPE shop_command ADD ATTRIBUTE free_after BIGINT[];

-- Migration 0005's group of purchase commands run together.
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

-- Replacing a function resets its settings; these are migration 0004's, for the same reasons.
ALTER FUNCTION shop_run_together(JSONB) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION shop_run_together(JSONB) SET enable_seqscan = off;
ALTER FUNCTION shop_run_together(JSONB) SET enable_hashjoin = off;
ALTER FUNCTION shop_run_together(JSONB) SET enable_mergejoin = off;
