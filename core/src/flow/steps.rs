//! The staff dialogues: each step asks one question, checks the answer with a specific message
//! and the chance to retry, and only the last step changes the shop.
//!
//! Every step first asks the admin service whether the person may still do what the dialogue
//! is for, so a dialogue begun by someone who has since lost the role goes no further.

use crate::catalog::{ProductDraft, ProductKind, ProductPatch};
use crate::error::{Error, Invalid, Result};
use crate::ids::UserId;
use crate::money::Money;
use crate::stock::OnDuplicate;
use crate::text::{CategoryName, Description, IdempotencyKey, Note, ProductName};
use crate::user::Permission;
use crate::wallet::WalletError;

use super::admin::Admin;
use super::dialogue::Step;
use super::markup::{bold, escape};
use super::screens::{button, reply};
use super::{Action, MAX_UPLOAD_BYTES, Reply};

/// The answer that leaves a field empty.
const NONE: &str = "-";

/// The answer that confirms a credit above the shop's limit (in any case).
const YES: &str = "YES";

impl Admin<'_> {
    /// The question of `step`, after `problem` with the previous answer if there was one.
    pub(super) async fn question(&self, step: &Step, problem: Option<&str>) -> Result<Reply> {
        let currency = self.screens.shop.config().prices.currency;
        let text = match step {
            Step::ProductName => "<b>New product</b> (1/4)\nSend the product's name.".to_owned(),
            Step::ProductPrice { name } => format!(
                "<b>New product</b> (2/4): {}\nSend the price in {currency}, such as 9.99.",
                bold(name.as_str())
            ),
            Step::ProductCategory { name, .. } => {
                let categories = self.screens.shop.catalog().categories(self.user()).await?;
                let names: Vec<String> =
                    categories.iter().map(|c| escape(c.name.as_str())).collect();
                let known = match names.is_empty() {
                    true => "There are no categories yet.".to_owned(),
                    false => format!("Categories: {}.", names.join(", ")),
                };
                format!(
                    "<b>New product</b> (3/4): {}\nSend a category: an existing one or a new \
                     name, or {NONE} for none.\n{known}",
                    bold(name.as_str())
                )
            }
            Step::ProductDescription { name, .. } => format!(
                "<b>New product</b> (4/4): {}\nSend a description (up to {} characters), or \
                 {NONE} for none.",
                bold(name.as_str()),
                Description::MAX_CHARS
            ),
            Step::Price { product } => {
                let (product, _) = self.service().product(self.user(), *product).await?;
                format!(
                    "New price for {} (now {})?\nSend it in {currency}, such as 12.50.",
                    bold(product.name.as_str()),
                    product.price
                )
            }
            Step::Stock { product } => {
                let (product, _) = self.service().product(self.user(), *product).await?;
                format!(
                    "Add stock to {}: paste the keys, one per line, or send a .txt file (up to \
                     {} KiB). Blank lines are skipped; keys already in stock are reported.",
                    bold(product.name.as_str()),
                    MAX_UPLOAD_BYTES / 1024
                )
            }
            Step::FindUser => "Send the user's id: digits only, such as 123456789.".to_owned(),
            Step::Credit { user, .. } => format!(
                "Credit the wallet of user {user}: send the amount in {currency}, such as 10.00."
            ),
            Step::ConfirmCredit {
                user,
                amount,
                limit,
                ..
            } => format!(
                "Credit {} to the wallet of user {user}? That is above the limit for manual \
                 credits of {limit}.\nSend {YES} to credit it, or press Cancel.",
                bold(&amount.to_string())
            ),
        };
        let text = match problem {
            Some(problem) => format!("⚠️ {}\n\n{text}", escape(problem)),
            None => text,
        };
        reply(text, vec![vec![button("Cancel", Action::Cancel)]], None)
    }

    /// Text sent while a dialogue waits for `step`.
    pub(super) async fn answer(&self, step: Step, text: &str) -> Result<Reply> {
        match self.take(&step, text).await {
            Ok(reply) => Ok(reply),
            // A refused answer keeps the dialogue where it is, with the reason.
            Err(Error::Invalid(problem)) => self.question(&step, Some(&problem.to_string())).await,
            Err(Error::NotFound { .. }) if step == Step::FindUser => {
                let problem = format!("There is no user {}.", text.trim());
                self.question(&step, Some(&problem)).await
            }
            Err(other) => Err(other),
        }
    }

    /// A file sent: stock when a stock dialogue waits for it, otherwise explained away.
    pub(super) async fn upload(
        &self,
        step: Option<Step>,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<Reply> {
        let Some(step @ Step::Stock { .. }) = step else {
            return self
                .screens
                .menu(Some("Files are only read while adding stock."))
                .await;
        };
        if !file_name.to_ascii_lowercase().ends_with(".txt") {
            let problem = format!("{file_name} is not a .txt file.");
            return self.question(&step, Some(&problem)).await;
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => self.answer(step, text).await,
            Err(_) => {
                let problem = format!("{file_name} is not UTF-8 text.");
                self.question(&step, Some(&problem)).await
            }
        }
    }

    /// Checks an answer and moves the dialogue on, or finishes it.
    async fn take(&self, step: &Step, text: &str) -> Result<Reply> {
        let admin = self.service();
        let me = self.user();
        let currency = self.screens.shop.config().prices.currency;
        match step.clone() {
            Step::ProductName => {
                admin.require(me, Permission::ManageCatalog).await?;
                let name = ProductName::parse(text)?;
                self.ask(Step::ProductPrice { name }).await
            }
            Step::ProductPrice { name } => {
                admin.require(me, Permission::ManageCatalog).await?;
                let price = Money::parse(text.trim(), currency)?;
                self.screens.shop.config().prices.check(price)?;
                self.ask(Step::ProductCategory { name, price }).await
            }
            Step::ProductCategory { name, price } => {
                admin.require(me, Permission::ManageCatalog).await?;
                let category = match text.trim() {
                    NONE => None,
                    typed => Some(self.category(CategoryName::parse(typed)?).await?),
                };
                self.ask(Step::ProductDescription {
                    name,
                    price,
                    category,
                })
                .await
            }
            Step::ProductDescription {
                name,
                price,
                category,
            } => {
                let description = match text.trim() {
                    NONE => Description::parse("")?,
                    typed => Description::parse(typed)?,
                };
                let draft = ProductDraft {
                    category,
                    name,
                    description,
                    kind: ProductKind::Key,
                    price,
                    hidden: false,
                    image: None,
                };
                let product = admin.create_product(me, draft).await?;
                self.dialogue.clear().await?;
                self.product(product.id, Some("Product created. Add its stock next."))
                    .await
            }
            Step::Price { product } => {
                let price = Money::parse(text.trim(), currency)?;
                let patch = ProductPatch {
                    price: Some(price),
                    ..Default::default()
                };
                admin.update_product(me, product, patch).await?;
                self.dialogue.clear().await?;
                self.product(product, Some("Price changed.")).await
            }
            Step::Stock { product } => {
                let report = admin
                    .import_stock_text(me, product, text, OnDuplicate::Skip)
                    .await?;
                self.dialogue.clear().await?;
                let mut notice = format!("Added {} unit(s).", report.added);
                if !report.skipped.is_empty() {
                    let lines: Vec<String> =
                        report.skipped.iter().map(|d| d.line.to_string()).collect();
                    notice.push_str(&format!(
                        " Skipped {} duplicate(s): line {}.",
                        lines.len(),
                        lines.join(", ")
                    ));
                }
                self.product(product, Some(&notice)).await
            }
            Step::FindUser => {
                let id = user_id(text)?;
                admin.user(me, id).await?;
                self.dialogue.clear().await?;
                self.person(id, None).await
            }
            Step::Credit { user, started } => {
                let amount = Money::parse(text.trim(), currency)?;
                if !amount.is_positive() {
                    return Err(Error::invalid("the amount must be above zero"));
                }
                let (key, reason) = credit_key_and_reason(me, user, started)?;
                match admin.adjust_wallet(me, user, amount, reason, key).await {
                    Ok(_) => self.credited(user, amount).await,
                    // The service refused before anything was written, key included: ask.
                    Err(Error::Invalid(Invalid::Wallet(WalletError::Unconfirmed {
                        amount,
                        limit,
                    }))) => {
                        let step = Step::ConfirmCredit {
                            user,
                            started,
                            amount,
                            limit,
                        };
                        self.ask(step).await
                    }
                    Err(other) => Err(other),
                }
            }
            Step::ConfirmCredit {
                user,
                started,
                amount,
                ..
            } => {
                admin.require(me, Permission::AdjustWallets).await?;
                if !text.trim().eq_ignore_ascii_case(YES) {
                    return Err(Error::invalid(format!(
                        "Nothing was credited: send {YES} to credit {amount}, or press Cancel."
                    )));
                }
                let (key, reason) = credit_key_and_reason(me, user, started)?;
                admin
                    .adjust_wallet_confirmed(me, user, amount, reason, key)
                    .await?;
                self.credited(user, amount).await
            }
        }
    }

    /// Ends a credit dialogue on the person's card.
    async fn credited(&self, user: UserId, amount: Money) -> Result<Reply> {
        self.dialogue.clear().await?;
        self.person(user, Some(&format!("Credited {amount}.")))
            .await
    }

    /// The category named `name`, created when there is none yet (names compare without case).
    async fn category(&self, name: CategoryName) -> Result<crate::ids::CategoryId> {
        let known = self.screens.shop.catalog().categories(self.user()).await?;
        let wanted = name.as_str().to_lowercase();
        match known
            .iter()
            .find(|c| c.name.as_str().to_lowercase() == wanted)
        {
            Some(category) => Ok(category.id),
            None => Ok(self.service().create_category(self.user(), name).await?.id),
        }
    }
}

/// The key and ledger note of a credit given in the dialogue that began at `started`: one key
/// per dialogue, so an amount (or a yes) sent twice credits once.
fn credit_key_and_reason(
    me: UserId,
    user: UserId,
    started: crate::time::Timestamp,
) -> Result<(IdempotencyKey, Note)> {
    let key = IdempotencyKey::parse(&format!("credit:{user}:{}", started.0))?;
    let reason = Note::parse(&format!("credited by {me} in the bot"))?;
    Ok((key, reason))
}

/// A user id as typed: trimmed, digits only.
fn user_id(text: &str) -> Result<UserId> {
    let digits = text.trim();
    let valid =
        !digits.is_empty() && digits.len() <= 19 && digits.bytes().all(|b| b.is_ascii_digit());
    match valid.then(|| digits.parse::<i64>().ok()).flatten() {
        Some(id) => Ok(UserId(id)),
        None => Err(Error::invalid(
            "a user id is digits only, such as 123456789",
        )),
    }
}
