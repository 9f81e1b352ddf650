use super::Context;
use crate::catalog::{Category, Product, ProductFilter};
use crate::error::{Error, Result};
use crate::ids::{CategoryId, ProductId, UserId};
use crate::stock::StockCounts;
use crate::user::Permission;

/// Browsing the catalog as a customer. Hidden products do not exist for customers; staff with
/// [`Permission::ViewStock`] see them too.
pub struct CatalogService {
    context: Context,
}

impl CatalogService {
    pub(crate) fn new(context: Context) -> Self {
        CatalogService { context }
    }

    /// The categories `viewer` may see: for customers only those holding a visible product,
    /// so an empty category never shows in the shop; staff see every one.
    pub async fn categories(&self, viewer: UserId) -> Result<Vec<Category>> {
        let sees_hidden = self.sees_hidden(viewer).await?;
        let mut categories = self.context.storage.categories().await?;
        if sees_hidden {
            return Ok(categories);
        }
        let visible = self
            .context
            .storage
            .products(ProductFilter {
                category: None,
                include_hidden: false,
            })
            .await?;
        categories.retain(|c| visible.iter().any(|p| p.category == Some(c.id)));
        Ok(categories)
    }

    /// The products `viewer` may see, optionally of one category.
    pub async fn products(
        &self,
        viewer: UserId,
        category: Option<CategoryId>,
    ) -> Result<Vec<Product>> {
        let include_hidden = self.sees_hidden(viewer).await?;
        let filter = ProductFilter {
            category,
            include_hidden,
        };
        self.context.storage.products(filter).await
    }

    /// One product with its stock counts, if `viewer` may see it.
    pub async fn product(&self, viewer: UserId, id: ProductId) -> Result<(Product, StockCounts)> {
        let include_hidden = self.sees_hidden(viewer).await?;
        let product = self
            .context
            .storage
            .product(id)
            .await?
            .filter(|p| include_hidden || !p.hidden)
            .ok_or_else(|| Error::not_found("product", id))?;
        let counts = self.context.storage.stock_counts(id).await?;
        Ok((product, counts))
    }

    async fn sees_hidden(&self, viewer: UserId) -> Result<bool> {
        let user = self.context.customer(viewer).await?;
        Ok(self.context.role_of(&user).allows(Permission::ViewStock))
    }
}
