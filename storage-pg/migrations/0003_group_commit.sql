-- Group commit for the purchase commands: `shop_run` runs the `shop_edit_cart` and
-- `shop_commit_checkout` calls of several concurrent callers in one statement, so they share
-- one round trip and one commit (one WAL flush) instead of paying for one each.
--
-- Each command runs in its own subtransaction (the BEGIN … EXCEPTION block): a command that
-- fails, refused or lost to a race, rolls back alone and its SQLSTATE, message, detail and
-- constraint come back in its row; the others go on. The store answers a caller only after the
-- whole statement committed, and runs a command that lost a race again in a later group.
--
-- A group is at most a few dozen commands, well under the 64 subtransactions a backend tracks
-- in shared memory before other sessions' snapshots slow down.

-- One command: its kind (`edit_cart` or `commit_checkout`) and the arguments of that
-- function, named as in the JSON object the store sends. Times travel as Unix milliseconds,
-- which JSON carries exactly.
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
    at_ms         BIGINT
);

-- Runs `p_commands` (a JSON array of `shop_command` objects) in order; one row per command, in
-- the same order: its failure (`code` and the rest) or its function's result.
CREATE FUNCTION shop_run(p_commands JSONB)
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
