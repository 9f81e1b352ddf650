//! Live administration: with `shopbot serve` holding a JSON store, every other command works
//! through the shop's socket and prints what it prints on a direct open; the socket is
//! owner-only and survives bad input; a change whose answer never came exits 6, and
//! repeating it with its `--request-key` applies it once.
//!
//! The tests synchronise on the processes themselves (serve's start line, a command's exit,
//! a connection accepted by a test's own holder), never on sleeps.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;

use shopbot_cli::live::calls::Call;
use shopbot_cli::live::protocol::{
    ClientMessage, Frame, Operation, PROTOCOL_VERSION, ServerMessage, decode, read_frame,
    write_message,
};
use shopbot_cli::live::wire_error::WireError;
use shopbot_core::ports::{Clock, Storage, SystemClock};
use shopbot_core::services::PayWith;
use shopbot_storage_json::{JsonStore, RequestKey};

use crate::helpers::{Run, TestShop, available};
use crate::serve::{Serving, serve};

/// A shop seeded by `demo` with one paid order (id returned) from customer 1001.
fn shop_with_an_order() -> (TestShop, i64) {
    let shop = TestShop::demo();
    let order = shop.buy(1001, 2, 1, PayWith::Wallet);
    (shop, order)
}

/// Output with what differs between two shops made a moment apart left out: times
/// (`2026-12-08 01:11:49Z`, `2026-12-08T01:11:49Z`) and the store's directory.
fn comparable(run: &Run, shop: &TestShop) -> (i32, String) {
    let text = run
        .stdout
        .replace(&shop.store_dir().display().to_string(), "STORE");
    let mut masked = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if is_time_at(&chars[i..]) {
            masked.push_str("<time>");
            i += 19;
        } else {
            masked.push(chars[i]);
            i += 1;
        }
    }
    (run.code, masked)
}

/// `dddd-dd-dd?dd:dd:dd`
fn is_time_at(chars: &[char]) -> bool {
    const SHAPE: &str = "dddd-dd-dd?dd:dd:dd";
    chars.len() >= SHAPE.len()
        && SHAPE.chars().zip(chars).all(|(shape, c)| match shape {
            'd' => c.is_ascii_digit(),
            '?' => *c == ' ' || *c == 'T',
            literal => literal == *c,
        })
}

#[test]
fn admin_commands_through_a_running_shop_print_what_a_direct_open_prints() {
    let (direct, direct_order) = shop_with_an_order();
    let (live, live_order) = shop_with_an_order();
    assert_eq!(direct_order, live_order);
    let keys = live.file("keys.txt", b"NEW-1\nNEW-2\nNEW-3\n");
    direct.file("keys.txt", b"NEW-1\nNEW-2\nNEW-3\n");
    let direct_keys = direct.path("keys.txt").display().to_string();
    let order = live_order.to_string();
    let serving = Serving::start(serve(&live, "info"));

    let commands: Vec<Vec<&str>> = vec![
        vec!["stock", "add", "--product", "1", "--file", "KEYS"],
        vec!["product", "edit", "1", "--price", "21.50"],
        vec![
            "user",
            "credit",
            "--user",
            "1001",
            "--amount",
            "5",
            "--reason",
            "promo",
            "--idempotency-key",
            "promo-1",
        ],
        vec!["order", "refund", &order],
        vec![
            "invoice",
            "create",
            "--user",
            "1001",
            "--line",
            "Setup:1:10.00",
        ],
        vec!["job", "run", "expire-invoices"],
        vec!["store", "check"],
        vec!["export", "orders"],
        vec!["--json", "user", "list"],
        vec!["product", "edit", "99", "--price", "1"],
        vec![
            "user", "credit", "--user", "1001", "--amount", "-1000", "--reason", "x",
        ],
    ];
    for command in commands {
        let args = |keys: &str| -> Vec<String> {
            command
                .iter()
                .map(|a| {
                    if *a == "KEYS" {
                        keys.to_owned()
                    } else {
                        (*a).to_owned()
                    }
                })
                .collect()
        };
        let direct_args = args(&direct_keys);
        let live_args = args(&keys);
        let direct_run = direct.run(&direct_args.iter().map(String::as_str).collect::<Vec<_>>());
        let live_run = live.run(&live_args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            comparable(&live_run, &live),
            comparable(&direct_run, &direct),
            "{command:?}: through the shop {live_run:#?}, direct {direct_run:#?}"
        );
        let strip =
            |s: &str, shop: &TestShop| s.replace(&shop.store_dir().display().to_string(), "STORE");
        assert_eq!(
            strip(&live_run.stderr, &live),
            strip(&direct_run.stderr, &direct),
            "{command:?}"
        );
    }
    // The new keys are in the running shop's stock at once.
    assert_eq!(available(&live, 1), 3 + 3);
    serving.stop("-TERM").ok();
    // Everything done through the shop is in the store, audit log included.
    assert_eq!(available(&live, 1), available(&direct, 1));
}

#[test]
fn a_backup_through_a_running_shop_is_a_store_that_passes_its_check() {
    let shop = TestShop::demo();
    let serving = Serving::start(serve(&shop, "info"));
    let copy = shop.path("copy");
    shop.run(&["backup", "--out", copy.to_str().unwrap()]).ok();
    let url = format!("json:{}", copy.display());
    shop.run_on(&url, &["store", "check"]).ok();
    // The copy holds what the shop holds.
    let products = shop.json(&["product", "list"]);
    assert_eq!(
        shop.run_on(&url, &["--json", "product", "list"]).json(),
        products
    );
    let migrated = format!("json:{}", shop.path("migrated").display());
    shop.run(&["migrate", "--to", &migrated]).ok();
    shop.run_on(&migrated, &["store", "check"]).ok();
    serving.stop("-TERM").ok();
    // The copy is owner-only, as the store's own copies are.
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
}

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

#[test]
fn a_holder_killed_mid_command_leaves_every_acknowledged_change_and_a_repeat_applies_once() {
    let shop = TestShop::demo();
    let before = available(&shop, 1);
    let lines: String = (0..20_000).map(|i| format!("BULK-{i:06}\n")).collect();
    let keys = shop.file("bulk.txt", lines.as_bytes());
    let serving = Serving::start(serve(&shop, "info"));
    // Acknowledged before the kill: must survive it.
    shop.run(&[
        "user", "credit", "--user", "1001", "--amount", "7", "--reason", "before",
    ])
    .ok();
    let mut import = shop.command(&[
        "--request-key",
        "bulk-1",
        "stock",
        "add",
        "--product",
        "1",
        "--file",
        &keys,
    ]);
    import
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let import = import.spawn().unwrap();
    serving.kill_hard();
    let output = import.wait_with_output().unwrap();
    let code = output.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Whichever moment the kill hit: done (0), done directly after the holder was gone (0),
    // or in doubt (6, saying how to repeat it).
    assert!(code == 0 || code == 6, "exit {code}: {stderr}");
    if code == 6 {
        assert!(
            stderr.contains("outcome is unknown") && stderr.contains("--request-key bulk-1"),
            "{stderr}"
        );
    }
    // The store reopens with every acknowledged change.
    shop.run(&["store", "check"]).ok();
    let credited = shop.json(&["user", "show", "--user", "1001"]);
    assert!(credited.to_string().contains("107.00"), "{credited}");
    // The repeat applies the import once, whatever happened to the first try.
    shop.run(&[
        "--request-key",
        "bulk-1",
        "stock",
        "add",
        "--product",
        "1",
        "--file",
        &keys,
    ])
    .ok();
    shop.run(&[
        "--request-key",
        "bulk-1",
        "stock",
        "add",
        "--product",
        "1",
        "--file",
        &keys,
    ])
    .ok();
    assert_eq!(available(&shop, 1), before + 20_000);
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
fn a_second_shop_on_a_held_store_is_refused_and_the_first_keeps_serving() {
    let shop = TestShop::demo();
    let serving = Serving::start(serve(&shop, "info"));
    shop.run(&["serve"]).fails(5, "in use by a running shop");
    shop.run(&["product", "list"]).ok();
    serving.stop("-TERM").ok();
}

#[test]
fn while_a_terminal_chat_holds_the_store_admin_commands_work_through_it() {
    use std::io::BufRead;
    let shop = TestShop::demo();
    let mut chat = shop.command(&["--log-level", "info", "chat", "--user", "1001"]);
    chat.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut chat = chat.spawn().unwrap();
    let mut stderr = std::io::BufReader::new(chat.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("the shop socket is listening") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "chat ended early");
    }
    // The chat waits for its customer's next line; the admin works meanwhile.
    let keys = shop.file("keys.txt", b"CHAT-1\nCHAT-2\n");
    shop.run(&["stock", "add", "--product", "1", "--file", &keys])
        .ok();
    assert_eq!(available(&shop, 1), 3 + 2);
    // The customer leaves; the chat ends cleanly and takes its socket with it.
    drop(chat.stdin.take());
    let output = chat.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(!shop.store_dir().join("shopbot.sock").exists());
}

#[test]
fn customers_buy_concurrently_through_a_running_shop_while_admin_commands_run() {
    let shop = TestShop::demo();
    let serving = Serving::start(serve(&shop, "info"));
    let customers: Vec<i64> = (2001..=2006).collect();
    let restock: String = (0..20).map(|i| format!("RESTOCK-{i}\n")).collect();
    let restock = shop.file("restock.txt", restock.as_bytes());
    shop.run(&["stock", "add", "--product", "2", "--file", &restock])
        .ok();
    for customer in &customers {
        let id = customer.to_string();
        shop.run_with_input(&["chat", "--user", &id], b"").ok();
        shop.run(&[
            "user", "credit", "--user", &id, "--amount", "20", "--reason", "launch",
        ])
        .ok();
    }
    let more = shop.file("more.txt", b"MORE-1\nMORE-2\nMORE-3\n");
    let shop = Arc::new(shop);

    // Menu → Catalog → Games → Pixel Racers → Buy now → Confirm, from every customer at once,
    // while the admin changes stock, prices, wallets and invoices and exports.
    let buyers: Vec<_> = customers
        .iter()
        .map(|customer| {
            let shop = Arc::clone(&shop);
            let id = customer.to_string();
            std::thread::spawn(move || {
                shop.run_with_input(&["chat", "--user", &id], b"1\n1\n2\n1\n1\n")
            })
        })
        .collect();
    let admin = {
        let shop = Arc::clone(&shop);
        std::thread::spawn(move || {
            vec![
                shop.run(&["stock", "add", "--product", "2", "--file", &more]),
                shop.run(&["product", "edit", "1", "--price", "21.50"]),
                shop.run(&[
                    "user", "credit", "--user", "1001", "--amount", "5", "--reason", "x",
                ]),
                shop.run(&[
                    "invoice",
                    "create",
                    "--user",
                    "1001",
                    "--line",
                    "Setup:1:10.00",
                ]),
                shop.run(&["export", "orders"]),
                shop.run(&["store", "check"]),
            ]
        })
    };
    for buyer in buyers {
        let run = buyer.join().unwrap();
        run.ok();
        assert!(run.stdout.contains("» Paid. Thank you!"), "{run:#?}");
    }
    for run in admin.join().unwrap() {
        run.ok();
    }
    let counts = shop.json(&["stock", "count", "--product", "2"]);
    assert_eq!(counts["sold"], customers.len());
    assert_eq!(counts["available"], 3 + 20 + 3 - customers.len() as u64);
    serving.stop("-TERM").ok();
    shop.run(&["store", "check"]).ok();
}

#[test]
fn an_import_larger_than_a_frame_is_streamed_to_the_running_shop() {
    let shop = TestShop::demo();
    // 100,000 keys of 48 characters: over 4 MiB, more than one frame holds.
    let lines: String = (0..100_000)
        .map(|i| format!("{:0>48}\n", format!("LARGE-{i}")))
        .collect();
    assert!(lines.len() > 4 * 1024 * 1024);
    let keys = shop.file("large.txt", lines.as_bytes());
    let serving = Serving::start(serve(&shop, "info"));
    let run = shop.run(&["stock", "add", "--product", "1", "--file", &keys]);
    run.ok();
    assert!(
        run.stdout.starts_with("Imported 100000 unit(s)"),
        "{run:#?}"
    );
    assert_eq!(available(&shop, 1), 3 + 100_000);
    shop.run(&["store", "check"]).ok();
    serving.stop("-TERM").ok();
}
