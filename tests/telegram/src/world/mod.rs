//! Everything the fake server knows: chats and their messages, the update queue, button
//! presses and their answers, uploaded files, the call log and broken rules; what people do is
//! injected here, and the Bot API methods themselves live in [`methods`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::body::Params;
use crate::html;

mod methods;
use crate::views::{Call, ChatMessage, InlineButton, Press, Rule, Violation};

/// Telegram's limits.
const MAX_TEXT: usize = 4096;
const MAX_CAPTION: usize = 1024;
const MAX_CALLBACK_DATA: usize = 64;
const MAX_ANSWER: usize = 200;

/// The methods the server knows, in the Bot API's spelling.
pub(crate) const METHODS: &[&str] = &[
    "getMe",
    "getWebhookInfo",
    "deleteWebhook",
    "getUpdates",
    "sendMessage",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "sendPhoto",
    "sendDocument",
    "getFile",
    "deleteMessage",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "sendChatAction",
    "close",
    "logOut",
];

/// An error as Telegram answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) code: u16,
    pub(crate) description: String,
    pub(crate) retry_after: Option<u32>,
}

impl ApiError {
    pub(crate) fn bad_request(description: impl Into<String>) -> ApiError {
        ApiError {
            code: 400,
            description: format!("Bad Request: {}", description.into()),
            retry_after: None,
        }
    }

    pub(crate) fn not_found() -> ApiError {
        ApiError {
            code: 404,
            description: "Not Found".into(),
            retry_after: None,
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut body =
            json!({ "ok": false, "error_code": self.code, "description": self.description });
        if let Some(seconds) = self.retry_after {
            put(&mut body, "parameters", json!({ "retry_after": seconds }));
        }
        body
    }
}

#[derive(Debug, Clone)]
struct QueuedUpdate {
    id: i64,
    kind: &'static str,
    json: Value,
}

#[derive(Debug, Clone, Default)]
struct StoredMessage {
    id: i64,
    from: i64,
    date: i64,
    /// Text or caption as sent.
    markup: String,
    /// Text or caption as shown.
    visible: String,
    is_caption: bool,
    reply_markup: Option<Value>,
    document: Option<Value>,
    photo: Option<Value>,
    deleted: bool,
    edits: u32,
}

#[derive(Debug, Default)]
struct ChatState {
    next_message_id: i64,
    messages: BTreeMap<i64, StoredMessage>,
}

#[derive(Debug)]
struct Fault {
    remaining: u32,
    retry_after: u32,
}

#[derive(Debug, Clone)]
struct StoredFile {
    path: String,
    bytes: Vec<u8>,
}

/// The fake server's state.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) bot_id: i64,
    started: Instant,
    next_update_id: i64,
    queue: VecDeque<QueuedUpdate>,
    redelivered: Vec<QueuedUpdate>,
    every_update: HashMap<i64, QueuedUpdate>,
    allowed_updates: Option<Vec<String>>,
    confirmed_below: i64,
    names: HashMap<i64, String>,
    chats: HashMap<i64, ChatState>,
    presses: Vec<Press>,
    files: HashMap<String, StoredFile>,
    next_file: u64,
    pub(crate) calls: Vec<Call>,
    pub(crate) violations: Vec<Violation>,
    faults: HashMap<String, Fault>,
    activity: HashMap<i64, u64>,
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// The Bot API spelling of `method`, whatever its case; `None` for an unknown method.
pub(crate) fn canonical(method: &str) -> Option<&'static str> {
    METHODS
        .iter()
        .copied()
        .find(|known| known.eq_ignore_ascii_case(method))
}

impl World {
    pub(crate) fn new(bot_id: i64) -> World {
        World {
            bot_id,
            started: Instant::now(),
            next_update_id: 1,
            queue: VecDeque::new(),
            redelivered: Vec::new(),
            every_update: HashMap::new(),
            allowed_updates: None,
            confirmed_below: 0,
            names: HashMap::new(),
            chats: HashMap::new(),
            presses: Vec::new(),
            files: HashMap::new(),
            next_file: 1,
            calls: Vec::new(),
            violations: Vec::new(),
            faults: HashMap::new(),
            activity: HashMap::new(),
        }
    }

    // ----- the person's side -----

    pub(crate) fn set_name(&mut self, user: i64, name: &str) {
        self.names.insert(user, name.to_owned());
    }

    fn name(&self, user: i64) -> String {
        self.names
            .get(&user)
            .cloned()
            .unwrap_or_else(|| format!("User {user}"))
    }

    fn user_json(&self, user: i64) -> Value {
        if user == self.bot_id {
            return json!({ "id": self.bot_id, "is_bot": true, "first_name": "Shop", "username": "shopbot_test_bot" });
        }
        json!({ "id": user, "is_bot": false, "first_name": self.name(user), "language_code": "en" })
    }

    fn chat_json(&self, chat: i64) -> Value {
        json!({ "id": chat, "type": "private", "first_name": self.name(chat) })
    }

    fn message_json(&self, chat: i64, message: &StoredMessage) -> Value {
        let mut json = json!({
            "message_id": message.id,
            "from": self.user_json(message.from),
            "chat": self.chat_json(chat),
            "date": message.date,
        });
        let field = if message.is_caption {
            "caption"
        } else {
            "text"
        };
        if !message.visible.is_empty() || !message.is_caption {
            put(&mut json, field, Value::String(message.visible.clone()));
        }
        if message.from != self.bot_id && message.visible.starts_with('/') && !message.is_caption {
            let length = message
                .visible
                .split_whitespace()
                .next()
                .map(html::utf16_len)
                .unwrap_or_default();
            put(
                &mut json,
                "entities",
                json!([{ "type": "bot_command", "offset": 0, "length": length }]),
            );
        }
        if let Some(markup) = &message.reply_markup {
            put(&mut json, "reply_markup", markup.clone());
        }
        if let Some(document) = &message.document {
            put(&mut json, "document", document.clone());
        }
        if let Some(photo) = &message.photo {
            put(&mut json, "photo", photo.clone());
        }
        if message.edits > 0 {
            put(&mut json, "edit_date", json!(now_unix()));
        }
        json
    }

    fn add_message(&mut self, chat: i64, mut message: StoredMessage) -> (i64, Value) {
        let state = self.chats.entry(chat).or_default();
        state.next_message_id += 1;
        message.id = state.next_message_id;
        message.date = now_unix();
        state.messages.insert(message.id, message.clone());
        (message.id, self.message_json(chat, &message))
    }

    fn queue_update(&mut self, kind: &'static str, payload: Value) -> i64 {
        let id = self.next_update_id;
        self.next_update_id += 1;
        let update = QueuedUpdate {
            id,
            kind,
            json: json!({ "update_id": id, kind: payload }),
        };
        self.every_update.insert(id, update.clone());
        self.queue.push_back(update);
        id
    }

    /// A person writes `text`; returns (update id, message id).
    pub(crate) fn send_text(&mut self, user: i64, text: &str) -> (i64, i64) {
        let message = StoredMessage {
            from: user,
            markup: text.to_owned(),
            visible: text.to_owned(),
            ..StoredMessage::default()
        };
        let (message_id, json) = self.add_message(user, message);
        (self.queue_update("message", json), message_id)
    }

    /// A person sends a file; returns (update id, message id).
    pub(crate) fn send_document(&mut self, user: i64, file_name: &str, bytes: &[u8]) -> (i64, i64) {
        let document = self.store_file(file_name, bytes, "text/plain");
        let message = StoredMessage {
            from: user,
            is_caption: true,
            document: Some(document),
            ..StoredMessage::default()
        };
        let (message_id, json) = self.add_message(user, message);
        (self.queue_update("message", json), message_id)
    }

    fn store_file(&mut self, file_name: &str, bytes: &[u8], mime: &str) -> Value {
        let n = self.next_file;
        self.next_file += 1;
        let file_id = format!("FILE{n:06}");
        let path = format!("documents/file_{n}.{}", extension(file_name));
        self.files.insert(
            file_id.clone(),
            StoredFile {
                path,
                bytes: bytes.to_vec(),
            },
        );
        json!({
            "file_id": file_id,
            "file_unique_id": format!("U{n:06}"),
            "file_name": file_name,
            "mime_type": mime,
            "file_size": bytes.len(),
        })
    }

    /// A person presses a button with `data` under message `message_id`.
    pub(crate) fn press(&mut self, user: i64, message_id: i64, data: &str) -> Press {
        let message = self
            .chats
            .get(&user)
            .and_then(|c| c.messages.get(&message_id))
            .filter(|m| !m.deleted)
            .map(|m| self.message_json(user, m))
            // An inaccessible message, as Telegram sends for old or deleted ones.
            .unwrap_or_else(
                || json!({ "chat": self.chat_json(user), "message_id": message_id, "date": 0 }),
            );
        let query_id = format!("{user}-{}", self.presses.len() + 1);
        let payload = json!({
            "id": query_id,
            "from": self.user_json(user),
            "message": message,
            "chat_instance": format!("instance-{user}"),
            "data": data,
        });
        let update_id = self.queue_update("callback_query", payload);
        let press = Press {
            query_id,
            update_id,
            user,
            message_id,
            data: data.to_owned(),
            answers: Vec::new(),
        };
        self.presses.push(press.clone());
        press
    }

    /// Delivers update `id` once more, whatever offset the bot confirmed.
    pub(crate) fn redeliver(&mut self, id: i64) -> bool {
        match self.every_update.get(&id) {
            Some(update) => {
                self.redelivered.push(update.clone());
                true
            }
            None => false,
        }
    }

    pub(crate) fn fail_next(&mut self, method: &str, times: u32, retry_after: u32) {
        let method = canonical(method).unwrap_or(method).to_owned();
        self.faults.insert(
            method,
            Fault {
                remaining: times,
                retry_after,
            },
        );
    }

    /// An injected fault for this call of `method`, if one is due.
    pub(crate) fn take_fault(&mut self, method: &str) -> Option<ApiError> {
        let fault = self.faults.get_mut(method).filter(|f| f.remaining > 0)?;
        fault.remaining -= 1;
        Some(ApiError {
            code: 429,
            description: format!("Too Many Requests: retry after {}", fault.retry_after),
            retry_after: Some(fault.retry_after),
        })
    }

    // ----- views -----

    pub(crate) fn messages(&self, chat: i64) -> Vec<ChatMessage> {
        let Some(state) = self.chats.get(&chat) else {
            return Vec::new();
        };
        state
            .messages
            .values()
            .filter(|m| !m.deleted)
            .map(|m| ChatMessage {
                id: m.id,
                from_bot: m.from == self.bot_id,
                markup: m.markup.clone(),
                text: m.visible.clone(),
                buttons: buttons(m.reply_markup.as_ref()),
                document: m
                    .document
                    .as_ref()
                    .and_then(|d| d.get("file_name"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                photo: m.photo.is_some(),
                edits: m.edits,
            })
            .collect()
    }

    pub(crate) fn presses(&self) -> &[Press] {
        &self.presses
    }

    pub(crate) fn activity(&self, chat: i64) -> u64 {
        self.activity.get(&chat).copied().unwrap_or_default()
    }

    pub(crate) fn pending_updates(&self) -> usize {
        self.queue.len() + self.redelivered.len()
    }

    pub(crate) fn confirmed_below(&self) -> i64 {
        self.confirmed_below
    }

    pub(crate) fn download(&self, path: &str) -> Option<Vec<u8>> {
        self.files
            .values()
            .find(|f| f.path == path)
            .map(|f| f.bytes.clone())
    }

    // ----- the bot's side -----

    pub(crate) fn record(&mut self, method: &str, params: &Params, error: Option<String>) {
        let call = Call {
            seq: self.calls.len(),
            method: method.to_owned(),
            params: params.to_json(),
            error,
            at: self.started.elapsed(),
        };
        if let Some(chat) = call.chat_id()
            && method != "getUpdates"
        {
            *self.activity.entry(chat).or_default() += 1;
        }
        self.calls.push(call);
    }

    fn violate(&mut self, rule: Rule, method: &str, detail: impl Into<String>) {
        self.violations.push(Violation {
            rule,
            method: method.to_owned(),
            detail: detail.into(),
        });
    }

    /// Updates for a `getUpdates` call, confirming those below `offset`. Empty when there are
    /// none yet (the caller waits and asks again).
    pub(crate) fn take_updates(&mut self, params: &Params) -> Vec<Value> {
        if let Some(offset) = params.int("offset").filter(|o| *o > 0) {
            self.queue.retain(|u| u.id >= offset);
            self.confirmed_below = self.confirmed_below.max(offset);
        }
        if let Some(Value::Array(kinds)) = params.json("allowed_updates") {
            let kinds: Vec<String> = kinds
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            // An empty list means "as before"; Telegram remembers the last one given.
            if !kinds.is_empty() {
                self.allowed_updates = Some(kinds);
            }
        }
        if let Some(allowed) = &self.allowed_updates {
            self.queue.retain(|u| allowed.iter().any(|k| k == u.kind));
        }
        let limit = params
            .int("limit")
            .filter(|l| (1..=100).contains(l))
            .map_or(100, |l| usize::try_from(l).unwrap_or(100));
        let mut out: Vec<Value> = self.redelivered.drain(..).map(|u| u.json).collect();
        out.extend(self.queue.iter().take(limit).map(|u| u.json.clone()));
        out
    }

    /// How long a `getUpdates` call may wait, as asked (in seconds), capped so the server
    /// always answers well within a client's timeout.
    pub(crate) fn poll_wait(params: &Params) -> Duration {
        let asked = params.int("timeout").unwrap_or_default().clamp(0, 60);
        Duration::from_secs(u64::try_from(asked).unwrap_or_default()).min(Duration::from_secs(2))
    }
}

fn extension(file_name: &str) -> &str {
    file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| {
            !ext.is_empty() && ext.len() <= 8 && ext.bytes().all(|b| b.is_ascii_alphanumeric())
        })
        .unwrap_or("bin")
}

fn buttons(markup: Option<&Value>) -> Vec<Vec<InlineButton>> {
    markup
        .and_then(|m| m.get("inline_keyboard"))
        .and_then(Value::as_array)
        .map(|rows| {
            rows.iter()
                .filter_map(Value::as_array)
                .map(|row| {
                    row.iter()
                        .map(|b| InlineButton {
                            label: b
                                .get("text")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned(),
                            data: b
                                .get("callback_data")
                                .and_then(Value::as_str)
                                .map(str::to_owned),
                        })
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Sets `key` of a JSON object (a no-op on anything else).
fn put(object: &mut Value, key: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
}
