use super::Context;
use crate::cart::{Cart, CartEdit};
use crate::error::{Error, Result};
use crate::ids::{ProductId, UserId};
use crate::text::Quantity;

/// Editing one's own cart.
pub struct CartService {
    context: Context,
}

impl CartService {
    pub(crate) fn new(context: Context) -> Self {
        CartService { context }
    }

    /// The user's cart.
    pub async fn view(&self, user: UserId) -> Result<Cart> {
        self.context.customer(user).await?;
        self.context.storage.cart(user).await
    }

    /// Adds `quantity` of a visible product.
    pub async fn add(&self, user: UserId, product: ProductId, quantity: Quantity) -> Result<Cart> {
        self.edit(user, CartEdit::Add { product, quantity }).await
    }

    /// Sets a line's quantity.
    pub async fn set(&self, user: UserId, product: ProductId, quantity: Quantity) -> Result<Cart> {
        self.edit(user, CartEdit::Set { product, quantity }).await
    }

    /// Removes a line.
    pub async fn remove(&self, user: UserId, product: ProductId) -> Result<Cart> {
        self.edit(user, CartEdit::Remove { product }).await
    }

    /// Empties the cart.
    pub async fn clear(&self, user: UserId) -> Result<Cart> {
        self.edit(user, CartEdit::Clear).await
    }

    async fn edit(&self, user: UserId, edit: CartEdit) -> Result<Cart> {
        let storage = &self.context.storage;
        match edit {
            CartEdit::Add { product, .. } | CartEdit::Set { product, .. } => {
                let (caller, settings, found) = storage.user_with_product(user, product).await?;
                self.context.admit_customer(caller, &settings)?;
                if found.is_none_or(|p| p.hidden) {
                    return Err(Error::not_found("product", product));
                }
            }
            CartEdit::Remove { .. } | CartEdit::Clear => {
                self.context.customer(user).await?;
            }
        }
        storage.edit_cart(user, edit).await
    }
}
