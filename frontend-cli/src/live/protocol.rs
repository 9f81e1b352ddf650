//! The shop socket's protocol: frames, messages and the version they speak.
//!
//! A frame is a 4-byte big-endian length and that many bytes; the length is checked against
//! [`MAX_FRAME`] before anything is allocated. The first byte of a frame says what it is:
//! `J` a JSON message ([`ClientMessage`] or [`ServerMessage`]), `C` a chunk of raw bytes of
//! the stream the last [`ServerMessage::Stream`] or [`ServerMessage::File`] announced.
//!
//! A connection starts with [`ClientMessage::Hello`], answered by [`ServerMessage::Hello`]
//! or, for another protocol version or another user, [`ServerMessage::Refused`] and the end of
//! the connection. Then the client sends one [`ClientMessage::Request`] at a time and reads
//! until its [`ServerMessage::Reply`]; streamed answers come as chunks before the reply.
//!
//! Decoding never panics on any input (a property test holds it to that); this module does
//! no I/O beyond reading and writing frames on the stream it is given.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::calls::Call;
use super::wire_error::WireError;

/// The protocol version this program speaks; a peer speaking another is refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest frame either side accepts, in bytes (its length prefix excluded).
pub const MAX_FRAME: usize = 4 * 1024 * 1024;

/// How many bytes of a stream go into one chunk frame.
pub const CHUNK: usize = 1024 * 1024;

/// What a client sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The first message: the protocol version the client speaks.
    Hello {
        /// [`PROTOCOL_VERSION`] of the client.
        protocol: u32,
    },
    /// One operation.
    Request {
        /// Chosen by the client; the reply carries it back.
        id: u64,
        /// The request key of a mutating call: repeating the call with the same key applies
        /// it once.
        key: Option<String>,
        /// What to do.
        op: Operation,
    },
    /// One operation too large for a frame (a 100,000-key import): its [`Operation`] as JSON
    /// follows in chunk frames, `len` bytes in all (at most [`MAX_REQUEST`]).
    LargeRequest {
        /// As in [`ClientMessage::Request`].
        id: u64,
        /// As in [`ClientMessage::Request`].
        key: Option<String>,
        /// The size of the operation's JSON.
        len: u64,
    },
}

/// The largest operation a client may stream ([`ClientMessage::LargeRequest`]): room for
/// `stock add`'s largest file (16 MiB) as JSON.
pub const MAX_REQUEST: u64 = 64 * 1024 * 1024;

/// Operations whose JSON is larger than this go as a [`ClientMessage::LargeRequest`].
pub const LARGE: usize = MAX_FRAME - 64 * 1024;

/// Reads the chunks of a [`ClientMessage::LargeRequest`] of `len` bytes and decodes them.
pub async fn read_large(
    reader: &mut (impl AsyncRead + Unpin),
    len: u64,
) -> Result<Operation, FrameError> {
    if len > MAX_REQUEST {
        return Err(FrameError::Oversized(len));
    }
    let len = usize::try_from(len).map_err(|_| FrameError::Oversized(len))?;
    let mut bytes = Vec::with_capacity(len.min(MAX_FRAME));
    while bytes.len() < len {
        match read_frame(reader).await? {
            Frame::Chunk(chunk) if bytes.len() + chunk.len() <= len => {
                bytes.extend_from_slice(&chunk);
            }
            Frame::Chunk(_) | Frame::Message(_) => return Err(FrameError::Malformed),
        }
    }
    decode(&bytes)
}

/// What a request asks the holder to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// A [`Storage`](shopbot_core::ports::Storage) call; the reply holds its result.
    Storage {
        /// The call.
        call: Call,
    },
    /// The store's integrity check; the reply holds the problems found.
    Check,
    /// A consistent copy of the store: its files are streamed ([`ServerMessage::File`] and
    /// chunks), then an empty reply.
    Backup,
    /// Everything the store holds as a dump: streamed as JSON ([`ServerMessage::Stream`] and
    /// chunks), then an empty reply.
    Dump,
    /// Whether the holder serves requests: the reply is `true`.
    Ready,
}

impl Operation {
    /// Whether the operation may change the store.
    pub fn changes_store(&self) -> bool {
        match self {
            Operation::Storage { call } => call.changes_store(),
            Operation::Check | Operation::Backup | Operation::Dump | Operation::Ready => false,
        }
    }

    /// Whether the operation carries the run's request key ([`Call::needs_key`]).
    pub fn needs_key(&self) -> bool {
        match self {
            Operation::Storage { call } => call.needs_key(),
            Operation::Check | Operation::Backup | Operation::Dump | Operation::Ready => false,
        }
    }
}

/// What the holder sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The answer to [`ClientMessage::Hello`]: the holder's version; requests may follow.
    Hello {
        /// [`PROTOCOL_VERSION`] of the holder.
        protocol: u32,
    },
    /// The connection is refused (another version, another user, a malformed message); the
    /// holder closes it after this.
    Refused {
        /// Why, for the operator.
        message: String,
    },
    /// A streamed file of a backup follows, as chunks; `len` bytes in all.
    File {
        /// The file's name inside the copy (one plain path component).
        name: String,
        /// Its size in bytes.
        len: u64,
    },
    /// A streamed document follows, as chunks; `len` bytes in all.
    Stream {
        /// Its size in bytes.
        len: u64,
    },
    /// The outcome of request `id`.
    Reply {
        /// The request's id.
        id: u64,
        /// Its result as JSON, or the error it met.
        result: Result<serde_json::Value, WireError>,
    },
}

/// A frame as read: a message or a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A JSON message, undecoded.
    Message(Vec<u8>),
    /// Raw bytes of a stream.
    Chunk(Vec<u8>),
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection between frames.
    #[error("the connection was closed")]
    Closed,
    /// The peer closed the connection in the middle of a frame.
    #[error("the connection was closed in the middle of a frame")]
    Truncated,
    /// The length prefix is over [`MAX_FRAME`] (nothing was allocated for it).
    #[error("a frame of {0} bytes is over the limit of {MAX_FRAME} bytes")]
    Oversized(u64),
    /// A frame of no bytes, or of an unknown kind.
    #[error("a malformed frame")]
    Malformed,
    /// A JSON message that does not decode.
    #[error("a message that does not decode: {0}")]
    Undecodable(String),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

const MESSAGE: u8 = b'J';
const CHUNK_KIND: u8 = b'C';

/// Checks a frame's 4-byte length prefix: the body's length, or why it is refused.
pub fn body_len(prefix: [u8; 4]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(prefix);
    let len = usize::try_from(len).map_err(|_| FrameError::Oversized(u64::from(len)))?;
    if len > MAX_FRAME {
        return Err(FrameError::Oversized(len as u64));
    }
    if len == 0 {
        return Err(FrameError::Malformed);
    }
    Ok(len)
}

/// Splits a frame's body into its kind and payload.
pub fn parse_body(mut body: Vec<u8>) -> Result<Frame, FrameError> {
    let Some(&kind) = body.first() else {
        return Err(FrameError::Malformed);
    };
    body.remove(0);
    match kind {
        MESSAGE => Ok(Frame::Message(body)),
        CHUNK_KIND => Ok(Frame::Chunk(body)),
        _ => Err(FrameError::Malformed),
    }
}

/// Reads one frame.
pub async fn read_frame(reader: &mut (impl AsyncRead + Unpin)) -> Result<Frame, FrameError> {
    let mut prefix = [0u8; 4];
    let mut filled = 0;
    while filled < prefix.len() {
        let Some(rest) = prefix.get_mut(filled..) else {
            return Err(FrameError::Malformed);
        };
        let n = reader.read(rest).await?;
        if n == 0 {
            return Err(if filled == 0 {
                FrameError::Closed
            } else {
                FrameError::Truncated
            });
        }
        filled += n;
    }
    let len = body_len(prefix)?;
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            FrameError::Truncated
        } else {
            FrameError::Io(e)
        }
    })?;
    parse_body(body)
}

/// Reads one frame that must be a JSON message of type `M`.
pub async fn read_message<M: for<'de> Deserialize<'de>>(
    reader: &mut (impl AsyncRead + Unpin),
) -> Result<M, FrameError> {
    match read_frame(reader).await? {
        Frame::Message(bytes) => decode(&bytes),
        Frame::Chunk(_) => Err(FrameError::Malformed),
    }
}

/// Decodes a JSON message.
pub fn decode<M: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<M, FrameError> {
    serde_json::from_slice(bytes).map_err(|e| FrameError::Undecodable(e.to_string()))
}

/// Writes one JSON message as a frame.
pub async fn write_message(
    writer: &mut (impl AsyncWrite + Unpin),
    message: &impl Serialize,
) -> Result<(), FrameError> {
    let json = serde_json::to_vec(message).map_err(|e| FrameError::Undecodable(e.to_string()))?;
    write_frame(writer, MESSAGE, &json).await
}

/// Writes one chunk frame.
pub async fn write_chunk(
    writer: &mut (impl AsyncWrite + Unpin),
    bytes: &[u8],
) -> Result<(), FrameError> {
    write_frame(writer, CHUNK_KIND, bytes).await
}

async fn write_frame(
    writer: &mut (impl AsyncWrite + Unpin),
    kind: u8,
    payload: &[u8],
) -> Result<(), FrameError> {
    let len = payload.len() + 1;
    if len > MAX_FRAME {
        return Err(FrameError::Oversized(len as u64));
    }
    let prefix = u32::try_from(len).map_err(|_| FrameError::Oversized(len as u64))?;
    let mut frame = Vec::with_capacity(len + 4);
    frame.extend_from_slice(&prefix.to_be_bytes());
    frame.push(kind);
    frame.extend_from_slice(payload);
    writer.write_all(&frame).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn runtime() -> tokio::runtime::Runtime {
        match tokio::runtime::Builder::new_current_thread().build() {
            Ok(runtime) => runtime,
            Err(e) => panic!("runtime: {e}"),
        }
    }

    #[test]
    fn an_oversized_length_is_refused_before_its_body_is_read() {
        let mut bytes: &[u8] = &[0xff, 0xff, 0xff, 0xff, b'J'];
        let result = runtime().block_on(read_frame(&mut bytes));
        assert!(matches!(result, Err(FrameError::Oversized(4_294_967_295))));
    }

    #[test]
    fn a_frame_cut_short_is_truncated_and_nothing_is_closed() {
        let mut bytes: &[u8] = &[0, 0, 0, 9, b'J', b'{'];
        let result = runtime().block_on(read_frame(&mut bytes));
        assert!(matches!(result, Err(FrameError::Truncated)));
        let mut nothing: &[u8] = &[];
        let result = runtime().block_on(read_frame(&mut nothing));
        assert!(matches!(result, Err(FrameError::Closed)));
    }

    #[test]
    fn a_written_message_reads_back() {
        let runtime = runtime();
        let mut buffer = Vec::new();
        let sent = ClientMessage::Request {
            id: 7,
            key: Some("k".into()),
            op: Operation::Check,
        };
        let written = runtime.block_on(write_message(&mut buffer, &sent));
        assert!(written.is_ok());
        let mut bytes: &[u8] = &buffer;
        let read: Result<ClientMessage, _> = runtime.block_on(read_message(&mut bytes));
        assert!(matches!(
            read,
            Ok(ClientMessage::Request { id: 7, key: Some(k), op: Operation::Check }) if k == "k"
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let runtime = runtime();
            let mut input: &[u8] = &bytes;
            // Read frames until the input runs out or is refused: never a panic.
            for _ in 0..64 {
                match runtime.block_on(read_frame(&mut input)) {
                    Ok(Frame::Message(body)) => {
                        let _ = decode::<ClientMessage>(&body);
                        let _ = decode::<ServerMessage>(&body);
                    }
                    Ok(Frame::Chunk(_)) => {}
                    Err(_) => break,
                }
            }
            let _ = decode::<ClientMessage>(&bytes);
        }

        #[test]
        fn arbitrary_json_bodies_never_panic_the_decoder(text in "\\PC{0,200}") {
            let framed = format!("{{\"type\":\"request\",\"id\":1,\"key\":null,\"op\":{text}}}");
            let _ = decode::<ClientMessage>(framed.as_bytes());
            let _ = decode::<ClientMessage>(text.as_bytes());
        }
    }
}
