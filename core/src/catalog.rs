//! The catalog: categories and products.
//!
//! Owns [`Category`], [`Product`] and the requests that create or change them. Prices are
//! [`Money`]; whether a price is acceptable is the shop's [`PriceLimits`].

use serde::{Deserialize, Serialize};

use crate::ids::{CategoryId, ProductId};
use crate::money::{Currency, Money};
use crate::text::{CategoryName, Description, ImageRef, ProductName};
use crate::time::Timestamp;

/// A shelf of the shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// Its id.
    pub id: CategoryId,
    /// Its name.
    pub name: CategoryName,
    /// When it was created.
    pub created_at: Timestamp,
}

/// What a product delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// A license key or code: one stock unit per item sold.
    Key,
    /// A file (its reference is the stock unit's payload).
    File,
    /// A time slot (its description is the stock unit's payload).
    Slot,
    /// A service fulfilled by people: no stock, never sold out.
    Service,
}

impl ProductKind {
    /// Every kind.
    pub const ALL: [ProductKind; 4] = [
        ProductKind::Key,
        ProductKind::File,
        ProductKind::Slot,
        ProductKind::Service,
    ];

    /// Whether each item sold takes one stock unit.
    pub fn uses_stock(self) -> bool {
        self != ProductKind::Service
    }

    /// Parses `key`, `file`, `slot` or `service`.
    pub fn parse(text: &str) -> Option<ProductKind> {
        ProductKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The kind's lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Key => "key",
            ProductKind::File => "file",
            ProductKind::Slot => "slot",
            ProductKind::Service => "service",
        }
    }
}

/// Something the shop sells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Its id.
    pub id: ProductId,
    /// The shelf it stands on, if any.
    pub category: Option<CategoryId>,
    /// Its name.
    pub name: ProductName,
    /// What customers read about it.
    pub description: Description,
    /// What it delivers.
    pub kind: ProductKind,
    /// The price of one item.
    pub price: Money,
    /// Hidden products are not shown to or sold to customers.
    pub hidden: bool,
    /// An optional picture.
    pub image: Option<ImageRef>,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A request to create a category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCategory {
    /// The name.
    pub name: CategoryName,
    /// When.
    pub at: Timestamp,
}

/// A product as staff describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDraft {
    /// The shelf, if any.
    pub category: Option<CategoryId>,
    /// The name.
    pub name: ProductName,
    /// The description.
    pub description: Description,
    /// The kind.
    pub kind: ProductKind,
    /// The price of one item.
    pub price: Money,
    /// Whether it starts hidden.
    pub hidden: bool,
    /// An optional picture.
    pub image: Option<ImageRef>,
}

/// A request to create a product, as validated by the admin service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewProduct {
    /// The product.
    pub draft: ProductDraft,
    /// When.
    pub at: Timestamp,
}

/// A change to a product: each `Some` field replaces the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductPatch {
    /// A new name.
    pub name: Option<ProductName>,
    /// A new description.
    pub description: Option<Description>,
    /// A new price.
    pub price: Option<Money>,
    /// Hide or show.
    pub hidden: Option<bool>,
    /// Move to another shelf, or to none.
    pub category: Option<Option<CategoryId>>,
    /// Set or remove the picture.
    pub image: Option<Option<ImageRef>>,
}

impl ProductPatch {
    /// Applies the patch to `product`.
    pub fn apply_to(&self, product: &mut Product) {
        if let Some(name) = &self.name {
            product.name = name.clone();
        }
        if let Some(description) = &self.description {
            product.description = description.clone();
        }
        if let Some(price) = self.price {
            product.price = price;
        }
        if let Some(hidden) = self.hidden {
            product.hidden = hidden;
        }
        if let Some(category) = self.category {
            product.category = category;
        }
        if let Some(image) = &self.image {
            product.image = image.clone();
        }
    }

    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == ProductPatch::default()
    }
}

/// Which products a listing returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductFilter {
    /// Only this shelf.
    pub category: Option<CategoryId>,
    /// Include hidden products (staff only).
    pub include_hidden: bool,
}

impl ProductFilter {
    /// Whether `product` passes the filter.
    pub fn matches(&self, product: &Product) -> bool {
        (self.include_hidden || !product.hidden)
            && self.category.is_none_or(|c| product.category == Some(c))
    }
}

/// The prices a shop accepts, in minor units, and the currency it sells in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceLimits {
    /// The shop's currency.
    pub currency: Currency,
    /// The lowest price, in minor units (at least 1: nothing is free by accident).
    pub min_minor: i64,
    /// The highest price, in minor units.
    pub max_minor: i64,
}

impl Default for PriceLimits {
    fn default() -> Self {
        PriceLimits {
            currency: Currency::USD,
            min_minor: 1,
            max_minor: 100_000_000,
        }
    }
}

impl PriceLimits {
    /// Whether `price` is in the shop's currency and range.
    pub fn check(&self, price: Money) -> Result<(), PriceError> {
        if price.currency != self.currency {
            return Err(PriceError::Currency {
                expected: self.currency,
            });
        }
        if price.minor < self.min_minor || price.minor > self.max_minor {
            return Err(PriceError::OutOfRange {
                min: Money::new(self.min_minor, self.currency),
                max: Money::new(self.max_minor, self.currency),
            });
        }
        Ok(())
    }
}

/// A price the shop does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// Not the shop's currency.
    #[error("prices are in {expected}")]
    Currency {
        /// The shop's currency.
        expected: Currency,
    },
    /// Below the minimum or above the maximum.
    #[error("a price must be from {min} to {max}")]
    OutOfRange {
        /// The lowest price.
        min: Money,
        /// The highest price.
        max: Money,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_outside_the_limits_are_refused() {
        let limits = PriceLimits::default();
        assert!(limits.check(Money::new(1, Currency::USD)).is_ok());
        assert!(limits.check(Money::new(0, Currency::USD)).is_err());
        assert!(limits.check(Money::new(-5, Currency::USD)).is_err());
        assert!(
            limits
                .check(Money::new(100_000_001, Currency::USD))
                .is_err()
        );
        assert!(matches!(
            limits.check(Money::new(100, Currency::EUR)),
            Err(PriceError::Currency { .. })
        ));
    }

    #[test]
    fn product_kinds_parse_their_names() {
        for kind in ProductKind::ALL {
            assert_eq!(ProductKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ProductKind::parse("KEY"), Some(ProductKind::Key));
        assert_eq!(ProductKind::parse("car"), None);
    }
}
