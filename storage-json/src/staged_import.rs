//! Large stock imports in stages: the driver of `engine::staging`.
//!
//! An import of more than [`STAGE_CHUNK_LINES`] lines is not one command: it opens a stage,
//! adds its lines one chunk per command (each checked, applied and journaled on its own, so
//! buyers' commands run between chunks), and publishes the stage in one small command that
//! makes every unit available at once. Whatever fails or is refused, the stage is discarded
//! before the caller is answered; if the process dies instead, opening the store discards it.
//! Nothing of a stage is visible before it is published.

use shopbot_core::audit::AuditRecord;
use shopbot_core::stock::{ImportReport, StockImport};
use shopbot_core::{Error, Result};

use crate::JsonStore;
use crate::engine::{Command, Outcome};

/// Imports of more lines than this are staged, this many lines per command.
pub const STAGE_CHUNK_LINES: usize = 500;

impl JsonStore {
    /// Stages `import` chunk by chunk, calling `between` after each chunk (with how many
    /// chunks are staged), then has `publish` publish the stage; discards the stage unless
    /// it was published.
    pub(crate) async fn import_staged<P, B>(
        &self,
        import: StockImport,
        audit: AuditRecord,
        publish: P,
        mut between: B,
    ) -> Result<ImportReport>
    where
        P: AsyncFnOnce(u64, AuditRecord) -> Result<ImportReport>,
        B: AsyncFnMut(usize),
    {
        let begin = Command::BeginStage {
            product: import.product,
            on_duplicate: import.on_duplicate,
            at: import.at,
        };
        let stage = match self.execute(begin).await? {
            Outcome::Stage(stage) => stage,
            other => {
                return Err(Error::internal_msg(format!(
                    "expected a stage, got {other:?}"
                )));
            }
        };
        let staged = async {
            let mut lines = import.lines.into_iter();
            let mut chunks = 0;
            loop {
                let chunk: Vec<_> = lines.by_ref().take(STAGE_CHUNK_LINES).collect();
                if chunk.is_empty() {
                    break;
                }
                let command = Command::StageStock {
                    stage,
                    lines: chunk,
                };
                self.execute(command).await?;
                chunks += 1;
                between(chunks).await;
            }
            publish(stage, audit).await
        }
        .await;
        if self.read(|s| s.has_stage(stage)).await? {
            let discarded = self.execute(Command::DiscardStage { stage }).await;
            if let (Ok(_), Err(e)) = (&staged, discarded) {
                return Err(e);
            }
        }
        staged
    }
}
