//! The fake server's own behaviour, over real HTTP with a minimal client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{FakeBotApi, Rule, TOKEN};

/// One request on a fresh connection: the status and the body.
async fn request(api: &FakeBotApi, path: &str, content_type: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let addr = api.api_url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, response[split + 4..].to_vec())
}

async fn call(api: &FakeBotApi, method: &str, params: Value) -> (u16, Value) {
    let path = format!("/bot{TOKEN}/{method}");
    let (status, body) = request(
        api,
        &path,
        "application/json",
        params.to_string().as_bytes(),
    )
    .await;
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn get_me_answers_whatever_the_method_case_and_unknown_methods_get_404() {
    let api = FakeBotApi::start().await;
    let (status, me) = call(&api, "GetMe", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(me["result"]["username"], "shopbot_test_bot");
    assert_eq!(me["result"]["has_main_web_app"], false);
    let (status, unknown) = call(&api, "sendDice", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(unknown["ok"], false);
    assert_eq!(unknown["error_code"], 404);
    let (status, _) = request(&api, "/botWRONG/getMe", "application/json", b"{}").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn updates_are_delivered_until_confirmed_by_a_higher_offset() {
    let api = FakeBotApi::start().await;
    let sent = api.send_text(1001, "/start");
    let (_, first) = call(&api, "getUpdates", json!({ "timeout": 1 })).await;
    let updates = first["result"].as_array().unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["update_id"], sent.update_id);
    assert_eq!(updates[0]["message"]["text"], "/start");
    assert_eq!(updates[0]["message"]["entities"][0]["type"], "bot_command");
    // Not confirmed yet: the same update again.
    let (_, again) = call(&api, "getUpdates", json!({ "offset": sent.update_id })).await;
    assert_eq!(again["result"].as_array().unwrap().len(), 1);
    // Confirmed: nothing left; the poll waits its timeout and answers empty.
    let (_, after) = call(
        &api,
        "getUpdates",
        json!({ "offset": sent.update_id + 1, "timeout": 0 }),
    )
    .await;
    assert_eq!(after["result"], json!([]));
    assert_eq!(api.pending_updates(), 0);
    // A redelivery comes whatever the offset.
    api.redeliver(sent.update_id);
    let (_, redelivered) = call(&api, "getUpdates", json!({ "offset": sent.update_id + 1 })).await;
    assert_eq!(redelivered["result"][0]["update_id"], sent.update_id);
}

#[tokio::test]
async fn a_long_poll_wakes_up_when_an_update_arrives() {
    let api = std::sync::Arc::new(FakeBotApi::start().await);
    let poller = {
        let api = api.clone();
        tokio::spawn(async move { call(&api, "getUpdates", json!({ "timeout": 30 })).await })
    };
    api.wait_for("the poll to start", |_| Some(())).await;
    api.send_text(7, "hello");
    let (_, polled) = poller.await.unwrap();
    assert_eq!(polled["result"][0]["message"]["text"], "hello");
}

#[tokio::test]
async fn messages_are_sent_edited_and_pressed_and_each_press_answered_once() {
    let api = FakeBotApi::start().await;
    api.send_text(5, "/start");
    let markup = json!({ "inline_keyboard": [[{ "text": "Cart", "callback_data": "k" }]] });
    let (status, sent) = call(&api, "sendMessage", json!({ "chat_id": 5, "text": "<b>Menu</b>", "parse_mode": "HTML", "reply_markup": markup })).await;
    assert_eq!(status, 200, "{sent}");
    let id = sent["result"]["message_id"].as_i64().unwrap();
    assert_eq!(sent["result"]["text"], "Menu");
    assert_eq!(api.last_bot_message(5).unwrap().data_of("Cart"), Some("k"));

    let same = json!({ "chat_id": 5, "message_id": id, "text": "<b>Menu</b>", "parse_mode": "HTML", "reply_markup": markup });
    let (status, not_modified) = call(&api, "editMessageText", same).await;
    assert_eq!(status, 400);
    assert!(
        not_modified["description"]
            .as_str()
            .unwrap()
            .starts_with("Bad Request: message is not modified")
    );

    let press = api.press(5, id, "k");
    let (status, _) = call(
        &api,
        "answerCallbackQuery",
        json!({ "callback_query_id": press.query_id, "text": "ok" }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &api,
        "answerCallbackQuery",
        json!({ "callback_query_id": press.query_id }),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = call(
        &api,
        "answerCallbackQuery",
        json!({ "callback_query_id": "nope" }),
    )
    .await;
    assert_eq!(status, 400);
    let rules: Vec<Rule> = api.violations().iter().map(|v| v.rule).collect();
    assert_eq!(
        rules,
        vec![Rule::CallbackAnsweredTwice, Rule::UnknownCallbackQuery]
    );
    assert_eq!(api.press_by_id(&press.query_id).unwrap().answers.len(), 2);
}

#[tokio::test]
async fn broken_rules_are_refused_and_recorded() {
    let api = FakeBotApi::start().await;
    api.send_text(5, "hi");
    let long_data = "x".repeat(65);
    let cases = [
        (
            json!({ "chat_id": 5, "text": "a".repeat(4097) }),
            Rule::TextTooLong,
        ),
        (
            json!({ "chat_id": 5, "text": "<b>x", "parse_mode": "HTML" }),
            Rule::InvalidHtml,
        ),
        (
            json!({ "chat_id": 5, "text": "<blink>x</blink>", "parse_mode": "HTML" }),
            Rule::InvalidHtml,
        ),
        (
            json!({ "chat_id": 5, "text": "x", "reply_markup": { "inline_keyboard": [[{ "text": "b", "callback_data": long_data }]] } }),
            Rule::CallbackDataTooLong,
        ),
    ];
    for (params, rule) in cases {
        let (status, body) = call(&api, "sendMessage", params).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(api.violations().last().unwrap().rule, rule);
    }
    // 4096 characters of text in more markup is fine: Telegram counts what shows.
    let fits = format!("<b>{}</b>&amp;", "a".repeat(4095));
    let (status, _) = call(
        &api,
        "sendMessage",
        json!({ "chat_id": 5, "text": fits, "parse_mode": "HTML" }),
    )
    .await;
    assert_eq!(status, 200);
    let caption = "c".repeat(1025);
    let (status, _) = call(
        &api,
        "sendPhoto",
        json!({ "chat_id": 5, "photo": "PHOTO", "caption": caption }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(api.violations().last().unwrap().rule, Rule::CaptionTooLong);
}

#[tokio::test]
async fn an_injected_flood_error_answers_429_with_retry_after_then_passes() {
    let api = FakeBotApi::start().await;
    api.send_text(5, "hi");
    api.fail_next("sendMessage", 1, 1);
    let (status, body) = call(&api, "SendMessage", json!({ "chat_id": 5, "text": "x" })).await;
    assert_eq!(status, 429);
    assert_eq!(body["parameters"]["retry_after"], 1);
    let (status, _) = call(&api, "sendMessage", json!({ "chat_id": 5, "text": "x" })).await;
    assert_eq!(status, 200);
    let errors: Vec<bool> = api
        .calls_of("sendMessage")
        .iter()
        .map(|c| c.error.is_some())
        .collect();
    assert_eq!(errors, vec![true, false]);
}

#[tokio::test]
async fn a_sent_document_can_be_fetched_and_downloaded_and_forms_are_read() {
    let api = FakeBotApi::start().await;
    api.send_document(9, "keys.txt", b"K-1\nK-2\n");
    let (_, updates) = call(&api, "getUpdates", json!({})).await;
    let file_id = updates["result"][0]["message"]["document"]["file_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/bot{TOKEN}/getFile");
    let form = format!("file_id={file_id}");
    let (status, file) = request(
        &api,
        &path,
        "application/x-www-form-urlencoded",
        form.as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let file: Value = serde_json::from_slice(&file).unwrap();
    let file_path = file["result"]["file_path"].as_str().unwrap();
    let (status, bytes) = request(&api, &format!("/file/bot{TOKEN}/{file_path}"), "", b"").await;
    assert_eq!(status, 200);
    assert_eq!(bytes, b"K-1\nK-2\n");
}
