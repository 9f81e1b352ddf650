-- The reads a purchase makes first, asked for several callers at once (`batch.rs`), keep one
-- plan. As statements sent from the store they read their callers from arrays, and the server
-- fitted a new plan to each batch's size: at 8 buyers, planning a batch took 113 µs and running
-- it 24 µs. A function's statements are planned once per connection, with the settings of
-- `shop_run_together` (migration 0004) and for the same reasons: one generic plan, rows reached
-- by key whatever the statistics say.

-- Each caller (with the settings) and the product it asked about, in the order asked.
CREATE FUNCTION shop_callers_with_products(p_users BIGINT[], p_products BIGINT[])
RETURNS TABLE (
    i BIGINT, maintenance BOOLEAN,
    user_id BIGINT, user_name TEXT, user_role TEXT, user_banned BOOLEAN,
    user_created_at TIMESTAMPTZ,
    id BIGINT, category_id BIGINT, name TEXT, description TEXT, kind TEXT, price_minor BIGINT,
    currency CHAR(3), hidden BOOLEAN, image TEXT, created_at TIMESTAMPTZ)
LANGUAGE plpgsql STABLE AS $$
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
LANGUAGE plpgsql STABLE AS $$
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

ALTER FUNCTION shop_callers_with_products(BIGINT[], BIGINT[])
    SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION shop_callers_with_products(BIGINT[], BIGINT[]) SET enable_seqscan = off;
ALTER FUNCTION shop_callers_with_products(BIGINT[], BIGINT[]) SET enable_hashjoin = off;
ALTER FUNCTION shop_callers_with_products(BIGINT[], BIGINT[]) SET enable_mergejoin = off;
ALTER FUNCTION shop_callers_with_carts(BIGINT[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION shop_callers_with_carts(BIGINT[]) SET enable_seqscan = off;
ALTER FUNCTION shop_callers_with_carts(BIGINT[]) SET enable_hashjoin = off;
ALTER FUNCTION shop_callers_with_carts(BIGINT[]) SET enable_mergejoin = off;
