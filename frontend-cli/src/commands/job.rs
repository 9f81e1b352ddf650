//! `shopbot job list` and `shopbot job run NAME`: the background jobs this configuration
//! enables ([`serve::enabled_jobs`], the one job list), joined with what the store recorded
//! of them; and one round of a job now.
//!
//! `job run` never runs a job beside the process that runs the jobs. On PostgreSQL, when a
//! `serve` process leads (it holds the leadership lock), it leaves a request in the store and
//! waits, at most [`WAIT_FOR_LEADER`], for a round the leader started after it. When none
//! leads, it becomes the leader for the moment of the round (so no `serve` process can start
//! leading meanwhile) and runs the job itself, its writes fenced like a leader's. On the JSON
//! store the running shop holds the store's lock, so `job run` only works while no shop runs
//! (the store's "in use" error says so) and then runs the job itself. Either way the round is
//! recorded in the store, as the scheduler records every round.

use std::io::Write;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde::Serialize;
use shopbot_core::jobs::{
    DELIVER_OUTBOX, DELIVER_OUTBOX_EVERY, JobOutcome, JobRecord, JobRound, JobRun,
};
use shopbot_core::ports::{Clock, SystemClock};
use shopbot_core::time::Timestamp;
use shopbot_storage_pg::{Leader, PgStore, leader_pid};

use crate::commands::serve::{self, Term};
use crate::config::values::format_duration;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{self, Table};
use crate::store::Backend;

/// How long `job run` waits for the leading `serve` process to run a requested job.
pub const WAIT_FOR_LEADER: Duration = Duration::from_secs(30);

/// How often `job run` looks whether the leader's round is recorded.
const LOOK_EVERY: Duration = Duration::from_millis(200);

/// `shopbot job …`
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Every job the configuration enables: period, last run, outcome, failures, next due time
    /// and any pending request
    #[command(after_help = "\
Shows what the store recorded of each job, whichever process ran it. A job never run yet
shows `-`. With --json: {\"jobs\": [{name, period, period_ms, rounds, last_run, finished_at,
outcome, summary, count, consecutive_failures, next_due, requested_at}]}, times in RFC 3339 or
null.

Examples:
  shopbot job list
  shopbot --json job list")]
    List,
    /// Run one job now (through the running shop on PostgreSQL, or directly when none runs)
    Run(RunArgs),
}

/// `shopbot job run`
#[derive(Debug, Args)]
#[command(after_help = "\
On PostgreSQL with a `serve` process running, the request goes to the process that leads the
jobs, and this command waits up to 30 s for its round and prints the outcome. With no shop
running it runs the job itself (as the jobs' leader for that moment) and records the round.
On the JSON store a running shop holds the store, so stop it first or wait for the job's turn.
Exit 1 when the round failed; exit 2 for a job the configuration does not enable.

Examples:
  shopbot job run expire-invoices
  shopbot --json job run backup")]
pub struct RunArgs {
    /// The job's name, as `shopbot job list` shows it (such as expire-invoices)
    pub name: String,
}

/// Runs `shopbot job …`.
pub async fn run(command: &JobCommand, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    match command {
        JobCommand::List => list(ctx, out).await,
        JobCommand::Run(args) => run_one(args, ctx, out).await,
    }
}

/// One job in `job list --json`.
#[derive(Debug, Serialize)]
struct JobView {
    name: String,
    period: String,
    period_ms: u64,
    rounds: u64,
    last_run: Option<String>,
    finished_at: Option<String>,
    /// `succeeded` or `failed`; `None` before the first round.
    outcome: Option<&'static str>,
    summary: Option<String>,
    count: Option<u64>,
    consecutive_failures: u32,
    next_due: Option<String>,
    requested_at: Option<String>,
}

/// The enabled jobs' names and periods, in the order they run; with a bot token configured,
/// also `deliver-outbox`, which only `serve` can run (it needs the bot).
async fn enabled(ctx: &Ctx) -> CliResult<Vec<(&'static str, Duration)>> {
    let backend = ctx.existing_backend().await?;
    let shop = ctx.shop().await?;
    let mut jobs: Vec<(&'static str, Duration)> =
        serve::enabled_jobs(shop, ctx.settings(), backend)
            .iter()
            .map(|job| (job.name(), job.period()))
            .collect();
    if ctx.settings().telegram.token.is_some() {
        jobs.push((DELIVER_OUTBOX, DELIVER_OUTBOX_EVERY));
    }
    Ok(jobs)
}

async fn list(ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let jobs = enabled(ctx).await?;
    let records = ctx
        .existing_backend()
        .await?
        .storage()
        .job_records()
        .await?;
    let views: Vec<JobView> = jobs
        .into_iter()
        .map(|(name, period)| job_view(name, period, records.iter().find(|r| r.name == name)))
        .collect();
    if ctx.json() {
        return output::json(out, &serde_json::json!({ "jobs": views }));
    }
    let mut table = Table::new(&[
        "JOB",
        "EVERY",
        "LAST RUN",
        "OUTCOME",
        "FAILURES",
        "NEXT DUE",
        "REQUESTED",
        "SUMMARY",
    ]);
    let shown = |time: &Option<String>| time.clone().unwrap_or_else(|| "-".to_owned());
    for view in &views {
        table.row([
            view.name.clone(),
            view.period.clone(),
            shown(&view.last_run).replacen('T', " ", 1),
            view.outcome.unwrap_or("-").to_owned(),
            view.consecutive_failures.to_string(),
            shown(&view.next_due).replacen('T', " ", 1),
            shown(&view.requested_at).replacen('T', " ", 1),
            output::clean(view.summary.as_deref().unwrap_or("-")),
        ]);
    }
    table.write(out)?;
    Ok(())
}

fn job_view(name: &str, period: Duration, record: Option<&JobRecord>) -> JobView {
    let last = record.and_then(|record| record.last.as_ref());
    let time = |at: Timestamp| output::time_rfc3339(at);
    JobView {
        name: name.to_owned(),
        period: format_duration(period),
        period_ms: u64::try_from(period.as_millis()).unwrap_or(u64::MAX),
        rounds: record.map_or(0, |record| record.rounds),
        last_run: last.map(|round| time(round.started_at)),
        finished_at: last.map(|round| time(round.finished_at)),
        outcome: last.map(|round| outcome_word(round.succeeded)),
        summary: last.map(|round| round.summary.clone()),
        count: last.map(|round| round.count),
        consecutive_failures: last.map_or(0, |round| round.consecutive_failures),
        next_due: last.map(|round| time(round.next_due)),
        requested_at: record.and_then(|record| record.requested_at).map(time),
    }
}

fn outcome_word(succeeded: bool) -> &'static str {
    if succeeded { "succeeded" } else { "failed" }
}

/// What `job run` prints: the round it ran or waited for.
#[derive(Debug, Serialize)]
struct RoundView {
    job: String,
    /// `this process` or `the running shop`.
    ran_by: &'static str,
    started_at: String,
    finished_at: String,
    outcome: &'static str,
    count: u64,
    summary: String,
}

async fn run_one(args: &RunArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let jobs = enabled(ctx).await?;
    let Some(&(name, _)) = jobs.iter().find(|(name, _)| *name == args.name) else {
        let names: Vec<&str> = jobs.iter().map(|(name, _)| *name).collect();
        return Err(CliError::usage(format!(
            "there is no job named `{}`; the jobs are: {}",
            output::clean(&args.name.chars().take(64).collect::<String>()),
            names.join(", ")
        )));
    };
    let backend = ctx.existing_backend().await?;
    let round = match backend {
        // Through a running shop the job runs here, each of its storage commands in the shop.
        Backend::Json(_) | Backend::Remote(_) => run_here(ctx, name, Term::Sole).await?,
        Backend::Postgres(store) => run_on_postgres(ctx, store, name).await?,
    };
    let succeeded = round.succeeded;
    let view = round.view;
    if ctx.json() {
        output::json(out, &view)?;
    } else {
        writeln!(
            out,
            "{} {} (run by {}): {}",
            view.job,
            view.outcome,
            view.ran_by,
            output::clean(&view.summary)
        )?;
    }
    if succeeded {
        Ok(())
    } else {
        Err(CliError::internal(format!(
            "job `{name}` failed: {}",
            output::clean(&view.summary)
        )))
    }
}

/// A round `job run` ran or waited for.
struct Ran {
    succeeded: bool,
    view: RoundView,
}

impl Ran {
    /// A round recorded in the store by the process that ran it.
    fn recorded(round: JobRound, ran_by: &'static str) -> Ran {
        Ran {
            succeeded: round.succeeded,
            view: RoundView {
                job: round.name,
                ran_by,
                started_at: output::time_rfc3339(round.started_at),
                finished_at: output::time_rfc3339(round.finished_at),
                outcome: outcome_word(round.succeeded),
                count: round.count,
                summary: round.summary,
            },
        }
    }

    /// A round this process ran.
    fn here(run: JobRun) -> Ran {
        let (succeeded, count, summary) = match run.outcome {
            JobOutcome::Succeeded(report) => (true, report.count, report.summary),
            JobOutcome::Failed { message } => (false, 0, message),
        };
        Ran {
            succeeded,
            view: RoundView {
                job: run.name.to_owned(),
                ran_by: "this process",
                started_at: output::time_rfc3339(run.started_at),
                finished_at: output::time_rfc3339(run.finished_at),
                outcome: outcome_word(succeeded),
                count,
                summary,
            },
        }
    }
}

/// Runs `name` in the leading `serve` process if one leads, else here as the leader.
async fn run_on_postgres(ctx: &Ctx, store: &PgStore, name: &'static str) -> CliResult<Ran> {
    if leader_pid(store).await?.is_none() {
        let who = format!("{} (job run)", serve::instance_name());
        let mut leader = Leader::new(store, &who).await?;
        if let Some(epoch) = leader.try_lead().await? {
            let round = run_here(ctx, name, Term::Epoch(epoch)).await;
            // Dropping the leadership connection ends this moment of leadership.
            drop(leader);
            return round;
        }
    }
    let round = ask_the_leader(ctx, name).await?;
    Ok(Ran::recorded(round, "the running shop"))
}

/// Runs `name` in this process over the storage of `term`, recording the round.
async fn run_here(ctx: &Ctx, name: &str, term: Term) -> CliResult<Ran> {
    if name == DELIVER_OUTBOX {
        return Err(CliError::refused(
            "deliver-outbox sends through the bot, so only a running `shopbot serve` with the \
             bot runs it, and no shop is running: start `shopbot serve`",
        ));
    }
    let backend = ctx.existing_backend().await?;
    let shop = ctx.shop().await?;
    let storage = serve::term_storage(backend, term);
    let scheduler = serve::recording_scheduler(shop, ctx.settings(), backend, storage).await?;
    Ok(Ran::here(scheduler.run_now(name).await?))
}

/// Leaves a request for `name` and waits for the leader's round that answers it.
async fn ask_the_leader(ctx: &Ctx, name: &str) -> CliResult<JobRound> {
    let storage = ctx.existing_backend().await?.storage();
    let asked = SystemClock.now();
    let record = storage.request_job_run(name.to_owned(), asked).await?;
    let requested_at = record.requested_at.unwrap_or(asked);
    eprintln!(
        "Asked the running shop to run {name}; waiting up to {} s for its round.",
        WAIT_FOR_LEADER.as_secs()
    );
    let waited = tokio::time::timeout(WAIT_FOR_LEADER, async {
        loop {
            let records = storage.job_records().await?;
            let answered = records
                .into_iter()
                .find(|record| record.name == name)
                .and_then(|record| record.last)
                .filter(|round| round.started_at >= requested_at);
            if let Some(round) = answered {
                return Ok::<_, CliError>(round);
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
    })
    .await;
    match waited {
        Ok(result) => result,
        Err(_) => Err(CliError::internal(format!(
            "the running shop did not run {name} within {} s; the request stays pending and \
             it runs the job at its next look (see `shopbot job list`)",
            WAIT_FOR_LEADER.as_secs()
        ))),
    }
}
