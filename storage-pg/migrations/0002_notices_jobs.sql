-- Staff notices and the record of background jobs.
--
-- As in 0001, the invariants live in the schema: a person's notice kinds are known kinds of a
-- known user, each once; a notice key is announced once (its primary key, inserted in the
-- same transaction as the notice's messages); a job's name is kebab-case and its record
-- either has a last round, whole, or none.

-- The kinds of staff notice each person opted into, one row per (person, kind). No row: none.
CREATE TABLE notice_kinds (
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind    TEXT NOT NULL
        CHECK (kind IN ('order-paid', 'low-stock', 'delivery-failed', 'payment-received')),
    PRIMARY KEY (user_id, kind)
);
-- `notify_staff` finds the people opted into one kind, in user id order.
CREATE INDEX notice_kinds_by_kind ON notice_kinds (kind, user_id);

-- Every notice key ever announced, whether anybody was told or not: a key is announced once.
CREATE TABLE notice_keys (
    key         TEXT NOT NULL
        CHECK (octet_length(key) BETWEEN 1 AND 200 AND key ~ '^[!-~]+$'),
    notified_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT notice_keys_pkey PRIMARY KEY (key)
);

-- What the store knows of each job: its last round (all `last_*` columns, or none), how many
-- rounds were recorded, and a pending request to run it now.
CREATE TABLE job_records (
    -- Byte order, as every store lists jobs.
    name                      TEXT COLLATE "C" PRIMARY KEY
        CHECK (octet_length(name) <= 64 AND name ~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$'),
    rounds                    BIGINT NOT NULL CHECK (rounds >= 0),
    requested_at              TIMESTAMPTZ,
    last_started_at           TIMESTAMPTZ,
    last_finished_at          TIMESTAMPTZ,
    last_succeeded            BOOLEAN,
    last_count                BIGINT CHECK (last_count >= 0),
    last_summary              TEXT,
    last_consecutive_failures BIGINT CHECK (last_consecutive_failures BETWEEN 0 AND 4294967295),
    last_next_due             TIMESTAMPTZ,
    CHECK (num_nulls(last_started_at, last_finished_at, last_succeeded, last_count,
                     last_summary, last_consecutive_failures, last_next_due) IN (0, 7)),
    -- A job has a last round exactly when it has rounds.
    CHECK ((rounds = 0) = (last_started_at IS NULL))
);

-- The housekeeping sweep deletes dialogues by `expires_at` and processed update ids by
-- `processed_at` without an index on either: both tables stay small because they are swept,
-- while an index would cost every `save_dialogue` and `mark_update_processed`, the writes of
-- every messenger update.
