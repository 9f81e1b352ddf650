//! What `shop_run` answers for each command it runs: the result of the command's function, or
//! why the command rolled back (its SQLSTATE, message, detail and constraint), as the server
//! reported it inside the command's subtransaction.

use sqlx::Row;
use sqlx::postgres::PgRow;

use shopbot_core::Error;

use crate::error::{self, PgError};
use crate::refusal;

/// Why one command rolled back, as the server reported it.
pub(crate) struct Failed {
    pub(crate) code: String,
    message: String,
    detail: Option<String>,
    constraint: Option<String>,
}

impl Failed {
    pub(crate) fn lost_race(&self) -> bool {
        error::lost_race(Some(&self.code), self.constraint.as_deref())
    }

    pub(crate) fn into_error(self) -> PgError {
        if refusal::is_refusal(&self.code) {
            return refusal::read(&self.code, &self.message, self.detail.as_deref());
        }
        let error = match self.code.as_str() {
            "23505" => error::conflict(self.constraint.as_deref()),
            code => Error::internal_msg(format!("{code}: {}", self.message)),
        };
        PgError::Rule(error)
    }
}

/// The command's failure in `row`, if it failed.
pub(crate) fn failure(row: &PgRow) -> Result<Option<Failed>, sqlx::Error> {
    let Some(code) = row.try_get::<Option<String>, _>("code")? else {
        return Ok(None);
    };
    Ok(Some(Failed {
        code,
        message: row
            .try_get::<Option<String>, _>("message")?
            .unwrap_or_default(),
        detail: row
            .try_get::<Option<String>, _>("detail")?
            .filter(|d| !d.is_empty()),
        constraint: row
            .try_get::<Option<String>, _>("constraint_name")?
            .filter(|c| !c.is_empty()),
    }))
}
