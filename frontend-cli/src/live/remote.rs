//! The client's side of the shop socket: [`RemoteStorage`], a [`Storage`](shopbot_core::ports::Storage) whose every call
//! runs in the process that holds the store, plus its check, backup and dump.
//!
//! One request at a time on one connection. A mutating call carries the run's request key.
//! If the connection drops after a mutating call was sent, its outcome is unknown: the call
//! fails, and [`RemoteStorage::in_doubt`] says what was in flight and how to repeat it safely,
//! which the CLI turns into exit code 6. The CLI does its own file I/O: a backup's files are
//! written here, under the directory the operator named.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use shopbot_core::Error;
use shopbot_core::dump::Dump;
use tokio::net::UnixStream;

use super::calls::Call;
use super::protocol::{
    CHUNK, ClientMessage, Frame, FrameError, LARGE, MAX_REQUEST, Operation, PROTOCOL_VERSION,
    ServerMessage, decode, read_frame, read_message, write_chunk, write_message,
};
use crate::error::{CliError, CliResult};

/// How long the hello exchange may take before the client gives up (a holder that accepts
/// but never answers must not hang a command).
const HELLO_TIMEOUT: Duration = Duration::from_secs(15);

/// A store reached through the socket of the process that holds it.
pub struct RemoteStorage {
    socket: PathBuf,
    stream: tokio::sync::Mutex<Option<UnixStream>>,
    next_id: AtomicU64,
    key: String,
    in_doubt: Mutex<Option<String>>,
}

/// Why connecting failed.
#[derive(Debug)]
pub enum ConnectError {
    /// Nobody listens there (yet): the holder may still be opening the store.
    Absent,
    /// Connecting failed for good, worded for the operator.
    Failed(CliError),
}

impl RemoteStorage {
    /// Connects to `socket` and says hello. `key` is the run's request key.
    pub async fn connect(socket: &Path, key: String) -> Result<RemoteStorage, ConnectError> {
        let mut stream = match UnixStream::connect(socket).await {
            Ok(stream) => stream,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Err(ConnectError::Absent);
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(ConnectError::Failed(CliError::refused(format!(
                    "permission denied on the running shop's socket {}: run shopbot as the \
                     user that owns the store",
                    socket.display()
                ))));
            }
            Err(e) => {
                return Err(ConnectError::Failed(CliError::internal(format!(
                    "cannot connect to the running shop's socket {}: {e}",
                    socket.display()
                ))));
            }
        };
        let hello = async {
            write_message(
                &mut stream,
                &ClientMessage::Hello {
                    protocol: PROTOCOL_VERSION,
                },
            )
            .await?;
            read_message::<ServerMessage>(&mut stream).await
        };
        let answer = tokio::time::timeout(HELLO_TIMEOUT, hello).await;
        let failed = |message: String| ConnectError::Failed(CliError::internal(message));
        match answer {
            Ok(Ok(ServerMessage::Hello { protocol })) if protocol == PROTOCOL_VERSION => {}
            Ok(Ok(ServerMessage::Refused { message })) => {
                return Err(ConnectError::Failed(CliError::refused(format!(
                    "the running shop refused this command: {message}"
                ))));
            }
            Ok(Ok(other)) => return Err(failed(format!("the running shop answered {other:?}"))),
            Ok(Err(error)) => {
                return Err(failed(format!("the running shop's socket failed: {error}")));
            }
            Err(_) => {
                return Err(failed(format!(
                    "the running shop did not answer on {} within {} s",
                    socket.display(),
                    HELLO_TIMEOUT.as_secs()
                )));
            }
        }
        Ok(RemoteStorage {
            socket: socket.to_path_buf(),
            stream: tokio::sync::Mutex::new(Some(stream)),
            next_id: AtomicU64::new(1),
            key,
            in_doubt: Mutex::new(None),
        })
    }

    /// What was in flight when the connection dropped after a mutating call, worded for the
    /// operator; `None` when nothing is in doubt.
    pub fn in_doubt(&self) -> Option<String> {
        self.in_doubt.lock().ok().and_then(|doubt| doubt.clone())
    }

    /// The run's request key.
    pub fn request_key(&self) -> &str {
        &self.key
    }

    /// Runs one storage call in the holder.
    pub(crate) async fn call<R: DeserializeOwned>(&self, call: Call) -> Result<R, Error> {
        let name = call.name();
        let value = self
            .request(Operation::Storage { call }, name, |_| Ok(()))
            .await?;
        serde_json::from_value(value).map_err(|e| {
            Error::internal_msg(format!(
                "the running shop's answer to {name} does not decode: {e}"
            ))
        })
    }

    /// The store's integrity problems, found by the holder.
    pub async fn check(&self) -> Result<Vec<String>, Error> {
        let value = self.request(Operation::Check, "check", |_| Ok(())).await?;
        serde_json::from_value(value).map_err(Error::internal)
    }

    /// Everything the store holds, streamed from the holder.
    pub async fn dump(&self) -> Result<Dump, Error> {
        let mut bytes = Vec::new();
        self.request(Operation::Dump, "dump", |piece| {
            if let Piece::Chunk(chunk) = piece {
                bytes.extend_from_slice(chunk);
            }
            Ok(())
        })
        .await?;
        serde_json::from_slice(&bytes).map_err(Error::internal)
    }

    /// A consistent copy of the store, made by the holder and written here into `dir`. Each
    /// file is written as `<name>.part`, synced, and renamed once the holder's reply says the
    /// copy is whole.
    pub async fn backup(&self, dir: &Path) -> Result<(), Error> {
        // Owner-only, as the store writes its own copies: a backup holds every secret.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(Error::internal)?;
        let mut current: Option<std::fs::File> = None;
        let mut files: Vec<(PathBuf, PathBuf)> = Vec::new();
        self.request(Operation::Backup, "backup", |piece| {
            match piece {
                Piece::File(name) => {
                    sync(current.take())?;
                    let target = plain_name(name).map(|name| dir.join(name)).ok_or_else(|| {
                        Error::internal_msg(format!("a backup file named {name:?}"))
                    })?;
                    let mut temp = target.clone().into_os_string();
                    temp.push(".part");
                    let temp = PathBuf::from(temp);
                    let file = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(&temp)
                        .map_err(Error::internal)?;
                    current = Some(file);
                    files.push((temp, target));
                }
                Piece::Chunk(chunk) => match current.as_mut() {
                    Some(file) => file.write_all(chunk).map_err(Error::internal)?,
                    None => return Err(Error::internal_msg("backup bytes before a file")),
                },
            }
            Ok(())
        })
        .await?;
        sync(current.take())?;
        for (temp, target) in files {
            std::fs::rename(&temp, &target).map_err(Error::internal)?;
        }
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(Error::internal)
    }

    /// Sends `op` and reads until its reply, handing streamed pieces to `on_piece`.
    async fn request(
        &self,
        op: Operation,
        name: &str,
        mut on_piece: impl FnMut(Piece<'_>) -> Result<(), Error>,
    ) -> Result<serde_json::Value, Error> {
        let changes = op.changes_store();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let key = op.needs_key().then(|| self.key.clone());
        let mut guard = self.stream.lock().await;
        let Some(stream) = guard.as_mut() else {
            return Err(Error::internal_msg(
                "the connection to the running shop was lost earlier in this command",
            ));
        };
        let json = serde_json::to_vec(&op).map_err(Error::internal)?;
        if json.len() as u64 > MAX_REQUEST {
            return Err(Error::invalid(format!(
                "{name} is too large to send to the running shop ({} bytes; at most {MAX_REQUEST})",
                json.len()
            )));
        }
        let sent = if json.len() > LARGE {
            send_large(stream, id, key, &json).await
        } else {
            write_message(stream, &ClientMessage::Request { id, key, op }).await
        };
        let outcome = match sent {
            Ok(()) => read_reply(stream, id, &mut on_piece).await,
            Err(error) => Err(Lost(error)),
        };
        match outcome {
            Ok(result) => result,
            Err(Lost(error)) => {
                *guard = None;
                if changes {
                    self.mark_in_doubt(name);
                }
                Err(Error::internal_msg(format!(
                    "the connection to the running shop at {} was lost: {error}",
                    self.socket.display()
                )))
            }
        }
    }

    fn mark_in_doubt(&self, name: &str) {
        let message = format!(
            "the running shop went away after `{name}` was sent: its outcome is unknown. \
             Check the store (`shopbot store check`, and the listing of what you changed) once \
             the shop is back, or repeat the same command with --request-key {}: a command \
             repeated with its key is applied once",
            self.key
        );
        if let Ok(mut doubt) = self.in_doubt.lock() {
            doubt.get_or_insert(message);
        }
    }
}

/// Sends an operation too large for one frame as a [`ClientMessage::LargeRequest`].
async fn send_large(
    stream: &mut UnixStream,
    id: u64,
    key: Option<String>,
    json: &[u8],
) -> Result<(), FrameError> {
    let len = json.len() as u64;
    write_message(stream, &ClientMessage::LargeRequest { id, key, len }).await?;
    for chunk in json.chunks(CHUNK) {
        write_chunk(stream, chunk).await?;
    }
    Ok(())
}

/// A piece of a streamed answer.
enum Piece<'a> {
    /// A new file of a backup begins.
    File(&'a str),
    /// Bytes of the current file or stream.
    Chunk(&'a [u8]),
}

/// The connection failed: the request's outcome is not known.
struct Lost(FrameError);

async fn read_reply(
    stream: &mut UnixStream,
    id: u64,
    on_piece: &mut impl FnMut(Piece<'_>) -> Result<(), Error>,
) -> Result<Result<serde_json::Value, Error>, Lost> {
    let mut failed: Option<Error> = None;
    loop {
        let frame = read_frame(stream).await.map_err(Lost)?;
        let message = match frame {
            Frame::Chunk(bytes) => {
                if failed.is_none() {
                    failed = on_piece(Piece::Chunk(&bytes)).err();
                }
                continue;
            }
            Frame::Message(bytes) => decode::<ServerMessage>(&bytes).map_err(Lost)?,
        };
        match message {
            ServerMessage::File { name, .. } => {
                if failed.is_none() {
                    failed = on_piece(Piece::File(&name)).err();
                }
            }
            ServerMessage::Stream { .. } => {}
            ServerMessage::Reply {
                id: answered,
                result,
            } if answered == id => {
                return Ok(match (failed, result) {
                    (Some(error), _) => Err(error),
                    (None, result) => result.map_err(Error::from),
                });
            }
            ServerMessage::Refused { message } => {
                return Err(Lost(FrameError::Undecodable(message)));
            }
            ServerMessage::Reply { .. } | ServerMessage::Hello { .. } => {
                return Err(Lost(FrameError::Malformed));
            }
        }
    }
}

/// A file name the holder may send: one plain component, no path.
fn plain_name(name: &str) -> Option<&str> {
    let mut components = Path::new(name).components();
    match (components.next(), components.next()) {
        (Some(Component::Normal(_)), None) => Some(name),
        _ => None,
    }
}

fn sync(file: Option<std::fs::File>) -> Result<(), Error> {
    match file {
        Some(file) => file.sync_all().map_err(Error::internal),
        None => Ok(()),
    }
}

/// A request key for this run: random, so two runs never share one.
pub fn random_request_key() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    format!("cli-{:016x}", hasher.finish())
}

/// Reaches the store in `dir`, which another process holds: through that process's socket,
/// or, if the holder is gone by now (the lock, not the socket file, says who is alive),
/// directly with `open_directly`, which answers `Ok(None)` while the store is still locked.
/// Waits up to `wait` for one of the two (the holder may still be replaying its journal),
/// saying so on stderr once.
pub async fn connect_or_open<T>(
    dir: &Path,
    key: &str,
    wait: Duration,
    mut open_directly: impl FnMut() -> CliResult<Option<T>>,
) -> CliResult<Reached<T>> {
    let started = std::time::Instant::now();
    let mut told = false;
    loop {
        let socket = super::place::find_socket(dir);
        match RemoteStorage::connect(&socket, key.to_owned()).await {
            Ok(remote) => return Ok(Reached::Remote(remote)),
            Err(ConnectError::Failed(error)) => return Err(error),
            Err(ConnectError::Absent) => {}
        }
        if let Some(opened) = open_directly()? {
            return Ok(Reached::Direct(opened));
        }
        if started.elapsed() >= wait {
            return Err(CliError::internal(format!(
                "the store at {} is in use by another process, which did not open its socket \
                 within {} s: if it is a shopbot serving the shop, wait until it has started; \
                 otherwise stop it",
                dir.display(),
                wait.as_secs()
            )));
        }
        if !told {
            eprintln!(
                "the store at {} is in use by a process that is still starting; waiting up to \
                 {} s for it",
                dir.display(),
                wait.as_secs()
            );
            told = true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How [`connect_or_open`] reached the store.
pub enum Reached<T> {
    /// Through the holder's socket.
    Remote(RemoteStorage),
    /// Directly: the holder was gone.
    Direct(T),
}
