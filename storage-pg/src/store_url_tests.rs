//! The redaction of store URLs, and reading them for the driver.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // Tests fail by panicking.

use proptest::prelude::*;

use super::*;

#[test]
fn the_password_and_secret_parameters_are_hidden_and_the_rest_is_kept() {
    assert_eq!(
        redact_url("postgres://bob:s3cret@db:5432/shop"),
        "postgres://bob:***@db:5432/shop"
    );
    assert_eq!(redact_url("postgres://db/shop"), "postgres://db/shop");
    assert_eq!(
        redact_url("postgres://bob@db/shop"),
        "postgres://bob@db/shop"
    );
    assert_eq!(
        redact_url(
            "postgresql://db/shop?sslmode=require&password=a&sslpassword=b&sslkey=/k.pem\
             &passfile=/p&api_token=c&client_secret=d&SomeKey=e&application_name=bot"
        ),
        "postgresql://db/shop?sslmode=require&password=***&sslpassword=***&sslkey=***\
         &passfile=***&api_token=***&client_secret=***&SomeKey=***&application_name=bot"
    );
    assert_eq!(
        redact_url("postgres:///shop?host=/var/run/postgresql&PASSWORD=x"),
        "postgres:///shop?host=/var/run/postgresql&PASSWORD=***"
    );
}

#[test]
fn a_url_whose_parts_cannot_be_told_apart_shows_only_its_scheme() {
    for url in [
        // A `/`, `?` or `#` in an unencoded password moves the host's end.
        "postgres://bob:12/34@db/shop",
        "postgres://bob:12?x=34@db/shop",
        "postgres://bob:12#34@db/shop",
        "postgres://bob:s3cret@[::1/shop",
        "postgres://bob:s3cret@db:99999/shop",
    ] {
        assert_eq!(redact_url(url), "postgres://…", "{url}");
    }
    assert_eq!(redact_url("no scheme bob:s3cret"), "…");
}

#[test]
fn a_url_names_its_database_in_the_path_or_as_dbname() {
    for url in [
        "postgres://db/shop",
        "postgres://db?dbname=shop",
        "postgres:///shop?host=/tmp",
        "postgres://db/?dbname=shop",
    ] {
        assert!(Target::parse(url).is_ok(), "{url}");
    }
    for url in [
        "postgres://db",
        "postgres://db/",
        "postgres://bob:s3cret@db:5432",
        "postgres://db?dbname=",
        "postgres://db/?sslmode=disable",
    ] {
        match Target::parse(url) {
            Err(error @ PgOpenError::NoDatabase { .. }) => {
                let message = error.to_string();
                assert!(
                    message.contains("postgres://USER@HOST/DATABASE"),
                    "{message}"
                );
                assert!(!message.contains("s3cret"), "{message}");
            }
            Err(other) => panic!("{url}: {other}"),
            Ok(_) => panic!("{url} names no database"),
        }
    }
}

#[test]
fn other_schemes_and_malformed_urls_are_refused_with_how_to_write_one() {
    for url in [
        "mysql://db/shop",
        "postgres:shop",
        "postgres://db:99999/shop",
    ] {
        match Target::parse(url) {
            Err(error @ PgOpenError::Url { .. }) => {
                assert!(error.to_string().contains("postgres://USER:PASSWORD@HOST"));
            }
            Err(other) => panic!("{url}: {other}"),
            Ok(_) => panic!("{url} parsed"),
        }
    }
}

#[test]
fn parameters_the_driver_does_not_read_are_kept_from_it() {
    let target =
        Target::parse("postgres://db/shop?sslpassword=x&connect_timeout=5&sslmode=disable")
            .unwrap();
    assert_eq!(target.ignored, ["sslpassword", "connect_timeout"]);
    assert_eq!(target.database, "shop");
}

#[test]
fn the_password_comes_decoded_from_the_user_info_or_the_parameter() {
    let target = Target::parse("postgres://bob:p%40ss+w@db/shop").unwrap();
    assert_eq!(target.password.as_deref(), Some("p@ss+w"));
    let target = Target::parse("postgres://bob:one@db/shop?password=two").unwrap();
    assert_eq!(target.password.as_deref(), Some("two"));
    assert_eq!(Target::parse("postgres://db/shop").unwrap().password, None);
}

#[test]
fn scrubbing_hides_every_secret_as_written_and_decoded() {
    let target =
        Target::parse("postgres://bob:p%40ss@db/shop?api_key=k%2Fey&sslmode=disable").unwrap();
    assert_eq!(
        target.scrub("p%40ss p@ss k%2Fey k/ey disable"),
        "*** *** *** *** disable"
    );
}

#[test]
fn the_createdb_hint_names_host_port_user_and_database() {
    let target = Target::parse("postgres://shop@db.internal/my_shop").unwrap();
    assert_eq!(target.createdb(), "createdb -h db.internal -U shop my_shop");
    let target = Target::parse("postgres://shop@db:6432/it%27s").unwrap();
    assert_eq!(
        target.createdb(),
        "createdb -h db -p 6432 -U shop 'it'\\''s'"
    );
}

/// Every byte outside the unreserved set as `%XX`, as a careful author encodes a secret.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where a secret can sit in a URL: the user info's password, or a parameter by one of these
/// names.
const PLACES: [&str; 12] = [
    "",
    "password",
    "sslpassword",
    "sslkey",
    "ssl-key",
    "passfile",
    "api_token",
    "client_secret",
    "X-Key",
    "PassPhrase",
    "PASSWORD",
    "something_new",
];

fn url_with_secret(
    scheme: &str,
    user: &str,
    server: &str,
    database: &str,
    harmless: &[(String, String)],
    place: &str,
    secret: &str,
) -> String {
    let password = if place.is_empty() {
        format!(":{secret}")
    } else {
        String::new()
    };
    let mut pairs: Vec<String> = harmless.iter().map(|(n, v)| format!("{n}={v}")).collect();
    if !place.is_empty() {
        let at = pairs.len() / 2;
        pairs.insert(at, format!("{place}={secret}"));
    }
    let query = if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    };
    format!("{scheme}://{user}{password}@{server}/{database}{query}")
}

proptest! {
    #[test]
    fn a_secret_anywhere_in_a_url_never_shows(
        scheme in prop::sample::select(vec!["postgres", "postgresql"]),
        user in "[a-z]{1,8}",
        server in "[a-z]{1,8}(\\.[a-z]{1,5})?(:[0-9]{1,5})?",
        database in "[a-z_]{0,10}",
        harmless in prop::collection::vec(
            (prop::sample::select(vec!["sslmode", "application_name", "host", "connect_timeout"]),
             "[a-z]{0,6}").prop_map(|(n, v)| (n.to_owned(), v)),
            0..4,
        ),
        place in prop::sample::select(PLACES.to_vec()),
        tail in "\\PC{0,16}",
        encode in any::<bool>(),
    ) {
        // The marker starts every secret, and nothing else generated contains it.
        let secret = format!("S3c{tail}");
        let written = if encode { encoded(&secret) } else { secret.clone() };
        let url = url_with_secret(scheme, &user, &server, &database, &harmless, place, &written);

        let shown = redact_url(&url);
        prop_assert!(!shown.contains("S3c"), "{url} shown as {shown}");

        if let Err(error) = Target::parse(&url) {
            let message = format!("{error} {error:?}");
            prop_assert!(!message.contains("S3c"), "{url}: {message}");
        }
    }

    #[test]
    fn reading_any_text_as_a_url_never_panics(text in "\\PC{0,80}") {
        let _ = redact_url(&text);
        let _ = Target::parse(&text);
        let _ = Target::parse(&format!("postgres://{text}"));
    }
}
