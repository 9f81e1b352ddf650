//! Staff-notice choices, notice keys and job records, into their empty tables.

use sqlx::PgConnection;

use shopbot_core::Error;
use shopbot_core::dump::Dump;
use shopbot_core::jobs::{JobRecord, JobRound};

use super::{CHUNK, col, int};
use crate::convert::to_db;
use crate::error::Attempt;

/// A job's last round, if any.
fn last(job: &JobRecord) -> Option<&JobRound> {
    job.last.as_ref()
}

/// One row per person and kind they chose.
pub(super) async fn notice_kinds(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    let rows: Vec<(i64, &str)> = dump
        .notice_kinds
        .iter()
        .flat_map(|choice| choice.kinds.iter().map(|kind| (choice.user.0, kind.name())))
        .collect();
    for chunk in rows.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO notice_kinds (user_id, kind) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[])",
        )
        .bind(col(chunk, |(user, _)| *user))
        .bind(col(chunk, |(_, kind)| *kind))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn notice_keys(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    for chunk in dump.notice_keys.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO notice_keys (key, notified_at) \
             SELECT * FROM UNNEST($1::TEXT[], $2::TIMESTAMPTZ[])",
        )
        .bind(col(chunk, |k| k.key.as_str()))
        .bind(col(chunk, |k| to_db(k.at)))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Each job's record; a last round must be the job's own (its name is not stored twice).
pub(super) async fn jobs(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    if let Some(job) = dump
        .jobs
        .iter()
        .find(|job| job.last.as_ref().is_some_and(|last| last.name != job.name))
    {
        let message = format!("the job record {:?} holds another job's round", job.name);
        return Err(Error::invalid(message).into());
    }
    for chunk in dump.jobs.chunks(CHUNK) {
        let counts = chunk
            .iter()
            .map(|job| job.last.as_ref().map(|l| int(l.count)).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let rounds = chunk
            .iter()
            .map(|job| int(job.rounds))
            .collect::<Result<Vec<_>, _>>()?;
        sqlx::query(
            "INSERT INTO job_records (name, rounds, requested_at, last_started_at, \
                 last_finished_at, last_succeeded, last_count, last_summary, \
                 last_consecutive_failures, last_next_due) \
             SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TIMESTAMPTZ[], \
                 $4::TIMESTAMPTZ[], $5::TIMESTAMPTZ[], $6::BOOLEAN[], $7::BIGINT[], $8::TEXT[], \
                 $9::BIGINT[], $10::TIMESTAMPTZ[])",
        )
        .bind(col(chunk, |j| j.name.as_str()))
        .bind(rounds)
        .bind(col(chunk, |j| j.requested_at.map(to_db)))
        .bind(col(chunk, |j| last(j).map(|l| to_db(l.started_at))))
        .bind(col(chunk, |j| last(j).map(|l| to_db(l.finished_at))))
        .bind(col(chunk, |j| last(j).map(|l| l.succeeded)))
        .bind(counts)
        .bind(col(chunk, |j| last(j).map(|l| l.summary.as_str())))
        .bind(col(chunk, |j| {
            last(j).map(|l| i64::from(l.consecutive_failures))
        }))
        .bind(col(chunk, |j| last(j).map(|l| to_db(l.next_due))))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
