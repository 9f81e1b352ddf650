//! The configuration's tests: precedence, older names, unknown keys, bad values, secrets and
//! the generated reference.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::error::ExitStatus;
use std::path::PathBuf;

fn flags() -> GlobalArgs {
    GlobalArgs {
        store: None,
        config: Some(PathBuf::from("/nonexistent/shopbot.toml")),
        log_level: None,
        log_format: None,
        json: false,
        request_key: None,
    }
}

fn no_env() -> Env {
    Env::new()
}

fn env_of(pairs: &[(&str, &str)]) -> Env {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn the_file_fills_in_what_flags_and_env_leave_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shopbot.toml");
    std::fs::write(
        &path,
        "store = \"json:/srv/shop\"\nlog_level = \"debug\"\ncurrency = \"eur\"\nadmins = [7]\n",
    )
    .unwrap();
    let mut flags = flags();
    flags.config = Some(path);
    let settings = Settings::resolve(&flags, &no_env()).unwrap();
    assert_eq!(settings.store, StoreUrl::Json(PathBuf::from("/srv/shop")));
    assert_eq!(settings.log_level, LogLevel::Debug);
    assert_eq!(settings.currency, Some(Currency::EUR));
    assert_eq!(settings.admins, BTreeSet::from([UserId(7)]));

    flags.store = Some("json:/from/flag".into());
    flags.log_level = Some(LogLevel::Error);
    let env = env_of(&[("SHOPBOT_ADMINS", "1, 2")]);
    let settings = Settings::resolve(&flags, &env).unwrap();
    assert_eq!(settings.store, StoreUrl::Json(PathBuf::from("/from/flag")));
    assert_eq!(settings.log_level, LogLevel::Error);
    assert_eq!(settings.admins, BTreeSet::from([UserId(1), UserId(2)]));
}

#[test]
fn the_manual_credit_limit_comes_from_the_environment_then_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shopbot.toml");
    std::fs::write(&path, "max_manual_credit = \"5000.00\"\n").unwrap();
    let mut flags = flags();
    flags.config = Some(path);
    let from_file = Settings::resolve(&flags, &no_env()).unwrap();
    assert_eq!(from_file.max_manual_credit.to_string(), "5000.00");
    let env = env_of(&[("SHOPBOT_MAX_MANUAL_CREDIT", "250")]);
    let from_env = Settings::resolve(&flags, &env).unwrap();
    assert_eq!(from_env.max_manual_credit.to_string(), "250");
    std::fs::write(dir.path().join("shopbot.toml"), "").unwrap();
    let default = Settings::resolve(&flags, &no_env()).unwrap();
    assert_eq!(default.max_manual_credit, CreditLimit::default());
}

#[test]
fn the_currency_is_optional_and_must_be_a_real_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shopbot.toml");
    std::fs::write(&path, "").unwrap();
    let mut flags = flags();
    flags.config = Some(path);
    assert_eq!(Settings::resolve(&flags, &no_env()).unwrap().currency, None);
    let env = |code: &str| env_of(&[("SHOPBOT_CURRENCY", code)]);
    let settings = Settings::resolve(&flags, &env("xtr")).unwrap();
    assert_eq!(settings.currency, Some(Currency::XTR));
    let e = Settings::resolve(&flags, &env("XYZ")).unwrap_err();
    assert_eq!(e.status(), ExitStatus::Usage);
    assert!(
        e.message().contains("`XYZ` is not an ISO 4217"),
        "{}",
        e.message()
    );
}

#[test]
fn a_missing_explicit_file_is_a_usage_error() {
    let e = Settings::resolve(&flags(), &no_env()).unwrap_err();
    assert_eq!(e.status(), ExitStatus::Usage);
    assert!(e.message().contains("/nonexistent/shopbot.toml"));
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let e = ConfigFile::parse("store = \"json:x\"\nstroe = 1\n", "shopbot.toml").unwrap_err();
    assert_eq!(e.status(), ExitStatus::Usage);
    assert!(e.message().contains("line 2"), "{}", e.message());
    assert!(e.message().contains("stroe"), "{}", e.message());
}

#[test]
fn admins_are_positive_ids() {
    assert_eq!(
        parse_admins("5,6,").unwrap(),
        BTreeSet::from([UserId(5), UserId(6)])
    );
    assert!(parse_admins("5,x").is_err());
    assert!(parse_admins("0").is_err());
}

const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";

/// Settings from `file_text` (written to a temporary `shopbot.toml`) and `env`.
fn resolve_with(file_text: &str, env: &[(&str, &str)]) -> CliResult<Settings> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shopbot.toml");
    std::fs::write(&path, file_text).unwrap();
    let mut flags = flags();
    flags.config = Some(path);
    Settings::resolve(&flags, &env_of(env))
}

fn source_of(settings: &Settings, path: &str) -> Source {
    settings
        .effective
        .iter()
        .find(|e| e.key.path() == path)
        .map(|e| e.source.clone())
        .unwrap()
}

#[test]
fn the_defaults_of_the_table_are_the_defaults_of_the_settings() {
    let mut from_table = Settings::for_store(StoreUrl::parse("json:elsewhere").unwrap());
    for key in KEYS {
        if let Some(default) = key.default {
            key.apply(&mut from_table, default).unwrap();
        }
    }
    assert_eq!(
        from_table,
        Settings::for_store(StoreUrl::parse(DEFAULT_STORE).unwrap())
    );
}

#[test]
fn every_key_is_named_by_its_section_and_its_variable() {
    for key in KEYS {
        assert!(key.section.is_empty() || SECTIONS.contains(&key.section));
        let expected = if key.section.is_empty() {
            format!("SHOPBOT_{}", key.name.to_uppercase())
        } else {
            format!(
                "SHOPBOT_{}_{}",
                key.section.to_uppercase(),
                key.name.to_uppercase()
            )
        };
        assert_eq!(key.env(), expected);
        assert!(
            !key.help.is_empty() && !key.accepted.is_empty(),
            "{}",
            key.path()
        );
    }
}

/// 201 characters: one more than a support contact may have.
const TOO_LONG_CONTACT: &str = "@support_of_the_shop_with_a_very_long_name_that_goes_on_and_on_\
and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_and_on_\
and_on_and_on_and_on_and_on_and_on_and_o";

/// One bad value for every key, refused with exit 2 naming the key, the value and what is
/// accepted, from the file and from the environment alike.
#[test]
fn every_key_refuses_a_bad_value_naming_the_key_the_value_and_what_is_accepted() {
    let bad: &[(&str, &str)] = &[
        ("store", "redis://localhost"),
        ("log_level", "loud"),
        ("log_format", "xml"),
        ("shop.currency", "XYZ"),
        ("shop.admins", "boss"),
        ("shop.max_manual_credit", "lots"),
        ("shop.support_contact", TOO_LONG_CONTACT),
        ("shop.low_stock_threshold", "-1"),
        ("shop.invoice_expiry", "30"),
        ("shop.dialogue_timeout", "1.5h"),
        ("telegram.token", "not-a-token"),
        ("telegram.api_url", "localhost:8081"),
        ("telegram.send_limit", "30 per second"),
        ("telegram.send_limit_per_chat", "0/1s"),
        ("telegram.rate_limit", "20/0s"),
        ("postgres.pool_size", "2"),
        ("postgres.acquire_timeout", "0s"),
        ("postgres.statement_timeout", "forever"),
        ("jobs.expire_invoices_every", "0s"),
        ("jobs.sweep_every", "an hour"),
        ("jobs.backup_dir", ""),
        ("jobs.backup_every", "1w"),
        ("jobs.backup_keep", "0"),
        ("http.listen", "everywhere"),
    ];
    assert_eq!(TOO_LONG_CONTACT.chars().count(), 201);
    for key in KEYS {
        let (_, value) = bad
            .iter()
            .find(|(path, _)| *path == key.path())
            .unwrap_or_else(|| panic!("no bad-value case for {}", key.path()));
        if value.is_empty() {
            // A path: any text is a path, and blank is unset.
            continue;
        }
        let in_env = resolve_with("", &[(key.env().as_str(), value)]).unwrap_err();
        let file_text = if key.section.is_empty() {
            format!("{} = {:?}\n", key.name, value)
        } else {
            format!("[{}]\n{} = {:?}\n", key.section, key.name, value)
        };
        let in_file = resolve_with(&file_text, &[]).unwrap_err();
        for (error, place) in [(in_env, key.env()), (in_file, "shopbot.toml".to_owned())] {
            let message = error.message();
            assert_eq!(error.status(), ExitStatus::Usage, "{message}");
            assert!(message.contains(&key.path()), "{message}");
            assert!(message.contains(&place), "{message}");
            assert!(message.contains(key.accepted), "{message}");
            if key.secret {
                assert!(message.contains(REDACTED), "{message}");
                assert!(!message.contains(value), "{message}");
            } else {
                assert!(
                    // A long value is cut short in the message: its start is enough to find it.
                    message.contains(&format!("`{}", value.chars().take(60).collect::<String>())),
                    "{message}"
                );
            }
        }
    }
}

#[test]
fn a_secret_is_never_echoed_in_errors_or_in_the_effective_values() {
    let almost = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0!";
    for env in [
        [("SHOPBOT_TELEGRAM_TOKEN", almost)],
        [("TELEGRAM_BOT_TOKEN", almost)],
    ] {
        let error = resolve_with("", &env).unwrap_err();
        assert!(!error.message().contains("AAHdq"), "{}", error.message());
        assert!(error.message().contains(REDACTED), "{}", error.message());
    }
    let error = resolve_with(&format!("[telegram]\ntoken = {almost:?}\n"), &[]).unwrap_err();
    assert!(!error.message().contains("AAHdq"), "{}", error.message());
    let error = resolve_with("[telegram]\ntoken = 1.5\n", &[]).unwrap_err();
    assert!(error.message().contains(REDACTED), "{}", error.message());

    let settings = resolve_with("", &[("TELEGRAM_BOT_TOKEN", TOKEN)]).unwrap();
    assert_eq!(
        settings.telegram.token.as_ref().map(Secret::expose),
        Some(TOKEN)
    );
    let debug = format!("{settings:?}");
    assert!(!debug.contains("AAHdq"), "{debug}");
    let token = settings
        .effective
        .iter()
        .find(|e| e.key.path() == "telegram.token")
        .unwrap();
    assert_eq!(token.shown.as_deref(), Some(REDACTED));
}

#[test]
fn a_password_in_the_store_url_is_never_shown() {
    let url = "postgres://shop:s3cret@localhost/shop";
    let settings = resolve_with("", &[("SHOPBOT_STORE", url)]).unwrap();
    let store = &settings.effective[0];
    assert_eq!(store.key.path(), "store");
    let shown = store.shown.clone().unwrap();
    assert!(
        !shown.contains("s3cret") && shown.contains("localhost"),
        "{shown}"
    );
    let error = resolve_with(
        "",
        &[(
            "SHOPBOT_STORE",
            "postgres://shop:s3cret@localhost:99999/shop",
        )],
    )
    .unwrap_err();
    assert!(!error.message().contains("s3cret"), "{}", error.message());
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default() {
    let file =
        "log_level = \"debug\"\n[shop]\ninvoice_expiry = \"1h\"\ndialogue_timeout = \"5m\"\n";
    let env = [
        ("SHOPBOT_LOG_LEVEL", "info"),
        ("SHOPBOT_SHOP_INVOICE_EXPIRY", "2h"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shopbot.toml");
    std::fs::write(&path, file).unwrap();
    let mut flags = flags();
    flags.config = Some(path.clone());
    flags.log_level = Some(LogLevel::Error);
    let settings = Settings::resolve(&flags, &env_of(&env)).unwrap();
    assert_eq!(settings.log_level, LogLevel::Error);
    assert_eq!(
        source_of(&settings, "log_level"),
        Source::Flag("--log-level")
    );
    assert_eq!(settings.shop.invoice_expiry, Duration::from_secs(7200));
    assert_eq!(
        source_of(&settings, "shop.invoice_expiry"),
        Source::Env("SHOPBOT_SHOP_INVOICE_EXPIRY".into())
    );
    assert_eq!(settings.shop.dialogue_timeout, Duration::from_secs(300));
    assert_eq!(
        source_of(&settings, "shop.dialogue_timeout"),
        Source::File(path.display().to_string())
    );
    assert_eq!(settings.postgres.pool_size, 16);
    assert_eq!(source_of(&settings, "postgres.pool_size"), Source::Default);
}

#[test]
fn every_section_key_is_read_from_the_file_and_the_environment() {
    let file = "\
[shop]
support_contact = \"@help\"
low_stock_threshold = 2
[telegram]
send_limit = \"20/1s\"
send_limit_per_chat = \"1/1s\"
rate_limit = \"10/5s\"
[postgres]
pool_size = 8
acquire_timeout = \"2s\"
statement_timeout = \"1m\"
[jobs]
expire_invoices_every = \"5m\"
backup_dir = \"/var/backups/shop\"
backup_every = \"6h\"
backup_keep = 3
[http]
listen = \"127.0.0.1:8080\"
";
    let settings =
        resolve_with(file, &[("SHOPBOT_TELEGRAM_API_URL", "http://127.0.0.1:9")]).unwrap();
    assert_eq!(settings.shop.support_contact.as_deref(), Some("@help"));
    assert_eq!(settings.shop.low_stock_threshold, 2);
    assert_eq!(
        settings.telegram.send_limit.overall,
        RateLimit::new(20, Duration::from_millis(50))
    );
    assert_eq!(
        settings.telegram.send_limit.per_chat,
        RateLimit::new(1, Duration::from_secs(1))
    );
    assert_eq!(
        settings.telegram.rate_limit,
        RateLimit::new(10, Duration::from_millis(500))
    );
    assert_eq!(
        settings.telegram.api_url.as_deref(),
        Some("http://127.0.0.1:9")
    );
    let options = settings.postgres.options();
    assert_eq!(options.max_connections, 8);
    assert_eq!(options.acquire_timeout, Duration::from_secs(2));
    assert_eq!(options.statement_timeout, Duration::from_secs(60));
    assert_eq!(
        settings.jobs.backup_dir,
        Some(PathBuf::from("/var/backups/shop"))
    );
    assert_eq!(
        settings.jobs.expire_invoices_every,
        Duration::from_secs(300)
    );
    assert_eq!(settings.jobs.backup_every, Duration::from_secs(6 * 3600));
    assert_eq!(settings.jobs.backup_keep, 3);
    assert_eq!(
        settings.http.listen,
        Some("127.0.0.1:8080".parse().unwrap())
    );
}

#[test]
fn older_names_stay_accepted_and_both_names_at_once_are_refused() {
    let settings = resolve_with(
        "currency = \"EUR\"\nmax_manual_credit = \"10\"\n",
        &[
            ("TELEGRAM_BOT_TOKEN", TOKEN),
            ("TELEGRAM_API_URL", "http://127.0.0.1:9"),
        ],
    )
    .unwrap();
    assert_eq!(settings.currency, Some(Currency::EUR));
    assert_eq!(settings.max_manual_credit.to_string(), "10");
    assert!(settings.telegram.token.is_some());
    assert_eq!(
        source_of(&settings, "telegram.token"),
        Source::Env("TELEGRAM_BOT_TOKEN".into())
    );

    let both_env = resolve_with(
        "",
        &[
            ("TELEGRAM_BOT_TOKEN", TOKEN),
            ("SHOPBOT_TELEGRAM_TOKEN", TOKEN),
        ],
    )
    .unwrap_err();
    assert_eq!(both_env.status(), ExitStatus::Usage);
    assert!(
        both_env.message().contains("TELEGRAM_BOT_TOKEN"),
        "{}",
        both_env.message()
    );
    assert!(
        !both_env.message().contains("AAHdq"),
        "{}",
        both_env.message()
    );
    let both_file =
        resolve_with("currency = \"EUR\"\n[shop]\ncurrency = \"USD\"\n", &[]).unwrap_err();
    assert_eq!(both_file.status(), ExitStatus::Usage);
    assert!(
        both_file.message().contains("shop.currency"),
        "{}",
        both_file.message()
    );
    // The new variable beats the older file key: they are different places.
    let settings =
        resolve_with("currency = \"EUR\"\n", &[("SHOPBOT_SHOP_CURRENCY", "USD")]).unwrap();
    assert_eq!(settings.currency, Some(Currency::USD));
}

#[test]
fn unknown_keys_in_a_section_and_unknown_variables_are_refused() {
    let in_section = resolve_with("[telegram]\ntokne = \"x\"\n", &[]).unwrap_err();
    assert_eq!(in_section.status(), ExitStatus::Usage);
    assert!(
        in_section.message().contains("tokne"),
        "{}",
        in_section.message()
    );
    assert!(
        in_section.message().contains("line 2"),
        "{}",
        in_section.message()
    );
    assert!(
        in_section.message().contains("api_url"),
        "{}",
        in_section.message()
    );
    let section = resolve_with("[cryptopay]\ntoken = \"x\"\n", &[]).unwrap_err();
    assert!(
        section.message().contains("cryptopay"),
        "{}",
        section.message()
    );
    let in_env = resolve_with("", &[("SHOPBOT_POSTGRES_POOLSIZE", "8")]).unwrap_err();
    assert_eq!(in_env.status(), ExitStatus::Usage);
    assert!(
        in_env.message().contains("SHOPBOT_POSTGRES_POOLSIZE"),
        "{}",
        in_env.message()
    );
    assert!(
        in_env.message().contains("SHOPBOT_POSTGRES_POOL_SIZE"),
        "{}",
        in_env.message()
    );
    // Other variables are not shopbot's keys and are left alone.
    resolve_with(
        "",
        &[("SHOPBOT_CONFIG_DIR", "x"), ("SHOPBOT_KILL_ROUNDS", "3")],
    )
    .unwrap();
}

#[test]
fn floats_are_refused() {
    let error = resolve_with("[shop]\nmax_manual_credit = 10.5\n", &[]).unwrap_err();
    assert!(
        error.message().contains("floats are not accepted"),
        "{}",
        error.message()
    );
}

#[test]
fn the_reference_matches_the_keys() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
    let rendered = reference::render();
    if std::env::var_os("SHOPBOT_BLESS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == rendered,
        "docs/configuration.md is out of date: run `SHOPBOT_BLESS=1 cargo test -p shopbot-cli \
         reference` and commit it"
    );
    for key in KEYS {
        assert!(
            rendered.contains(&format!("`{}`", key.env())),
            "{}",
            key.path()
        );
    }
}
