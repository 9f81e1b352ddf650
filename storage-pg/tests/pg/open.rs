//! Opening a store: the URL must name its database, a connection that fails says why (refused,
//! timed out, authentication, a missing database with the `createdb` that makes it), and no
//! secret from the URL reaches an error or the log.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail by panicking.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;

use shopbot_storage_pg::testing::{TestDatabase, with_database};
use shopbot_storage_pg::{PgOptions, PgStore};

use crate::support::fake_server;

/// Why opening `url` failed, as the operator reads it (message and structure).
async fn refusal(url: &str, options: PgOptions) -> (String, String) {
    match PgStore::connect_with(url, options).await {
        Ok(_) => panic!("{url} opened"),
        Err(error) => (error.to_string(), format!("{error:?}")),
    }
}

fn quick() -> PgOptions {
    PgOptions {
        acquire_timeout: Duration::from_millis(300),
        ..PgOptions::default()
    }
}

#[tokio::test]
async fn a_url_that_names_no_database_is_refused_before_connecting() {
    // Nothing listens on this port: a refusal that mentions the database came before any
    // connecting.
    let port = fake_server::closed_port();
    for url in [
        format!("postgres://shop@127.0.0.1:{port}"),
        format!("postgres://shop@127.0.0.1:{port}/"),
        format!("postgresql://127.0.0.1:{port}/?sslmode=disable"),
        format!("postgres://127.0.0.1:{port}?dbname="),
    ] {
        let (message, _) = refusal(&url, quick()).await;
        assert!(message.contains("names no database"), "{url}: {message}");
        assert!(
            message.contains("postgres://USER@HOST/DATABASE") && message.contains("dbname="),
            "{url}: the message says how to write it: {message}"
        );
    }
}

#[tokio::test]
async fn a_database_named_by_the_dbname_parameter_is_named() {
    let port = fake_server::closed_port();
    let url = format!("postgres://shop@127.0.0.1:{port}?dbname=shop");
    let (message, _) = refusal(&url, quick()).await;
    assert!(!message.contains("names no database"), "{message}");
    assert!(message.contains("connection refused"), "{message}");
}

#[tokio::test]
async fn a_server_that_is_not_running_is_named_as_refusing_connections() {
    let port = fake_server::closed_port();
    let url = format!("postgres://shop@127.0.0.1:{port}/shop");
    let (message, _) = refusal(&url, quick()).await;
    assert!(message.contains("connection refused"), "{message}");
    assert!(
        message.contains(&format!("is the server running on 127.0.0.1:{port}")),
        "{message}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_naming_the_server() {
    let server = fake_server::silent();
    let url = format!("postgres://shop@127.0.0.1:{}/shop", server.port);
    let (message, _) = refusal(&url, quick()).await;
    assert!(message.contains("timed out"), "{message}");
    assert!(
        message.contains(&format!("127.0.0.1:{}", server.port)),
        "{message}"
    );
    assert!(!message.contains("pool"), "{message}");
}

#[tokio::test]
async fn a_wrong_password_is_reported_as_failed_authentication_with_advice() {
    let server =
        fake_server::refusing_logins("28P01", "password authentication failed for user \"shop\"");
    let url = format!("postgres://shop:wrong@127.0.0.1:{}/shop", server.port);
    let (message, _) = refusal(&url, quick()).await;
    assert!(
        message.contains("password authentication failed for user \"shop\""),
        "{message}"
    );
    assert!(
        message.contains("check the user name and password"),
        "{message}"
    );
    assert!(!message.contains("wrong"), "{message}");
}

#[tokio::test]
async fn a_client_the_server_does_not_admit_is_told_where_that_is_decided() {
    let server = fake_server::refusing_logins(
        "28000",
        "no pg_hba.conf entry for host \"127.0.0.1\", user \"shop\", database \"shop\"",
    );
    let url = format!("postgres://shop@127.0.0.1:{}/shop", server.port);
    let (message, _) = refusal(&url, quick()).await;
    assert!(message.contains("refused to authenticate"), "{message}");
    assert!(message.contains("no pg_hba.conf entry"), "{message}");
    assert!(message.contains("pg_hba.conf)"), "the advice: {message}");
}

#[tokio::test]
async fn a_database_that_does_not_exist_is_named_with_the_createdb_that_makes_it() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let missing = format!("{}_missing", db.name());
    let url = with_database(db.url(), &missing);
    let server: PgConnectOptions = db.server_url().parse().unwrap();
    let port = match server.get_port() {
        5432 => String::new(),
        port => format!(" -p {port}"),
    };
    let createdb = format!(
        "createdb -h {}{port} -U {} {missing}",
        server.get_host(),
        server.get_username()
    );

    let (message, _) = refusal(&url, quick()).await;
    assert!(
        message.contains(&format!("database `{missing}` does not exist")),
        "{message}"
    );
    assert!(message.contains(&createdb), "{message}");
}

/// Secrets, each in one of the places of a URL that can carry one.
const SECRETS: [&str; 8] = [
    "Userinfo-s3cret",
    "Param-s3cret",
    "Sslpassword-s3cret",
    "Passfile-s3cret",
    "Token-s3cret",
    "Sslkey-s3cret",
    "Client-s3cret",
    "Upper-s3cret",
];

fn with_secrets(server: &str) -> String {
    format!(
        "postgres://shop:Userinfo-s3cret@{server}?password=Param-s3cret\
         &sslpassword=Sslpassword-s3cret&passfile=/etc/Passfile-s3cret&api_token=Token-s3cret\
         &sslkey=/keys/Sslkey-s3cret.pem&client_secret=Client-s3cret&PASSWORD=Upper-s3cret\
         &sslmode=disable"
    )
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret}: {text}");
    }
}

#[tokio::test]
async fn no_secret_of_the_url_appears_in_any_refusal() {
    let closed = fake_server::closed_port();
    let silent = fake_server::silent();
    let mut urls = vec![
        // A server that is not running, or never answers.
        with_secrets(&format!("127.0.0.1:{closed}/shop")),
        with_secrets(&format!("127.0.0.1:{}/shop", silent.port)),
        // Malformed: a port out of range, a bad sslmode, no database.
        with_secrets("127.0.0.1:99999/shop"),
        format!("{}&sslmode=bogus", with_secrets("127.0.0.1:5/shop")),
        with_secrets(&format!("127.0.0.1:{closed}")),
        // Not a URL at all once the secret is in it.
        "postgres://shop:Userinfo-s3cret@[::1/shop?password=Param-s3cret".to_owned(),
        "postgres://shop:Userinfo-s3cret/x@127.0.0.1/shop".to_owned(),
    ];
    if let Some(db) = TestDatabase::create().await {
        // A database that does not exist on a real server.
        let server: PgConnectOptions = db.server_url().parse().unwrap();
        urls.push(format!(
            "postgres://{}:Userinfo-s3cret@{}:{}/{}_missing?password=Param-s3cret",
            server.get_username(),
            server.get_host(),
            server.get_port(),
            db.name()
        ));
    }
    for url in urls {
        let (message, debug) = refusal(&url, quick()).await;
        assert_no_secret("the message", &message);
        assert_no_secret("the debug form", &debug);
    }
}

/// The log lines written while `f` runs on this thread.
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn parameters_the_driver_ignores_are_logged_by_name_without_their_values() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || Captured(sink.clone()))
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let port = fake_server::closed_port();
    let url = with_secrets(&format!("127.0.0.1:{port}/shop"));
    let (message, _) = refusal(&url, quick()).await;

    let log = String::from_utf8(lines.lock().unwrap().clone()).unwrap();
    assert_no_secret("the log", &log);
    assert!(
        log.contains("sslpassword"),
        "the ignored name is logged: {log}"
    );
    assert!(message.contains("connection refused"), "{message}");
}
