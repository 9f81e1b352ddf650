//! Whether a store holds a shop, and what a command says when it finds none, or `init` finds
//! one. Reads only: it never creates or changes a store.

use shopbot_core::catalog::ProductFilter;
use shopbot_core::ports::{Page, Storage};

use super::StoreUrl;
use crate::error::{CliError, CliResult};

/// Whether a store that opened holds a shop: it recorded its currency, or (made before shops
/// recorded one) it holds any record a shop leaves.
pub(super) async fn holds_shop(storage: &dyn Storage) -> CliResult<bool> {
    if storage.shop_currency().await?.is_some() {
        return Ok(true);
    }
    let everything = ProductFilter {
        category: None,
        include_hidden: true,
    };
    Ok(!storage.users(Page::first(1)).await?.is_empty()
        || !storage.audit_log(Page::first(1)).await?.is_empty()
        || !storage.categories().await?.is_empty()
        || !storage.products(everything).await?.is_empty())
}

/// What every command but `init` and `demo` says where there is no shop.
pub(super) fn no_shop(url: &StoreUrl) -> CliError {
    CliError::not_found(format!("no shop at {url}; create one with `shopbot init`"))
}

/// What `init` says where a shop already is.
pub(super) fn shop_exists(url: &StoreUrl) -> CliError {
    CliError::refused(format!(
        "there is already a shop at {url}; nothing was changed (to start another, name a new \
         store with --store)"
    ))
}
