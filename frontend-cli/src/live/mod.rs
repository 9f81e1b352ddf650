//! Live administration: every `shopbot` command works on a JSON store that a running shop
//! holds, through the shop's local socket.
//!
//! The embedded store is open in one process at a time (its lock file says which). The
//! process that holds it for use — `shopbot serve`, `telegram` — runs a [`Holder`] on
//! `<store dir>/shopbot.sock` (or a short path in the runtime directory, recorded in
//! `shopbot.sock.path`, when the store's path is too long for a socket). Any other command
//! that finds the store locked connects there instead of failing, and gets a
//! [`RemoteStorage`]: the same [`Storage`](shopbot_core::ports::Storage) port, every call
//! carried over the socket. The command's services (permission checks, audit records) run in
//! the command's own process exactly as on a direct open, so output, exit codes and the audit
//! log are the same; only the storage calls cross.
//!
//! * [`protocol`]: frames with a size cap, a versioned hello, requests with ids, streamed
//!   answers (backups, dumps) in chunks.
//! * [`calls`]: every `Storage` method as a [`Call`](calls::Call), from one list.
//! * [`wire_error`]: core errors across the socket, rebuilt into the same variant.
//! * [`place`]: where the socket is.
//! * [`holder`] / [`remote`]: the two ends.
//!
//! Only the store's owner may connect: the socket is created owner-only (bound under a
//! restrictive umask) and the holder checks every peer's uid. A connection lost after a
//! mutating call leaves its outcome unknown: the command exits 6 and says how to repeat it
//! with its `--request-key`.

pub mod calls;
pub mod holder;
pub mod place;
pub mod protocol;
pub mod remote;
pub mod wire_error;

pub use holder::Holder;
pub use remote::RemoteStorage;
