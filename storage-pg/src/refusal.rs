//! Refusals raised by the server-side functions (listed at the top of
//! `migrations/0001_shop.sql`): a SQLSTATE of class `SB` with the numbers a core error needs in
//! its detail. Raising rolls back the command (its subtransaction in `shop_run`), so a refusal
//! leaves no trace, and the store turns it back into the core error here.

use shopbot_core::Error;
use shopbot_core::cart::CartError;
use shopbot_core::ids::{ProductId, UserId};
use shopbot_core::money::Money;
use shopbot_core::order::CheckoutError;
use shopbot_core::wallet::WalletError;

use crate::convert::money;
use crate::error::PgError;

/// The refusal that a request's total is not the sum of its lines; the caller knows why.
pub(crate) const TOTAL_DOES_NOT_ADD_UP: &str = "SB012";

/// Whether `code` is a SQLSTATE a shopbot function refuses with.
pub(crate) fn is_refusal(code: &str) -> bool {
    code.starts_with("SB")
}

/// The core error a shopbot function's refusal (`code`, `message`, `detail`) stands for.
pub(crate) fn read(code: &str, message: &str, detail: Option<&str>) -> PgError {
    let detail: Vec<&str> = detail.unwrap_or_default().split_whitespace().collect();
    let number = |i: usize| detail.get(i).and_then(|n| n.parse::<i64>().ok());
    let refused: Result<Error, Error> = match code {
        "SB001" => match (number(0), number(1), number(2)) {
            (Some(product), Some(requested), Some(available)) => Ok(Error::OutOfStock {
                product: ProductId(product),
                requested: u32::try_from(requested).unwrap_or(u32::MAX),
                available: u64::try_from(available).unwrap_or_default(),
            }),
            _ => Err(Error::internal_msg(
                "an out-of-stock refusal without its counts",
            )),
        },
        "SB002" => match (number(0), number(1), detail.get(2)) {
            (Some(needed), Some(available), Some(currency)) => {
                let amount = |minor| money(minor, currency);
                amount(needed).and_then(|needed: Money| {
                    Ok(WalletError::InsufficientFunds {
                        needed,
                        available: amount(available)?,
                    }
                    .into())
                })
            }
            _ => Err(Error::internal_msg(
                "an insufficient-funds refusal without amounts",
            )),
        },
        "SB003" => Ok(Error::Conflict(message.to_owned())),
        "SB004" => Ok(CheckoutError::CartChanged.into()),
        "SB005" => match number(0) {
            Some(product) => Ok(CheckoutError::Unavailable(ProductId(product)).into()),
            None => Err(Error::internal_msg("an unavailable product without its id")),
        },
        "SB006" | TOTAL_DOES_NOT_ADD_UP => Ok(CheckoutError::PriceChanged.into()),
        "SB007" => Ok(CheckoutError::Cart(CartError::Empty).into()),
        "SB008" => Ok(Error::not_found(
            "user",
            UserId(number(0).unwrap_or_default()),
        )),
        "SB009" => Ok(WalletError::NonPositiveAmount.into()),
        "SB010" => Ok(CartError::TooMany.into()),
        "SB011" => Ok(CartError::TooManyLines.into()),
        _ => Err(Error::internal_msg(format!(
            "unknown refusal {code}: {message}"
        ))),
    };
    PgError::Refused {
        code: code.to_owned(),
        error: refused.unwrap_or_else(|internal| internal),
    }
}
