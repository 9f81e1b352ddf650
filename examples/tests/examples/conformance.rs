//! The custom store of the examples keeps the storage contract: the whole conformance suite
//! runs through a `CountingStore` wrapped around the in-memory JSON store, from one macro call.

use std::sync::Arc;

use shopbot_examples::CountingStore;
use shopbot_storage_json::JsonStore;

shopbot_core::conformance_suite!(|| async {
    Arc::new(CountingStore::new(Arc::new(JsonStore::in_memory())))
});
