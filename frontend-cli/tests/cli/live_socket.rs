//! The shop socket itself, below the commands: owner-only and where it is, refusals of bad
//! input while the shop keeps serving, a holder that vanishes mid-command (exit 6, and a
//! repeat with the key applying once), and a command waiting for a shop still starting.
//!
//! The tests synchronise on the processes themselves (serve's start line, a command's stderr,
//! a connection accepted by a test's own holder), never on sleeps.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::Arc;

use shopbot_cli::live::calls::Call;
use shopbot_cli::live::protocol::{
    ClientMessage, Frame, Operation, PROTOCOL_VERSION, ServerMessage, decode, read_frame,
    write_message,
};
use shopbot_cli::live::wire_error::WireError;
use shopbot_core::ports::{Clock, Storage, SystemClock};
use shopbot_storage_json::{JsonStore, RequestKey};

use crate::helpers::{Run, TestShop};
use crate::serve::{Serving, serve};

#[test]
fn the_socket_is_owner_only_and_gone_after_a_clean_stop() {
    let shop = TestShop::demo();
    let serving = Serving::start(serve(&shop, "info"));
    let socket = shop.store_dir().join("shopbot.sock");
    let mode = std::fs::symlink_metadata(&socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    serving.stop("-TERM").ok();
    assert!(!socket.exists());
}

#[test]
fn a_store_path_too_long_for_a_socket_uses_a_short_one_recorded_in_the_store() {
    let shop = TestShop::without_store();
    let long = shop
        .path(&"a-very-long-directory-name-".repeat(4))
        .join("store");
    std::fs::create_dir_all(long.parent().unwrap()).unwrap();
    let url = format!("json:{}", long.display());
    assert!(long.join("shopbot.sock").as_os_str().len() > 107);
    shop.run_on(&url, &["demo"]).ok();
    let runtime = tempfile::tempdir().unwrap();
    let mut command = shop.bare_command();
    command
        .args(["--store", &url, "--log-level", "info", "serve"])
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env_remove("TELEGRAM_BOT_TOKEN");
    let serving = Serving::start(command);
    let recorded = std::fs::read_to_string(long.join("shopbot.sock.path")).unwrap();
    let socket = Path::new(recorded.trim());
    assert!(socket.starts_with(runtime.path()), "{recorded}");
    let mode = std::fs::symlink_metadata(socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    shop.run_on(&url, &["product", "list"]).ok();
    let record = std::fs::metadata(long.join("shopbot.sock.path")).unwrap();
    assert_eq!(record.permissions().mode() & 0o077, 0);
    shop.run_on(&url, &["store", "check"]).ok();
    serving.stop("-TERM").ok();
    assert!(!socket.exists());
}

/// One frame as the protocol writes it.
fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = ((payload.len() + 1) as u32).to_be_bytes().to_vec();
    bytes.push(kind);
    bytes.extend_from_slice(payload);
    bytes
}

/// Sends `bytes`, closes the writing side, and returns what the holder answered before it
/// closed the connection.
fn exchange(socket: &Path, bytes: &[u8]) -> Vec<u8> {
    let mut stream = UnixStream::connect(socket).unwrap();
    // The holder may refuse (and stop reading) before all of it arrived.
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    answer
}

/// The messages in `bytes`, decoded.
fn messages(bytes: &[u8]) -> Vec<ServerMessage> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut input = bytes;
    let mut found = Vec::new();
    while let Ok(Frame::Message(body)) = runtime.block_on(read_frame(&mut input)) {
        found.push(decode::<ServerMessage>(&body).unwrap());
    }
    found
}

fn refused_with(bytes: &[u8], needle: &str) {
    let answer = messages(bytes);
    assert!(
        matches!(answer.as_slice(), [ServerMessage::Refused { message }] if message.contains(needle)),
        "expected a refusal with {needle:?}, got {answer:?}"
    );
}

#[test]
fn bad_input_on_the_socket_is_refused_and_the_shop_keeps_serving() {
    let shop = TestShop::demo();
    let serving = Serving::start(serve(&shop, "info"));
    let socket = shop.store_dir().join("shopbot.sock");
    let hello = |protocol: u32| {
        frame(
            b'J',
            &serde_json::to_vec(&ClientMessage::Hello { protocol }).unwrap(),
        )
    };

    // Garbage: not a frame the holder can read.
    refused_with(
        &exchange(&socket, b"GET / HTTP/1.1\r\nHost: shop\r\n\r\n"),
        "",
    );
    // A length over the cap, refused without reading (or allocating) its body.
    refused_with(
        &exchange(&socket, &[0x7f, 0xff, 0xff, 0xff, b'J']),
        "over the limit",
    );
    // A frame cut short by the client.
    refused_with(
        &exchange(&socket, &[0, 0, 0, 64, b'J', b'{']),
        "middle of a frame",
    );
    // A frame that is not JSON.
    refused_with(
        &exchange(&socket, &frame(b'J', b"\xff\xfe not json")),
        "does not decode",
    );
    // A client of another protocol version.
    refused_with(&exchange(&socket, &hello(PROTOCOL_VERSION + 1)), "protocol");
    // A request before hello.
    let early = ClientMessage::Request {
        id: 1,
        key: None,
        op: Operation::Ready,
    };
    refused_with(
        &exchange(&socket, &frame(b'J', &serde_json::to_vec(&early).unwrap())),
        "before hello",
    );
    // A well-behaved client is served after all that.
    let mut good = hello(PROTOCOL_VERSION);
    good.extend(frame(
        b'J',
        &serde_json::to_vec(&ClientMessage::Request {
            id: 9,
            key: None,
            op: Operation::Ready,
        })
        .unwrap(),
    ));
    let answer = messages(&exchange(&socket, &good));
    assert!(
        matches!(
            answer.as_slice(),
            [
                ServerMessage::Hello { .. },
                ServerMessage::Reply {
                    id: 9,
                    result: Ok(serde_json::Value::Bool(true))
                }
            ]
        ),
        "{answer:?}"
    );
    shop.run(&["product", "list"]).ok();
    shop.run(&["store", "check"]).ok();
    serving.stop("-TERM").ok();
}

/// What a test's own holder does with the first keyed call it receives before it goes away.
#[derive(Clone, Copy)]
enum Vanish {
    /// Goes away before applying it.
    BeforeApplying,
    /// Applies it, then goes away before answering.
    AfterApplying,
}

/// Holds the store in `dir` like a shop would and serves one connection, then vanishes as
/// `vanish` says at the first keyed call. Returns once the connection is over.
async fn holder_that_vanishes(store: Arc<JsonStore>, socket: &Path, vanish: Vanish) {
    use shopbot_cli::live::protocol::read_message;
    // Owner-only from the start, as the real holder binds it.
    let umask = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
    let listener = tokio::net::UnixListener::bind(socket);
    rustix::process::umask(umask);
    let listener = listener.unwrap();
    let (mut stream, _) = listener.accept().await.unwrap();
    let hello: ClientMessage = read_message(&mut stream).await.unwrap();
    assert!(matches!(hello, ClientMessage::Hello { .. }));
    write_message(
        &mut stream,
        &ServerMessage::Hello {
            protocol: PROTOCOL_VERSION,
        },
    )
    .await
    .unwrap();
    loop {
        let Ok(ClientMessage::Request { id, key, op }) = read_message(&mut stream).await else {
            return;
        };
        let Operation::Storage { call } = op else {
            panic!("a storage call expected")
        };
        if let Some(key) = key {
            if let Vanish::AfterApplying = vanish {
                let keyed = store.keyed(RequestKey::parse(&key).unwrap(), SystemClock.now());
                let _ = apply(call, &keyed).await;
            }
            return;
        }
        let result = apply(call, store.as_ref()).await;
        write_message(&mut stream, &ServerMessage::Reply { id, result })
            .await
            .unwrap();
    }
}

async fn apply(call: Call, store: &dyn Storage) -> Result<serde_json::Value, WireError> {
    call.apply(store).await.map_err(|e| WireError::from(&e))
}

#[test]
fn a_change_whose_answer_never_came_exits_6_and_its_repeat_with_the_key_applies_once() {
    for vanish in [Vanish::BeforeApplying, Vanish::AfterApplying] {
        let shop = TestShop::demo();
        let dir = shop.store_dir();
        let credit = [
            "user", "credit", "--user", "1001", "--amount", "5", "--reason", "promo",
        ];
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let run = runtime.block_on(async {
            let store = Arc::new(JsonStore::open(&dir).unwrap());
            let socket = dir.join("shopbot.sock");
            let holder = tokio::spawn({
                let store = Arc::clone(&store);
                async move { holder_that_vanishes(store, &socket, vanish).await }
            });
            let command = shop.command(&credit);
            let run = tokio::task::spawn_blocking(move || command_output(command))
                .await
                .unwrap();
            holder.await.unwrap();
            store.close().await.unwrap();
            run
        });
        drop(runtime);
        run.code(6);
        assert!(
            run.stderr
                .contains("error: the running shop went away after `post_ledger_entry`"),
            "{run:#?}"
        );
        assert!(run.stderr.contains("outcome is unknown"), "{run:#?}");
        let key = run
            .stderr
            .split("--request-key ")
            .nth(1)
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .trim()
            .to_owned();
        let mut again = vec!["--request-key", key.as_str()];
        again.extend_from_slice(&credit);
        shop.run(&again).ok();
        shop.run(&again).ok();
        let shown = shop.json(&["user", "show", "--user", "1001"]).to_string();
        assert!(shown.contains("105.00"), "credited once: {shown}");
    }
}

fn command_output(mut command: std::process::Command) -> Run {
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

#[test]
fn a_command_waits_for_a_shop_that_is_still_starting_and_then_works_through_it() {
    use std::io::BufRead;
    let shop = TestShop::demo();
    let dir = shop.store_dir();
    let direct = shop.run(&["product", "list"]);
    direct.ok();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // The store is locked (as while a shop replays its journal) and nobody listens yet.
    let store = Arc::new(JsonStore::open(&dir).unwrap());
    let mut command = shop.command(&["product", "list"]);
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    stderr.read_line(&mut said).unwrap();
    assert!(said.contains("still starting"), "{said}");
    // Once the shop listens, the waiting command goes through it.
    let holder = runtime
        .block_on(async { shopbot_cli::live::Holder::start(&dir, Arc::clone(&store)) })
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), direct.stdout);
    runtime.block_on(async {
        holder.stop().await;
        store.close().await.unwrap();
    });
}

#[test]
fn another_user_gets_a_permission_error_at_once() {
    // Only root can run a command as another user; CI runs as root.
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let shop = TestShop::demo();
    let serving = Serving::start(serve(&shop, "info"));
    // The other user can reach the test's directory and run the binary (copied there), but
    // the store stays as shopbot made it: owner-only.
    let dir = shop.path("");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary = shop.path("shopbot");
    std::fs::copy(env!("CARGO_BIN_EXE_shopbot"), &binary).unwrap();
    for args in [
        vec!["product", "list"],
        vec![
            "user", "credit", "--user", "1001", "--amount", "1", "--reason", "x",
        ],
    ] {
        let output = std::process::Command::new(&binary)
            .uid(65534)
            .gid(65534)
            .current_dir(&dir)
            .arg("--store")
            .arg(shop.store_url())
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(
            stderr.contains("Permission denied")
                && stderr.contains("run shopbot as the user that owns the store")
                && stderr.matches("os error 13").count() == 1,
            "{args:?}: {stderr}"
        );
    }
    serving.stop("-TERM").ok();
    // Nothing was credited.
    let user = shop.json(&["user", "show", "--user", "1001"]);
    assert_eq!(user["balance"]["minor"], 10_000, "{user}");
}
