//! The holder's side of the shop socket: [`Holder`], started by the process that has a JSON
//! store open for use (`serve`, `telegram`, `chat`).
//!
//! The socket is bound under a umask that leaves it owner-only from its first moment (it is
//! never chmod-ed afterwards), and every connection's peer is checked (`SO_PEERCRED`): only
//! the user the holder runs as is served. A socket file left by a crashed holder is removed
//! before binding: the store's lock, which this process holds, decides who is alive.
//!
//! Each connection runs on its own task. Anything malformed a client sends (garbage, a frame
//! cut short, an oversized length, another protocol version) ends that connection with a
//! [`ServerMessage::Refused`] where it can still be sent; the holder and its other
//! connections go on. The holder stops with the process: [`Holder::stop`] stops accepting,
//! lets each connection finish the request it is running, and joins them all.
//!
//! This module never decides a business rule: a storage call runs exactly as the client sent
//! it; the client runs the services (permissions, audit) in its own process.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::os::unix::fs::OpenOptionsExt;

use rustix::fs::Mode;
use shopbot_core::ports::{Clock, Storage, SystemClock};
use shopbot_storage_json::{JsonStore, KeyedStore, RequestKey};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::place::{RECORD_NAME, socket_path};
use super::protocol::{
    CHUNK, ClientMessage, FrameError, Operation, PROTOCOL_VERSION, ServerMessage, read_large,
    read_message, write_chunk, write_message,
};
use super::wire_error::WireError;

/// A running shop socket.
pub struct Holder {
    path: PathBuf,
    record: Option<PathBuf>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Holder {
    /// Binds the socket of the store in `dir` (which `store` holds open) and serves it.
    pub fn start(dir: &Path, store: Arc<JsonStore>) -> io::Result<Holder> {
        let (path, recorded) = socket_path(dir)?;
        // The lock is ours: whatever is at the path was left by a process that is gone.
        remove_if_present(&path)?;
        let listener = bind_owner_only(&path)?;
        let record = dir.join(RECORD_NAME);
        let record = if recorded {
            let temp = dir.join(format!("{RECORD_NAME}.tmp"));
            // Owner-only like every file of the store.
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temp)?;
            std::io::Write::write_all(&mut file, path.as_os_str().as_encoded_bytes())?;
            std::fs::rename(&temp, &record)?;
            Some(record)
        } else {
            remove_if_present(&record)?;
            None
        };
        let (stop, stopped) = watch::channel(false);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("shop-socket".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match UnixListener::from_std(listener) {
                        Ok(listener) => accept(listener, store, stopped).await,
                        Err(error) => tracing::error!(%error, "the shop socket cannot listen"),
                    }
                });
            })?;
        tracing::info!(socket = %path.display(), "the shop socket is listening");
        Ok(Holder {
            path,
            record,
            stop,
            thread: Some(thread),
        })
    }

    /// Where the socket is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting, waits for every connection to finish its request, and removes the
    /// socket file (and its record).
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        if let Some(thread) = self.thread.take() {
            let joined = tokio::task::spawn_blocking(move || thread.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::warn!("the shop socket's thread ended abnormally");
            }
        }
        // Drop removes the files.
    }
}

impl Drop for Holder {
    /// A holder dropped on an early return stops accepting and takes its files with it.
    fn drop(&mut self) {
        self.stop.send_replace(true);
        for path in std::iter::once(&self.path).chain(self.record.as_ref()) {
            if let Err(error) = remove_if_present(path) {
                tracing::warn!(%error, path = %path.display(), "cannot remove the socket file");
            }
        }
    }
}

/// Binds with the process umask at 0o177, so the socket file is created 0600; the umask is
/// put back at once.
fn bind_owner_only(path: &Path) -> io::Result<std::os::unix::net::UnixListener> {
    let previous = rustix::process::umask(Mode::from_raw_mode(0o177));
    let bound = std::os::unix::net::UnixListener::bind(path);
    rustix::process::umask(previous);
    let listener = bound?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

async fn accept(listener: UnixListener, store: Arc<JsonStore>, mut stopped: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    let watcher = stopped.clone();
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, Arc::clone(&store), watcher.clone()));
                }
                Err(error) => tracing::warn!(%error, "the shop socket could not accept"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    while connections.join_next().await.is_some() {}
}

/// Serves one client until it leaves, misbehaves, or the holder stops.
async fn connection(
    mut stream: UnixStream,
    store: Arc<JsonStore>,
    mut stopped: watch::Receiver<bool>,
) {
    let own = rustix::process::getuid().as_raw();
    match stream.peer_cred() {
        Ok(peer) if peer.uid() == own => {}
        Ok(peer) => {
            let message = format!(
                "user {} may not administer this shop: run shopbot as the user that owns the \
                 store (uid {own})",
                peer.uid()
            );
            refuse(&mut stream, message).await;
            return;
        }
        Err(error) => {
            refuse(&mut stream, format!("cannot tell who connected: {error}")).await;
            return;
        }
    }
    let hello = tokio::select! {
        _ = stopped.wait_for(|stop| *stop) => return,
        hello = read_message::<ClientMessage>(&mut stream) => hello,
    };
    match hello {
        Ok(ClientMessage::Hello { protocol }) if protocol == PROTOCOL_VERSION => {}
        Ok(ClientMessage::Hello { protocol }) => {
            let message = format!(
                "the running shop speaks protocol {PROTOCOL_VERSION} and this shopbot speaks \
                 {protocol}: run the same shopbot version as the running shop"
            );
            refuse(&mut stream, message).await;
            return;
        }
        Ok(ClientMessage::Request { .. } | ClientMessage::LargeRequest { .. }) => {
            refuse(&mut stream, "a request before hello".into()).await;
            return;
        }
        Err(FrameError::Closed) => return,
        Err(error) => {
            refuse(&mut stream, error.to_string()).await;
            return;
        }
    }
    let mut keyed = Keyed::default();
    let hello = ServerMessage::Hello {
        protocol: PROTOCOL_VERSION,
    };
    if write_message(&mut stream, &hello).await.is_err() {
        return;
    }
    loop {
        let next = tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            next = read_message::<ClientMessage>(&mut stream) => next,
        };
        let next = match next {
            Ok(ClientMessage::LargeRequest { id, key, len }) => read_large(&mut stream, len)
                .await
                .map(|op| ClientMessage::Request { id, key, op }),
            other => other,
        };
        let (id, key, op) = match next {
            Ok(ClientMessage::Request { id, key, op }) => (id, key, op),
            Ok(ClientMessage::LargeRequest { .. }) => {
                refuse(&mut stream, "a malformed large request".into()).await;
                return;
            }
            Ok(ClientMessage::Hello { .. }) => {
                refuse(&mut stream, "hello was already said".into()).await;
                return;
            }
            Err(FrameError::Closed) => return,
            Err(error) => {
                tracing::info!(%error, "a shop socket client sent what does not decode");
                refuse(&mut stream, error.to_string()).await;
                return;
            }
        };
        if let Err(error) = answer(&mut stream, &store, &mut keyed, id, key.as_deref(), op).await {
            tracing::info!(%error, "a shop socket client went away during its request");
            return;
        }
    }
}

/// Sends the refusal, then reads (and drops) what the client still sends, for a bounded
/// time and amount: closing with unread input would reset the connection and could lose the
/// refusal on its way to the client.
async fn refuse(stream: &mut UnixStream, message: String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if write_message(stream, &ServerMessage::Refused { message })
        .await
        .is_err()
    {
        return;
    }
    let _ = stream.shutdown().await;
    let drain = async {
        let mut sink = [0u8; 8192];
        let mut left = DRAIN_LIMIT;
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
}

/// How much of a refused client's input is read before closing.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// How long a refused client's input is read before closing.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs one request and writes its answer (streams first, then the reply).
async fn answer(
    stream: &mut UnixStream,
    store: &Arc<JsonStore>,
    keyed: &mut Keyed,
    id: u64,
    key: Option<&str>,
    op: Operation,
) -> Result<(), FrameError> {
    let result = match op {
        Operation::Storage { call } => match keyed.storage(store, key) {
            Ok(storage) => call
                .apply(storage.as_ref())
                .await
                .map_err(|e| WireError::from(&e)),
            Err(error) => Err(WireError::from(&error)),
        },
        Operation::Check => match store.check().await {
            Ok(problems) => Ok(serde_json::json!(problems)),
            Err(error) => Err(WireError::from(&error)),
        },
        Operation::Ready => Ok(serde_json::Value::Bool(true)),
        Operation::Dump => match dump_bytes(store).await {
            Ok(bytes) => {
                let len = bytes.len() as u64;
                write_message(stream, &ServerMessage::Stream { len }).await?;
                for chunk in bytes.chunks(CHUNK) {
                    write_chunk(stream, chunk).await?;
                }
                Ok(serde_json::Value::Null)
            }
            Err(error) => Err(error),
        },
        Operation::Backup => backup(stream, store).await?,
    };
    write_message(stream, &ServerMessage::Reply { id, result }).await
}

/// The keyed handle of a connection: one CLI run is one request, whose keyed calls the
/// handle numbers in the order they come ([`JsonStore::keyed`]), so a run repeated with its
/// key gets the recorded answers and applies nothing twice.
#[derive(Default)]
struct Keyed {
    current: Option<(String, Arc<KeyedStore>)>,
}

impl Keyed {
    /// The storage a call with `key` runs on: the plain store without a key, else the
    /// connection's handle for that key.
    fn storage(
        &mut self,
        store: &Arc<JsonStore>,
        key: Option<&str>,
    ) -> Result<Arc<dyn Storage>, shopbot_core::Error> {
        let Some(key) = key else {
            return Ok(Arc::clone(store) as Arc<dyn Storage>);
        };
        if let Some((current, handle)) = &self.current
            && current == key
        {
            return Ok(Arc::clone(handle) as Arc<dyn Storage>);
        }
        let parsed = RequestKey::parse(key).map_err(shopbot_core::Error::from)?;
        let handle = Arc::new(store.keyed(parsed, SystemClock.now()));
        self.current = Some((key.to_owned(), Arc::clone(&handle)));
        Ok(handle as Arc<dyn Storage>)
    }
}

async fn dump_bytes(store: &JsonStore) -> Result<Vec<u8>, WireError> {
    let dump = store.export_dump().await.map_err(|e| WireError::from(&e))?;
    serde_json::to_vec(&dump).map_err(|e| WireError::Internal {
        message: format!("cannot encode the dump: {e}"),
    })
}

/// Makes the consistent copy in a private temporary directory and streams its files.
async fn backup(
    stream: &mut UnixStream,
    store: &JsonStore,
) -> Result<Result<serde_json::Value, WireError>, FrameError> {
    let internal = |what: &str, e: &dyn std::fmt::Display| WireError::Internal {
        message: format!("{what}: {e}"),
    };
    let temp = match tempfile::tempdir() {
        Ok(temp) => temp,
        Err(e) => return Ok(Err(internal("cannot make a temporary directory", &e))),
    };
    let copy = temp.path().join("copy");
    if let Err(error) = store.backup(&copy).await {
        return Ok(Err(WireError::from(&error)));
    }
    let mut files = Vec::new();
    match std::fs::read_dir(&copy) {
        Ok(entries) => {
            for entry in entries {
                match entry {
                    Ok(entry) => files.push(entry.path()),
                    Err(e) => return Ok(Err(internal("cannot list the copy", &e))),
                }
            }
        }
        Err(e) => return Ok(Err(internal("cannot list the copy", &e))),
    }
    files.sort();
    for file in files {
        let Some(name) = file.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        let bytes = match tokio::fs::read(&file).await {
            Ok(bytes) => bytes,
            Err(e) => return Ok(Err(internal("cannot read the copy", &e))),
        };
        let len = bytes.len() as u64;
        write_message(stream, &ServerMessage::File { name, len }).await?;
        for chunk in bytes.chunks(CHUNK) {
            write_chunk(stream, chunk).await?;
        }
    }
    Ok(Ok(serde_json::Value::Null))
}
