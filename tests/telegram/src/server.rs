//! The HTTP side of the fake Bot API, and the handle tests hold: inject what people do, read
//! what the bot did, wait for it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::body::{self, Params};
use crate::views::{Call, ChatMessage, Press, Violation};
use crate::world::{ApiError, World, canonical};

/// How long a test waits for the bot by default: long enough that only a broken bot misses it.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The token the fake server accepts.
pub const TOKEN: &str = "4242:fake-token";

/// The bot's own user id.
pub const BOT_ID: i64 = 4242;

struct Shared {
    world: Mutex<World>,
    /// Bumped after every change, so waiters wake up and look again.
    changed: watch::Sender<u64>,
}

impl Shared {
    fn world(&self) -> MutexGuard<'_, World> {
        // A panicking test thread poisons nothing we cannot read on.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn changed(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }
}

/// A fake Telegram Bot API on `127.0.0.1`, with a test API on the side. Dropping it stops the
/// server.
pub struct FakeBotApi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl Drop for FakeBotApi {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// What a person's message became: its update and its id in the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// The update that carries it.
    pub update_id: i64,
    /// The message's id in the chat.
    pub message_id: i64,
}

impl FakeBotApi {
    /// Starts a server on a free loopback port.
    pub async fn start() -> FakeBotApi {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("cannot bind the fake Bot API: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no local address: {e}"));
        let shared = Arc::new(Shared {
            world: Mutex::new(World::new(BOT_ID)),
            changed: watch::channel(0).0,
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        FakeBotApi {
            shared,
            addr,
            accept,
        }
    }

    /// The base URL to give the bot instead of `https://api.telegram.org`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The token to give the bot.
    pub fn token(&self) -> &'static str {
        TOKEN
    }

    fn change<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        let out = f(&mut self.shared.world());
        self.shared.changed();
        out
    }

    fn read<T>(&self, f: impl FnOnce(&World) -> T) -> T {
        f(&self.shared.world())
    }

    // ----- what people do -----

    /// Names `user` (their first name in updates; `User <id>` until named).
    pub fn set_name(&self, user: i64, name: &str) {
        self.change(|w| w.set_name(user, name));
    }

    /// `user` writes `text` in their private chat with the bot.
    pub fn send_text(&self, user: i64, text: &str) -> Sent {
        let (update_id, message_id) = self.change(|w| w.send_text(user, text));
        Sent {
            update_id,
            message_id,
        }
    }

    /// `user` presses the button with `data` under message `message_id`; returns the press,
    /// whose `query_id` the bot must answer.
    pub fn press(&self, user: i64, message_id: i64, data: &str) -> Press {
        self.change(|w| w.press(user, message_id, data))
    }

    /// `user` sends a file; the bot can fetch it with `getFile` and download it.
    pub fn send_document(&self, user: i64, file_name: &str, bytes: &[u8]) -> Sent {
        let (update_id, message_id) = self.change(|w| w.send_document(user, file_name, bytes));
        Sent {
            update_id,
            message_id,
        }
    }

    /// Delivers update `update_id` once more with the next `getUpdates`, whatever offset the
    /// bot confirmed (as after a crash). Panics for an update never sent.
    pub fn redeliver(&self, update_id: i64) {
        assert!(
            self.change(|w| w.redeliver(update_id)),
            "no update {update_id} to redeliver"
        );
    }

    /// Answers the next `times` calls of `method` with `429 Too Many Requests` and
    /// `retry_after` seconds.
    pub fn fail_next(&self, method: &str, times: u32, retry_after: u32) {
        self.change(|w| w.fail_next(method, times, retry_after));
    }

    // ----- what the bot did -----

    /// The messages in `chat` as they show now (edits applied, deleted ones gone), oldest first.
    pub fn messages(&self, chat: i64) -> Vec<ChatMessage> {
        self.read(|w| w.messages(chat))
    }

    /// The bot's latest message in `chat`.
    pub fn last_bot_message(&self, chat: i64) -> Option<ChatMessage> {
        self.messages(chat).into_iter().rev().find(|m| m.from_bot)
    }

    /// The bot's messages in `chat` sent after message `after`.
    pub fn bot_messages_after(&self, chat: i64, after: i64) -> Vec<ChatMessage> {
        self.messages(chat)
            .into_iter()
            .filter(|m| m.from_bot && m.id > after)
            .collect()
    }

    /// Every button press so far, with its answers.
    pub fn presses(&self) -> Vec<Press> {
        self.read(|w| w.presses().to_vec())
    }

    /// The press with callback query id `query_id`.
    pub fn press_by_id(&self, query_id: &str) -> Option<Press> {
        self.read(|w| w.presses().iter().find(|p| p.query_id == query_id).cloned())
    }

    /// Every call the bot made, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.read(|w| w.calls.clone())
    }

    /// The calls of `method` (Bot API spelling), in order.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.read(|w| {
            w.calls
                .iter()
                .filter(|c| c.method == method)
                .cloned()
                .collect()
        })
    }

    /// How many calls the bot made so far (the `seq` the next one gets).
    pub fn call_count(&self) -> usize {
        self.read(|w| w.calls.len())
    }

    /// Whether a call from `seq` on edited or deleted message `message_id` in `chat` (refused
    /// or not: an edit into the same content counts).
    pub fn touched_since(&self, seq: usize, chat: i64, message_id: i64) -> bool {
        self.read(|w| {
            w.calls.iter().skip(seq).any(|c| {
                c.chat_id() == Some(chat)
                    && c.message_id() == Some(message_id)
                    && (c.method.starts_with("editMessage") || c.method == "deleteMessage")
            })
        })
    }

    /// Every Telegram rule the bot broke.
    pub fn violations(&self) -> Vec<Violation> {
        self.read(|w| w.violations.clone())
    }

    /// How many calls addressed `chat` so far (sent, edited, deleted, refused or not).
    pub fn activity(&self, chat: i64) -> u64 {
        self.read(|w| w.activity(chat))
    }

    /// Updates not yet confirmed by the bot.
    pub fn pending_updates(&self) -> usize {
        self.read(World::pending_updates)
    }

    /// The highest offset the bot confirmed with (updates below it are done with).
    pub fn confirmed_below(&self) -> i64 {
        self.read(World::confirmed_below)
    }

    // ----- waiting -----

    /// Waits until `check` gives a value, looking again after every change, for at most
    /// [`DEADLINE`]; panics naming `what` (and the last calls) when it never does.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        mut check: impl FnMut(&FakeBotApi) -> Option<T>,
    ) -> T {
        let mut changes = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            changes.borrow_and_update();
            if let Some(value) = check(self) {
                return value;
            }
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                let calls = self.calls();
                let recent: Vec<String> = calls
                    .iter()
                    .rev()
                    .filter(|c| c.method != "getUpdates")
                    .take(10)
                    .map(|c| format!("{} {} -> {:?}", c.method, c.params, c.error))
                    .collect();
                panic!(
                    "timed out after {DEADLINE:?} waiting for {what}; last calls (newest first):\n{}\nviolations: {:?}",
                    recent.join("\n"),
                    self.violations()
                );
            }
        }
    }

    /// Waits until the press with `query_id` is answered; returns it.
    pub async fn wait_answered(&self, query_id: &str) -> Press {
        self.wait_for(&format!("an answer to callback query {query_id}"), |api| {
            api.press_by_id(query_id).filter(|p| !p.answers.is_empty())
        })
        .await
    }

    /// Waits until some call addresses `chat` after `activity` calls had; returns the count.
    pub async fn wait_activity(&self, chat: i64, activity: u64) -> u64 {
        self.wait_for(&format!("the bot to act in chat {chat}"), |api| {
            Some(api.activity(chat)).filter(|now| *now > activity)
        })
        .await
    }

    /// Waits until the bot confirmed every update so far (it fetched past them).
    pub async fn wait_all_confirmed(&self) {
        self.wait_for("every update to be confirmed", |api| {
            (api.pending_updates() == 0).then_some(())
        })
        .await;
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(serve(&shared, request).await) }
            });
            // A client that hangs up mid-request is not the server's problem.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(status: u16, body: Bytes, content_type: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    if let Ok(value) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

fn json_response(answer: Result<Value, ApiError>) -> Response<Full<Bytes>> {
    let (status, body) = match answer {
        Ok(result) => (200, json!({ "ok": true, "result": result })),
        Err(error) => (error.code, error.to_json()),
    };
    respond(status, Bytes::from(body.to_string()), "application/json")
}

async fn serve(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let content_type = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return json_response(Err(ApiError::bad_request("unreadable body"))),
    };
    let unauthorized = || {
        json_response(Err(ApiError {
            code: 401,
            description: "Unauthorized".into(),
            retry_after: None,
        }))
    };
    if let Some(rest) = path.strip_prefix("/file/") {
        let Some(file_path) = rest.strip_prefix(&format!("bot{TOKEN}/")) else {
            return unauthorized();
        };
        // Clients push the file path as one URL segment, so its slashes arrive encoded.
        let file_path = file_path.replace("%2F", "/").replace("%2f", "/");
        let file = shared.world().download(&file_path);
        return match file {
            Some(bytes) => respond(200, Bytes::from(bytes), "application/octet-stream"),
            None => json_response(Err(ApiError::not_found())),
        };
    }
    let Some((bot, method)) = path.trim_start_matches('/').split_once('/') else {
        return json_response(Err(ApiError::not_found()));
    };
    if bot != format!("bot{TOKEN}") {
        return unauthorized();
    }
    let params = match body::parse(&content_type, &query, &body) {
        Ok(params) => params,
        Err(error) => {
            return json_response(Err(ApiError {
                code: 400,
                description: error,
                retry_after: None,
            }));
        }
    };
    let Some(method) = canonical(method) else {
        let mut world = shared.world();
        world.record(method, &params, Some("Not Found".into()));
        drop(world);
        shared.changed();
        return json_response(Err(ApiError::not_found()));
    };
    let fault = shared.world().take_fault(method);
    if let Some(fault) = fault {
        shared
            .world()
            .record(method, &params, Some(fault.description.clone()));
        shared.changed();
        return json_response(Err(fault));
    }
    let answer = if method == "getUpdates" {
        get_updates(shared, &params).await
    } else {
        let mut world = shared.world();
        let answer = world.call(method, &params);
        world.record(
            method,
            &params,
            answer.as_ref().err().map(|e| e.description.clone()),
        );
        Ok(answer)
    };
    shared.changed();
    match answer {
        Ok(answer) => json_response(answer),
        Err(error) => json_response(Err(error)),
    }
}

/// A long poll: answers as soon as there are updates, or empty after the asked timeout.
async fn get_updates(
    shared: &Shared,
    params: &Params,
) -> Result<Result<Value, ApiError>, ApiError> {
    let deadline = tokio::time::Instant::now() + World::poll_wait(params);
    let mut changes = shared.changed.subscribe();
    loop {
        changes.borrow_and_update();
        let updates = shared.world().take_updates(params);
        if !updates.is_empty() || tokio::time::Instant::now() >= deadline {
            shared.world().record("getUpdates", params, None);
            return Ok(Ok(Value::Array(updates)));
        }
        // Timing out here just means "no updates": answer the empty list.
        let _ = tokio::time::timeout_at(deadline, changes.changed()).await;
    }
}
