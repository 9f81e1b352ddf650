//! A stand-in PostgreSQL server on loopback, for the failures the real test server cannot be
//! made to show: it trusts everyone, and it always answers.
//!
//! It speaks just enough of the protocol to turn a login away: it declines TLS, reads the
//! startup message and answers with an error response carrying the SQLSTATE it was given. A
//! silent one accepts connections and never says a word.

#![allow(clippy::unwrap_used)] // Test support fails by panicking.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

/// The code a client sends to ask for TLS before its startup message.
const SSL_REQUEST: u32 = 80_877_103;

/// A fake server listening on `127.0.0.1:port` for as long as the test process runs.
pub struct FakeServer {
    /// The port it listens on.
    pub port: u16,
}

/// A server that turns every login away with SQLSTATE `code` and `message`, as PostgreSQL
/// does for a wrong password (`28P01`) or a client its `pg_hba.conf` rejects (`28000`).
pub fn refusing_logins(code: &'static str, message: &'static str) -> FakeServer {
    serve(move |mut stream| {
        // A client that stops talking only ends its own connection.
        let _ = refuse(&mut stream, code, message);
    })
}

/// A server that accepts connections and never answers, like one stuck or behind a firewall
/// that swallows packets after the handshake.
pub fn silent() -> FakeServer {
    let mut held = Vec::new();
    serve(move |stream| held.push(stream))
}

/// A port on loopback where nothing listens: it was free a moment ago and is closed again.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn serve(mut handle: impl FnMut(TcpStream) + Send + 'static) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            handle(stream);
        }
    });
    FakeServer { port }
}

fn refuse(stream: &mut TcpStream, code: &str, message: &str) -> std::io::Result<()> {
    let mut first = read_message(stream)?;
    if first.get(..4) == Some(&SSL_REQUEST.to_be_bytes()[..]) {
        stream.write_all(b"N")?;
        first = read_message(stream)?;
    }
    drop(first);
    let mut fields = Vec::new();
    for (kind, value) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', code),
        (b'M', message),
    ] {
        fields.push(kind);
        fields.extend_from_slice(value.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let length = u32::try_from(fields.len() + 4).unwrap();
    let mut response = vec![b'E'];
    response.extend_from_slice(&length.to_be_bytes());
    response.extend_from_slice(&fields);
    stream.write_all(&response)?;
    stream.flush()
}

/// One untyped message (SSL request or startup): a length that counts itself, then the body.
fn read_message(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut length = [0u8; 4];
    stream.read_exact(&mut length)?;
    let length = usize::try_from(u32::from_be_bytes(length)).unwrap_or(0);
    let mut body = vec![0u8; length.saturating_sub(4)];
    stream.read_exact(&mut body)?;
    Ok(body)
}
