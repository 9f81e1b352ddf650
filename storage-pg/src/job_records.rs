//! The record of background jobs (`job_records`): each job's last round, how many rounds were
//! recorded, and a pending request to run it now. Each command is one statement, an upsert on
//! the job's name, so concurrent rounds and requests of one job take turns on its row.

use sqlx::PgConnection;
use sqlx::postgres::PgRow;

use shopbot_core::Error;
use shopbot_core::jobs::{JobRecord, JobRound, check_job_name};
use shopbot_core::time::Timestamp;

use crate::convert::to_db;
use crate::error::Attempt;
use crate::rows::{self, JOB_COLUMNS};

/// Records a finished round: it becomes `last`, `rounds` grows by one, and a request made at
/// or before the round's start is cleared.
pub(crate) async fn record_round(conn: &mut PgConnection, round: &JobRound) -> Attempt<JobRecord> {
    check_job_name(&round.name)?;
    let count = i64::try_from(round.count).map_err(|_| {
        Error::invalid(format!(
            "a job round's count of {} is too large",
            round.count
        ))
    })?;
    let sql = format!(
        "INSERT INTO job_records AS j (name, rounds, requested_at, last_started_at, \
             last_finished_at, last_succeeded, last_count, last_summary, \
             last_consecutive_failures, last_next_due) \
         VALUES ($1, 1, NULL, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (name) DO UPDATE SET \
             rounds = j.rounds + 1, \
             requested_at = CASE WHEN j.requested_at <= EXCLUDED.last_started_at THEN NULL \
                                 ELSE j.requested_at END, \
             last_started_at = EXCLUDED.last_started_at, \
             last_finished_at = EXCLUDED.last_finished_at, \
             last_succeeded = EXCLUDED.last_succeeded, \
             last_count = EXCLUDED.last_count, \
             last_summary = EXCLUDED.last_summary, \
             last_consecutive_failures = EXCLUDED.last_consecutive_failures, \
             last_next_due = EXCLUDED.last_next_due \
         RETURNING {JOB_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(&round.name)
        .bind(to_db(round.started_at))
        .bind(to_db(round.finished_at))
        .bind(round.succeeded)
        .bind(count)
        .bind(&round.summary)
        .bind(i64::from(round.consecutive_failures))
        .bind(to_db(round.next_due))
        .fetch_one(conn)
        .await?;
    Ok(rows::job_record(&row)?)
}

/// Asks for a run of `name` at `at`, unless a request is pending; creates the record of a job
/// with no rounds yet.
pub(crate) async fn request_run(
    conn: &mut PgConnection,
    name: &str,
    at: Timestamp,
) -> Attempt<JobRecord> {
    check_job_name(name)?;
    let sql = format!(
        "INSERT INTO job_records AS j (name, rounds, requested_at) VALUES ($1, 0, $2) \
         ON CONFLICT (name) DO UPDATE SET \
             requested_at = COALESCE(j.requested_at, EXCLUDED.requested_at) \
         RETURNING {JOB_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(name)
        .bind(to_db(at))
        .fetch_one(conn)
        .await?;
    Ok(rows::job_record(&row)?)
}

/// Every job record, in name order.
pub(crate) async fn records(conn: &mut PgConnection) -> Attempt<Vec<JobRecord>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM job_records ORDER BY name");
    let found: Vec<PgRow> = sqlx::query(&sql).fetch_all(conn).await?;
    Ok(found
        .iter()
        .map(rows::job_record)
        .collect::<Result<_, _>>()?)
}
