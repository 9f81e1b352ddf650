//! Group commit for the purchase commands (`edit_cart`, `commit_checkout`).
//!
//! Callers hand their command in; the lanes (one by default) each take whatever is waiting
//! (up to [`MOST_PER_GROUP`]) and run it, on the connection the lane keeps (`held.rs`), as one
//! call of `shop_run`: one round trip and one commit for the whole group. `shop_run` first
//! runs the group together (`shop_run_together`): a fixed number of set-based statements,
//! whatever the group's size, that either carry out every command or raise and roll back
//! whole; then, only if that failed, one command at a time, each in its own subtransaction
//! (`shop_run_one_by_one`; both in the group runner section of the migration). When the store
//! is quiet a command goes alone and at once; under load, commands gather while the lanes are
//! busy, so a round trip, a WAL flush and the statements are shared by everyone waiting.
//!
//! Most of a group's cost does not grow with its size (the round trip, the statements'
//! start-up, the commit's flush): at 8 buyers a group of one command took about 1.0 ms from
//! send to answer and a group of seven about 1.5 ms. So a lane that comes free and finds fewer
//! commands waiting than there were callers when its last group came back waits for the rest,
//! at most as long as that group took and never over 10 ms: callers that were just answered
//! usually come back with their next command soon. Without that wait, at 8 buyers the groups
//! fell into a pattern of one command, then seven (run and measured with `shopbot-bench pg`).
//! On a quiet store a command goes at once: the last group came back with no one else in
//! flight. Only the first command after a burst can wait for callers who do not come back.
//!
//! Each caller hears back only after its group committed. A command refused by a rule comes
//! back as that refusal; one that lost a race (deadlock, a twin's unique key) rolled back alone
//! and runs again in a later group, at most `ATTEMPTS` times. A group that failed whole runs
//! again only when it certainly rolled back; when its outcome is unknown (the connection was
//! lost) every caller gets the error, and its idempotency key settles what happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgPool, PgRow};
use sqlx::types::Json;
use tokio::sync::{Mutex, mpsc, oneshot};

use shopbot_core::Error;

use crate::ATTEMPTS;
use crate::command::Command;
use crate::error::{Attempt, PgError};
use crate::shop_run::failure;

use super::held::Held;
use super::queue::{Gather, take_waiting};

/// The most commands in one group: each is a subtransaction, and a backend keeps at most 64
/// of them in shared memory before every other session's snapshots get slower.
const MOST_PER_GROUP: usize = 32;

/// The longest a lane waits for callers. A group that took longer waited on something other
/// than its own work (a lock, a slow disk), and callers come back no sooner for it.
const LONGEST_GATHER: Duration = Duration::from_millis(10);

/// A command waiting for its group.
struct Job {
    command: Command,
    runs: usize,
    reply: oneshot::Sender<Attempt<PgRow>>,
    _counted: InFlight,
}

/// Counts a command as in flight, from when it is handed in until it is answered or dropped.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(count: &Arc<AtomicUsize>) -> InFlight {
        count.fetch_add(1, Ordering::Relaxed);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The queue the lanes take groups from.
type Queue = Arc<Mutex<mpsc::UnboundedReceiver<Job>>>;

/// Where callers hand in commands. The lanes stop once every handle is dropped.
pub(crate) struct Groups {
    queue: mpsc::UnboundedSender<Job>,
    /// Commands handed in and not yet answered, waiting or in a group.
    in_flight: Arc<AtomicUsize>,
}

impl Groups {
    /// Starts `lanes` lanes on the current runtime, each running one group at a time.
    pub(crate) fn start(pool: &PgPool, lanes: usize) -> Groups {
        let (sender, receiver) = mpsc::unbounded_channel();
        let queue: Queue = Arc::new(Mutex::new(receiver));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let lanes = lanes.max(1);
        for _ in 0..lanes {
            let lane = Lane {
                held: Held::new(pool),
                queue: queue.clone(),
                in_flight: in_flight.clone(),
                lanes,
            };
            tokio::spawn(lane.run());
        }
        Groups {
            queue: sender,
            in_flight,
        }
    }

    /// Runs `command` (a `shop_command` as JSON) in the next group: its row of `shop_run`
    /// once the group committed, or why not.
    pub(crate) async fn run(&self, command: Command) -> Attempt<PgRow> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            command,
            runs: 0,
            reply,
            _counted: InFlight::new(&self.in_flight),
        };
        self.queue.send(job).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> PgError {
    PgError::Rule(Error::internal_msg("the store is shut down"))
}

/// Takes groups off the queue and runs them, one at a time, on the connection it keeps.
struct Lane {
    held: Held,
    queue: Queue,
    in_flight: Arc<AtomicUsize>,
    lanes: usize,
}

impl Lane {
    /// Runs groups until the queue or the pool closes. Commands that lost a race go first into
    /// the lane's next group.
    async fn run(mut self) {
        let mut again = Vec::new();
        let mut gather = None;
        loop {
            let waiting = take_waiting(
                &self.queue,
                std::mem::take(&mut again),
                MOST_PER_GROUP,
                gather,
            );
            let Some(Some(group)) = self.held.unless_closed(waiting).await else {
                return;
            };
            let ran = self.run_group(group).await;
            again = ran.again;
            gather = Some(ran.gather);
        }
    }

    /// Runs one group and answers its callers.
    async fn run_group(&mut self, mut group: Vec<Job>) -> Ran {
        for job in &mut group {
            job.runs += 1;
        }
        let commands: Vec<&Command> = group.iter().map(|job| &job.command).collect();
        let ran: Result<(Vec<PgRow>, Duration), sqlx::Error> = async {
            let connection = self.held.connection().await?;
            let sent = Instant::now();
            let rows = sqlx::query("SELECT * FROM shop_run($1)")
                .bind(Json(&commands))
                .fetch_all(connection)
                .await?;
            Ok((rows, sent.elapsed()))
        }
        .await;
        // Counted before anyone is answered: this group and whoever arrived while it ran,
        // shared among the lanes. After a failure the next group waits for no one.
        let gather = Gather {
            callers: self.in_flight.load(Ordering::Relaxed).div_ceil(self.lanes),
            for_at_most: ran
                .as_ref()
                .map_or(Duration::ZERO, |(_, took)| (*took).min(LONGEST_GATHER)),
        };
        if ran.is_err() {
            self.held.give_back();
        }
        Ran {
            again: answer(group, ran.map(|(rows, _)| rows)),
            gather,
        }
    }
}

/// What running a group left for the lane's next one.
struct Ran {
    /// The commands to run again.
    again: Vec<Job>,
    /// How the next group waits for callers.
    gather: Gather,
}

/// Answers a group's callers from its rows; gives back the commands to run again.
fn answer(group: Vec<Job>, rows: Result<Vec<PgRow>, sqlx::Error>) -> Vec<Job> {
    let mut again = Vec::new();
    let rows = match rows {
        Ok(rows) if rows.len() == group.len() => rows,
        Ok(_) => {
            for job in group {
                let wrong = Error::internal_msg("shop_run answered the wrong number of rows");
                let _ = job.reply.send(Err(wrong.into()));
            }
            return again;
        }
        Err(e) => {
            let e = PgError::Db(e);
            let rerun = e.retryable();
            tracing::debug!(error = ?e, rerun, "a group failed whole");
            let error = e.into_core();
            for job in group {
                if rerun && job.runs < ATTEMPTS {
                    again.push(job);
                } else {
                    let _ = job.reply.send(Err(error.clone().into()));
                }
            }
            return again;
        }
    };
    for (job, row) in group.into_iter().zip(rows) {
        match failure(&row) {
            Ok(None) => {
                let _ = job.reply.send(Ok(row));
            }
            Ok(Some(failed)) if failed.lost_race() && job.runs < ATTEMPTS => {
                tracing::debug!(code = failed.code, "command lost a race; running it again");
                again.push(job);
            }
            Ok(Some(failed)) => {
                let _ = job.reply.send(Err(failed.into_error()));
            }
            Err(e) => {
                let _ = job.reply.send(Err(e.into()));
            }
        }
    }
    again
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::EditCart;
    use shopbot_core::cart::CartEdit;
    use shopbot_core::ids::UserId;

    #[test]
    fn a_command_counts_as_in_flight_until_its_job_is_answered_or_dropped() {
        let count = Arc::new(AtomicUsize::new(0));
        let (reply, _answer) = oneshot::channel();
        let job = Job {
            command: Command::EditCart(EditCart::new(UserId(1), &CartEdit::Clear).unwrap()),
            runs: 0,
            reply,
            _counted: InFlight::new(&count),
        };
        let waiting = InFlight::new(&count);
        assert_eq!(count.load(Ordering::Relaxed), 2);
        // Answered as `answer` answers: the job goes out of scope once its reply is sent.
        {
            let job = job;
            let _ = job.reply.send(Err(stopped()));
        }
        assert_eq!(count.load(Ordering::Relaxed), 1);
        drop(waiting);
        assert_eq!(count.load(Ordering::Relaxed), 0);
    }
}
