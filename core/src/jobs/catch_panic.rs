//! Turning a panic inside a job into a failed outcome, without a runtime or a new dependency.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{JobFn, JobFuture, JobReport};
use crate::error::Result;

/// Starts one round of `work` and runs it to the end, answering `Err` with the panic's message
/// if starting or polling it panics.
pub(super) async fn run_catching_panics(
    work: &JobFn,
) -> std::result::Result<Result<JobReport>, String> {
    // Unwind safety: after a panic the job's future is dropped, never polled again, and nothing
    // the scheduler owns is borrowed by it, so no broken state can be observed afterwards.
    let future = catch_unwind(AssertUnwindSafe(work)).map_err(panic_message)?;
    CatchPanic(future).await
}

/// Polls a job's future, catching a panic in any poll.
struct CatchPanic(JobFuture);

impl Future for CatchPanic {
    type Output = std::result::Result<Result<JobReport>, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let job = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| job.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => Poll::Ready(Ok(result)),
            Err(payload) => Poll::Ready(Err(panic_message(payload))),
        }
    }
}

/// The text a panic was raised with, when it was raised with text.
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned());
    match text {
        Some(text) => format!("panicked: {text}"),
        None => "panicked".to_owned(),
    }
}
