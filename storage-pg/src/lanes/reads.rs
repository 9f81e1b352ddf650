//! Reads that concurrent callers share: the questions waiting when a lane comes free go to the
//! server as one query, and each caller gets its own answer back.
//!
//! A purchase reads before each of its commands (the caller, the settings and the product or
//! the cart). Asked one by one, every read is a round trip of its own; under load, a few lanes
//! each take whatever is waiting (up to [`MOST_PER_BATCH`]) and ask it in one query. When the
//! store is quiet a question goes alone and at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::postgres::{PgConnection, PgPool};
use tokio::sync::{Mutex, mpsc, oneshot};

use shopbot_core::Error;

use crate::error::{Attempt, PgError};

use super::held::Held;
use super::queue::take_waiting;

/// The most questions one query answers.
const MOST_PER_BATCH: usize = 64;

/// A question waiting for its batch.
struct Ask<Q, A> {
    question: Q,
    reply: oneshot::Sender<Result<A, Error>>,
}

/// How a batch is answered, on the lane's connection: one answer per question, in order.
pub(crate) type Answer<Q, A> =
    for<'c> fn(
        &'c mut PgConnection,
        Vec<Q>,
    ) -> Pin<Box<dyn Future<Output = Attempt<Vec<A>>> + Send + 'c>>;

/// Where callers ask. The lanes stop once the batcher is dropped.
pub(crate) struct Batcher<Q, A> {
    queue: mpsc::UnboundedSender<Ask<Q, A>>,
}

impl<Q, A> Batcher<Q, A>
where
    Q: Send + 'static,
    A: Send + 'static,
{
    /// Starts `lanes` lanes on the current runtime, each answering a batch at a time with
    /// `answer` on a connection it keeps (`held.rs`).
    pub(crate) fn start(pool: &PgPool, lanes: usize, answer: Answer<Q, A>) -> Batcher<Q, A> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let queue = Arc::new(Mutex::new(receiver));
        for _ in 0..lanes.max(1) {
            let lane = Lane {
                held: Held::new(pool),
                queue: queue.clone(),
                answer,
            };
            tokio::spawn(lane.run());
        }
        Batcher { queue: sender }
    }

    /// The answer to `question`, asked in the next batch.
    pub(crate) async fn ask(&self, question: Q) -> Result<A, Error> {
        let (reply, answer) = oneshot::channel();
        let ask = Ask { question, reply };
        self.queue.send(ask).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> Error {
    Error::internal_msg("the store is shut down")
}

/// Answers what waits on the queue, a batch at a time with `answer` on the lane's connection,
/// until the queue or the pool closes.
struct Lane<Q, A> {
    held: Held,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Ask<Q, A>>>>,
    answer: Answer<Q, A>,
}

impl<Q, A> Lane<Q, A> {
    async fn run(mut self) {
        loop {
            // Unlike a group of commands (`lanes/commands.rs`), a read costs little beyond its
            // questions, so a read lane sends what waits at once: waiting for more callers made
            // purchases slower with `shopbot-bench pg` at 8 buyers.
            let waiting = take_waiting(&self.queue, Vec::new(), MOST_PER_BATCH, None);
            let Some(Some(batch)) = self.held.unless_closed(waiting).await else {
                return;
            };
            let (questions, replies): (Vec<Q>, Vec<_>) = batch
                .into_iter()
                .map(|ask| (ask.question, ask.reply))
                .unzip();
            let asked = questions.len();
            let answers = match self.held.connection().await {
                Ok(connection) => (self.answer)(connection, questions).await,
                Err(e) => Err(e.into()),
            };
            if answers.is_err() {
                self.held.give_back();
            }
            match answers {
                Ok(answers) if answers.len() == asked => {
                    for (reply, answer) in replies.into_iter().zip(answers) {
                        let _ = reply.send(Ok(answer));
                    }
                }
                Ok(_) => {
                    let wrong = Error::internal_msg("a batched read answered the wrong number");
                    for reply in replies {
                        let _ = reply.send(Err(wrong.clone()));
                    }
                }
                Err(e) => {
                    let error = PgError::into_core(e);
                    for reply in replies {
                        let _ = reply.send(Err(error.clone()));
                    }
                }
            }
        }
    }
}
