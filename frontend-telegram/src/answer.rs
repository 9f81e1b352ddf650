//! Every button press is answered exactly once: Telegram shows a spinner on the button until
//! the bot answers the callback query, and refuses a second answer.
//!
//! [`AnswerOnce`] holds the one answer. [`AnswerOnce::answer`] consumes it, so a second
//! answer does not compile; dropping it unanswered (an error path, a panic, a cancelled task)
//! answers with [`GENERIC_FAILURE`] on its own.

use std::future::Future;

/// What a person sees when handling their update failed: short, no internals.
pub(crate) const GENERIC_FAILURE: &str = "Something went wrong. Please try again.";

/// The pending answer to one callback query. `F` sends the answer with an optional notice.
pub(crate) struct AnswerOnce<F, Fut>
where
    F: FnOnce(Option<String>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    answer: Option<F>,
}

impl<F, Fut> AnswerOnce<F, Fut>
where
    F: FnOnce(Option<String>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    /// A pending answer sent through `answer`.
    pub(crate) fn new(answer: F) -> Self {
        AnswerOnce {
            answer: Some(answer),
        }
    }

    /// Answers with `notice` (none: the spinner just stops).
    pub(crate) async fn answer(mut self, notice: Option<String>) {
        if let Some(answer) = self.answer.take() {
            answer(notice).await;
        }
    }
}

impl<F, Fut> Drop for AnswerOnce<F, Fut>
where
    F: FnOnce(Option<String>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn drop(&mut self) {
        let Some(answer) = self.answer.take() else {
            return;
        };
        let sending = answer(Some(GENERIC_FAILURE.to_owned()));
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(sending);
            }
            Err(_) => tracing::warn!("a button press went unanswered: no runtime to answer it"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use std::sync::{Arc, Mutex};

    use super::*;

    type Answers = Arc<Mutex<Vec<Option<String>>>>;

    fn recorder() -> (
        Answers,
        impl FnOnce(Option<String>) -> std::future::Ready<()>,
    ) {
        let answers = Answers::default();
        let record = Arc::clone(&answers);
        let answer = move |notice: Option<String>| {
            record.lock().unwrap().push(notice);
            std::future::ready(())
        };
        (answers, answer)
    }

    #[tokio::test]
    async fn an_answered_press_is_answered_once_with_its_notice() {
        let (answers, answer) = recorder();
        AnswerOnce::new(answer).answer(Some("Added.".into())).await;
        assert_eq!(*answers.lock().unwrap(), vec![Some("Added.".to_owned())]);
    }

    #[tokio::test]
    async fn a_press_dropped_unanswered_gets_the_generic_answer_once() {
        let (answers, answer) = recorder();
        drop(AnswerOnce::new(answer));
        assert_eq!(
            *answers.lock().unwrap(),
            vec![Some(GENERIC_FAILURE.to_owned())]
        );
    }

    #[tokio::test]
    async fn a_handler_that_panics_still_answers_once() {
        let (answers, answer) = recorder();
        let guard = AnswerOnce::new(answer);
        let handler = tokio::spawn(async move {
            let _guard = guard;
            panic!("handler failed");
        });
        assert!(handler.await.unwrap_err().is_panic());
        assert_eq!(
            *answers.lock().unwrap(),
            vec![Some(GENERIC_FAILURE.to_owned())]
        );
    }

    #[tokio::test]
    async fn an_answer_without_notice_stops_the_spinner_only() {
        let (answers, answer) = recorder();
        AnswerOnce::new(answer).answer(None).await;
        assert_eq!(*answers.lock().unwrap(), vec![None]);
    }
}
