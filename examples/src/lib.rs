//! Embedding examples for shopbot. Each program in `src/bin/` is one; run them with
//! `cargo run -p shopbot-examples --bin <name>`.
