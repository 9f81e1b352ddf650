//! Carts: what a customer means to buy, versioned so a stale confirmation cannot buy.
//!
//! Owns [`Cart`] and [`CartEdit`]. Every accepted edit bumps the version; checkout names the
//! version it confirms, and a backend refuses a checkout whose version is no longer current.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::{ProductId, UserId};
use crate::text::Quantity;

/// One product in a cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    /// The product.
    pub product: ProductId,
    /// How many.
    pub quantity: Quantity,
}

/// A customer's cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    /// Whose cart.
    pub user: UserId,
    /// The lines, in the order products were added.
    pub lines: Vec<CartLine>,
    /// Changes on every edit; starts at 0 for a cart never edited.
    pub version: u64,
}

/// A change to a cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "edit")]
pub enum CartEdit {
    /// Add items (to an existing line if the product is already there).
    Add {
        /// The product.
        product: ProductId,
        /// How many more.
        quantity: Quantity,
    },
    /// Set a line's quantity, adding the line if needed.
    Set {
        /// The product.
        product: ProductId,
        /// The new quantity.
        quantity: Quantity,
    },
    /// Remove a line.
    Remove {
        /// The product.
        product: ProductId,
    },
    /// Remove every line.
    Clear,
}

/// An edit the cart cannot take.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CartError {
    /// A line would hold more than [`Quantity::MAX`].
    #[error("at most {max} of one product fit in a cart", max = Quantity::MAX)]
    TooMany,
    /// The cart already has [`Cart::MAX_LINES`] products.
    #[error("a cart holds at most {max} different products", max = Cart::MAX_LINES)]
    TooManyLines,
    /// The cart is empty.
    #[error("the cart is empty")]
    Empty,
}

impl Cart {
    /// The most distinct products in one cart.
    pub const MAX_LINES: usize = 20;

    /// An empty cart that was never edited.
    pub fn empty(user: UserId) -> Self {
        Cart {
            user,
            lines: Vec::new(),
            version: 0,
        }
    }

    /// Applies `edit` and bumps the version, or changes nothing and says why.
    pub fn apply(&mut self, edit: CartEdit) -> Result<(), CartError> {
        let position =
            |lines: &[CartLine], product| lines.iter().position(|l| l.product == product);
        match edit {
            CartEdit::Add { product, quantity } => match position(&self.lines, product) {
                Some(i) => {
                    let line = self.lines.get_mut(i).ok_or(CartError::Empty)?;
                    let total = line.quantity.get() + quantity.get();
                    line.quantity = Quantity::new(total).map_err(|_| CartError::TooMany)?;
                }
                None => self.push(CartLine { product, quantity })?,
            },
            CartEdit::Set { product, quantity } => match position(&self.lines, product) {
                Some(i) => {
                    if let Some(line) = self.lines.get_mut(i) {
                        line.quantity = quantity;
                    }
                }
                None => self.push(CartLine { product, quantity })?,
            },
            CartEdit::Remove { product } => self.lines.retain(|l| l.product != product),
            CartEdit::Clear => self.lines.clear(),
        }
        self.version += 1;
        Ok(())
    }

    /// Whether the cart has no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    fn push(&mut self, line: CartLine) -> Result<(), CartError> {
        if self.lines.len() >= Self::MAX_LINES {
            return Err(CartError::TooManyLines);
        }
        self.lines.push(line);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: u32) -> Quantity {
        Quantity::new(n).unwrap()
    }

    #[test]
    fn every_edit_changes_the_version() {
        let mut cart = Cart::empty(UserId(1));
        let edits = [
            CartEdit::Add {
                product: ProductId(1),
                quantity: q(2),
            },
            CartEdit::Add {
                product: ProductId(1),
                quantity: q(3),
            },
            CartEdit::Set {
                product: ProductId(2),
                quantity: q(1),
            },
            CartEdit::Remove {
                product: ProductId(9),
            },
            CartEdit::Clear,
        ];
        for (i, edit) in edits.into_iter().enumerate() {
            cart.apply(edit).unwrap();
            assert_eq!(cart.version, i as u64 + 1);
        }
        assert!(cart.is_empty());
    }

    #[test]
    fn adding_merges_lines_up_to_the_limit() {
        let mut cart = Cart::empty(UserId(1));
        cart.apply(CartEdit::Add {
            product: ProductId(1),
            quantity: q(60),
        })
        .unwrap();
        cart.apply(CartEdit::Add {
            product: ProductId(1),
            quantity: q(40),
        })
        .unwrap();
        assert_eq!(
            cart.lines,
            vec![CartLine {
                product: ProductId(1),
                quantity: q(100)
            }]
        );
        let before = cart.clone();
        assert_eq!(
            cart.apply(CartEdit::Add {
                product: ProductId(1),
                quantity: q(1)
            }),
            Err(CartError::TooMany)
        );
        assert_eq!(cart, before, "a refused edit changes nothing");
    }

    #[test]
    fn a_cart_holds_a_bounded_number_of_products() {
        let mut cart = Cart::empty(UserId(1));
        for p in 0..Cart::MAX_LINES as i64 {
            cart.apply(CartEdit::Add {
                product: ProductId(p),
                quantity: q(1),
            })
            .unwrap();
        }
        assert_eq!(
            cart.apply(CartEdit::Add {
                product: ProductId(99),
                quantity: q(1)
            }),
            Err(CartError::TooManyLines)
        );
    }
}
