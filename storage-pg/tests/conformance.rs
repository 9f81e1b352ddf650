//! The whole storage conformance suite against PostgreSQL, one fresh database per test.

mod support;

shopbot_core::conformance_suite!(support::store);
