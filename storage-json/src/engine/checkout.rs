//! Checkout, orders and refunds.

use std::collections::BTreeMap;

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::ids::{InvoiceId, OrderId, ProductId, UserId};
use shopbot_core::order::{
    self, CheckoutError, CheckoutOutcome, CheckoutPayment, CheckoutRequest, DeliveredUnit, Order,
    OrderFilter, OrderLine, OrderPayment, OrderStatus, PlannedLine, RefundOutcome, RefundRequest,
};
use shopbot_core::outbox::{NewOutboxMessage, OutboxBody};
use shopbot_core::text::IdempotencyKey;
use shopbot_core::wallet::LedgerOp;

use super::State;

impl State {
    pub(super) fn commit_checkout(
        &mut self,
        request: CheckoutRequest,
    ) -> Result<CheckoutOutcome, Error> {
        let user = request.user;
        if let Some((fingerprint, id)) = self.checkout_keys.get(&(user, request.key.clone())) {
            if *fingerprint != request.fingerprint() {
                return Err(Error::Conflict(
                    "this idempotency key was used for another checkout".into(),
                ));
            }
            let order = self
                .orders
                .get(id)
                .cloned()
                .ok_or_else(|| Error::internal_msg("checkout key points to no order"))?;
            return Ok(CheckoutOutcome {
                order,
                replayed: true,
            });
        }
        self.require_user(user)?;

        // Check: the cart, the prices, the stock, the money. Nothing changes until all pass.
        // Lines bought at once are re-planned as asked for, and leave the cart alone.
        let cart = match request.cart_version {
            Some(version) => {
                let cart = self.cart(user);
                if cart.version != version {
                    return Err(CheckoutError::CartChanged.into());
                }
                Some(cart)
            }
            None => None,
        };
        let asked = match &cart {
            Some(cart) => cart.lines.clone(),
            None => request.lines.iter().map(PlannedLine::asked).collect(),
        };
        let lines = order::plan(&asked, |id| self.products.get(&id))?;
        if lines != request.lines || order::total(&lines)? != request.total {
            return Err(CheckoutError::PriceChanged.into());
        }
        // Lines bought at once may name a product twice: each product's lines together must
        // fit in its free units.
        let mut per_product: BTreeMap<ProductId, u32> = BTreeMap::new();
        for line in lines.iter().filter(|l| l.kind.uses_stock()) {
            let requested = per_product.entry(line.product).or_default();
            *requested = requested
                .checked_add(line.quantity.get())
                .ok_or_else(|| Error::invalid("too many units of one product in one checkout"))?;
            let available = self.available_count(line.product);
            if available < u64::from(*requested) {
                return Err(Error::OutOfStock {
                    product: line.product,
                    requested: *requested,
                    available,
                });
            }
        }
        let order_id = OrderId(self.next.order + 1);
        let invoice_id = InvoiceId(self.next.invoice + 1);
        let charge_key = IdempotencyKey::derived("checkout", &request.key);
        let (charge, invoice) = match request.payment {
            CheckoutPayment::Wallet => {
                let op = LedgerOp::Charge {
                    amount: request.total,
                    order: Some(order_id),
                    invoice: None,
                };
                (Some(self.plan_entry(user, charge_key, op, None)?), None)
            }
            CheckoutPayment::Invoice { .. } => (None, request.order_invoice(order_id)?),
        };

        // Change.
        self.next.order = order_id.0;
        let paid = charge.is_some();
        let mut order_lines = Vec::with_capacity(lines.len());
        for line in lines {
            let units = if line.kind.uses_stock() {
                let n = line.quantity.get() as usize;
                self.take_units(line.product, n, order_id, paid)
            } else {
                Vec::new()
            };
            order_lines.push(OrderLine {
                product: line.product,
                name: line.name,
                kind: line.kind,
                quantity: line.quantity,
                unit_price: line.unit_price,
                units: units
                    .into_iter()
                    .map(|u| DeliveredUnit {
                        unit: u.id,
                        payload: u.payload,
                    })
                    .collect(),
            });
        }
        if let Some(plan) = charge {
            self.write_entry(plan, request.at);
        }
        let (status, payment) = match invoice {
            Some(new) => {
                let invoice = self.insert_invoice(new);
                debug_assert_eq!(invoice.id, invoice_id);
                let payment = OrderPayment::Invoice {
                    invoice: invoice.id,
                };
                (OrderStatus::AwaitingPayment, payment)
            }
            None => {
                let message = NewOutboxMessage {
                    user,
                    body: OutboxBody::OrderDelivered { order: order_id },
                };
                self.queue(message, request.at);
                (OrderStatus::Paid, OrderPayment::Wallet)
            }
        };
        let order = Order {
            id: order_id,
            user,
            lines: order_lines,
            total: request.total,
            status,
            payment,
            key: request.key.clone(),
            cart_version: request.cart_version,
            created_at: request.at,
        };
        self.orders.insert(order_id, order.clone());
        self.orders_by_user.entry(user).or_default().push(order_id);
        self.checkout_keys.insert(
            (user, request.key.clone()),
            (request.fingerprint(), order_id),
        );
        if let Some(mut cart) = cart {
            cart.lines.clear();
            cart.version += 1;
            self.carts.insert(user, cart);
        }
        Ok(CheckoutOutcome {
            order,
            replayed: false,
        })
    }

    pub(super) fn refund_order(
        &mut self,
        request: RefundRequest,
        audit: AuditRecord,
    ) -> Result<RefundOutcome, Error> {
        let order = self
            .orders
            .get(&request.order)
            .ok_or_else(|| Error::not_found("order", request.order))?;
        match order.status {
            OrderStatus::Refunded => {
                return Ok(RefundOutcome {
                    order: order.clone(),
                    already_refunded: true,
                });
            }
            OrderStatus::Paid => {}
            status => {
                let order = order.id;
                return Err(CheckoutError::WrongStatus { order, status }.into());
            }
        }
        let (user, id) = (order.user, order.id);
        let op = LedgerOp::Refund {
            amount: order.total,
            order: Some(id),
        };
        let plan = self.plan_entry(user, IdempotencyKey::derived("refund", id), op, None)?;
        self.write_entry(plan, request.at);
        let message = NewOutboxMessage {
            user,
            body: OutboxBody::OrderRefunded { order: id },
        };
        self.queue(message, request.at);
        self.write_audit(Some(audit));
        let order = self
            .orders
            .get_mut(&id)
            .ok_or_else(|| Error::not_found("order", id))?;
        order.status = OrderStatus::Refunded;
        Ok(RefundOutcome {
            order: order.clone(),
            already_refunded: false,
        })
    }

    /// Sets the status of an order awaiting payment and settles its reserved units.
    pub(super) fn settle_order(&mut self, id: OrderId, paid: bool) {
        let Some(order) = self.orders.get_mut(&id) else {
            return;
        };
        if order.status != OrderStatus::AwaitingPayment {
            return;
        }
        order.status = if paid {
            OrderStatus::Paid
        } else {
            OrderStatus::Cancelled
        };
        let units: Vec<_> = order
            .lines
            .iter()
            .flat_map(|l| l.units.iter().map(|u| u.unit))
            .collect();
        self.settle_units(&units, id, paid);
    }

    /// The order a checkout with `(user, key)` created.
    pub fn checkout_by_key(&self, user: UserId, key: IdempotencyKey) -> Option<Order> {
        let (_, id) = self.checkout_keys.get(&(user, key))?;
        self.orders.get(id).cloned()
    }

    /// An order by id.
    pub fn order(&self, id: OrderId) -> Option<Order> {
        self.orders.get(&id).cloned()
    }

    /// Orders passing `filter`, newest first.
    pub fn orders(&self, filter: OrderFilter) -> Vec<Order> {
        let limit = filter.effective_limit();
        let matching = |o: &&Order| filter.matches(o);
        match filter.user {
            Some(user) => {
                let ids = self.orders_by_user.get(&user).map_or(&[][..], |v| &v[..]);
                ids.iter()
                    .rev()
                    .filter_map(|id| self.orders.get(id))
                    .filter(matching)
                    .take(limit)
                    .cloned()
                    .collect()
            }
            None => self
                .orders
                .values()
                .rev()
                .filter(matching)
                .take(limit)
                .cloned()
                .collect(),
        }
    }
}
