//! The same commands on a PostgreSQL store: a shop created with `init`, an operator's day from
//! seeding to a clean check, and bad input that changes nothing. A PostgreSQL URL must name its
//! database; a database that does not exist, a server that is not running or another
//! application's database each get their own exit code and advice; no secret from the URL ever
//! reaches the terminal.

use crate::helpers::{
    CUSTOMER, PgRole, Run, TestShop, closed_port, pg_available, pg_database_url, pg_execute,
    pg_relations, pg_server,
};

#[test]
fn an_operators_day_works_on_postgresql() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["demo"]).ok();
    let products = shop.json(&["product", "list"]);
    assert_eq!(products.as_array().map(Vec::len), Some(5));

    let keys = shop.file("keys.txt", b"PG-KEY-1\nPG-KEY-2\n");
    shop.run(&["stock", "add", "--product", "1", "--file", &keys])
        .ok();
    let counts = shop.json(&["stock", "count", "--product", "1"]);
    assert_eq!(counts["available"], 5, "{counts}");
    shop.run(&["stock", "add", "--product", "1", "--file", &keys])
        .fails(3, "already in stock");

    let customer = CUSTOMER.to_string();
    shop.run(&[
        "user", "credit", "--user", &customer, "--amount", "2.50", "--reason", "goodwill",
    ])
    .ok();
    let user = shop.json(&["user", "show", "--user", &customer]);
    assert_eq!(user["balance"]["minor"], 10_250, "{user}");

    let invoice = shop.json(&[
        "invoice",
        "create",
        "--user",
        &customer,
        "--line",
        "Setup:1:25.00",
    ]);
    let id = invoice["id"].to_string();
    let paid = shop.json(&["invoice", "mark-paid", &id, "--reference", "bank-77"]);
    assert_eq!(paid["status"], "paid", "{paid}");
    shop.run(&["invoice", "void", &id]).fails(5, "already paid");

    shop.run(&["store", "check"]).ok();
}

#[test]
fn bad_input_changes_nothing_on_postgresql() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["demo"]).ok();
    let before = shop.json(&["product", "list"]);
    for (args, code) in [
        (&["product", "add", "--name", "X", "--price", "-1"][..], 3),
        (
            &["product", "add", "--name", "X", "--price", "1.999"][..],
            3,
        ),
        (&["product", "edit", "99", "--price", "1.00"][..], 4),
        (&["product", "add", "--name", "", "--price", "1.00"][..], 3),
    ] {
        shop.run(args).code(code);
    }
    assert_eq!(shop.json(&["product", "list"]), before);
}

#[test]
fn a_postgres_url_that_names_no_database_is_a_usage_error_and_creates_nothing() {
    let Some(role) = PgRole::create() else {
        return;
    };
    // Without a database in the URL, PostgreSQL would pick the role's own.
    let server = pg_server();
    let url = format!(
        "postgres://{}@{}:{}",
        role.name,
        server.get_host(),
        server.get_port()
    );
    let shop = TestShop::new();
    for url in [
        url.clone(),
        format!("{url}/"),
        format!("{url}?sslmode=prefer"),
    ] {
        shop.run_on(&url, &["product", "list"])
            .fails(2, "names no database")
            .fails(2, "postgres://USER@HOST/DATABASE");
    }
    assert_eq!(pg_relations(&role.database_url()), Vec::<String>::new());
}

#[test]
fn a_database_that_does_not_exist_exits_4_with_the_createdb_that_makes_it() {
    if !pg_available() {
        return;
    }
    let shop = TestShop::new();
    let name = format!("shopbot_cli_missing_{}", std::process::id());
    let server = pg_server();
    let port = match server.get_port() {
        5432 => String::new(),
        port => format!(" -p {port}"),
    };
    shop.run_on(&pg_database_url(&name), &["product", "list"])
        .fails(4, &format!("database `{name}` does not exist"))
        .fails(
            4,
            &format!(
                "createdb -h {}{port} -U {} {name}",
                server.get_host(),
                server.get_username()
            ),
        );
}

#[test]
fn a_server_that_is_not_running_exits_1_asking_whether_it_runs() {
    let shop = TestShop::new();
    let port = closed_port();
    let url = format!("postgres://shop@127.0.0.1:{port}/shop");
    shop.run_on(&url, &["product", "list"])
        .fails(1, "connection refused")
        .fails(1, &format!("is the server running on 127.0.0.1:{port}?"));
}

#[test]
fn another_applications_database_is_refused_with_exit_5_and_left_as_it_was() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    pg_execute(
        &shop.store_url(),
        "CREATE TABLE accounts (id BIGINT PRIMARY KEY); CREATE TABLE users (login TEXT)",
    );
    let before = pg_relations(&shop.store_url());

    shop.run(&["product", "list"])
        .fails(5, "public.accounts")
        .fails(5, "nothing was changed");
    shop.run(&["demo"]).fails(5, "holds other tables");
    assert_eq!(pg_relations(&shop.store_url()), before);
}

/// A URL with a secret in every place that can carry one, for a server on loopback at `port`.
fn url_full_of_secrets(port: &str) -> String {
    format!(
        "postgres://shop:Userinfo-s3cret@127.0.0.1:{port}/shop?password=Param-s3cret\
         &sslpassword=Sslpassword-s3cret&passfile=/etc/Passfile-s3cret&auth_token=Token-s3cret\
         &sslkey=/keys/Sslkey-s3cret.pem&sslmode=disable"
    )
}

#[track_caller]
fn assert_no_secret(run: &Run) {
    let everything = format!("{}{}", run.stdout, run.stderr);
    assert!(!everything.contains("s3cret"), "a secret shows: {run:#?}");
}

#[test]
fn no_secret_in_a_postgres_url_reaches_the_terminal_or_the_log() {
    let shop = TestShop::new();
    let url = url_full_of_secrets(&closed_port().to_string());
    for log_level in ["warn", "trace"] {
        let run = shop.run_on(&url, &["--log-level", log_level, "product", "list"]);
        run.code(1);
        assert_no_secret(&run);
        assert!(
            run.stderr.contains("postgres://shop:***@127.0.0.1"),
            "the URL is named, hidden: {run:#?}"
        );
    }
    // Refused before connecting: a malformed URL, and one that names no database.
    let malformed = url_full_of_secrets("99999");
    let no_database = url_full_of_secrets(&closed_port().to_string()).replacen("/shop?", "?", 1);
    for url in [malformed, no_database] {
        let run = shop.run_on(&url, &["--log-level", "trace", "product", "list"]);
        run.code(2);
        assert_no_secret(&run);
    }
    // The same URL from the environment instead of the flag, logged at start.
    let run = shop
        .bare_command()
        .env(
            "SHOPBOT_STORE",
            url_full_of_secrets(&closed_port().to_string()),
        )
        .args(["--log-level", "debug", "product", "list"])
        .output()
        .unwrap();
    let everything = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(!everything.contains("s3cret"), "{everything}");
}

#[test]
fn init_makes_a_shop_of_an_empty_database_once_and_its_currency_holds() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["product", "list"])
        .fails(4, "create one with `shopbot init`");
    shop.run(&["store", "check"])
        .fails(4, "create one with `shopbot init`");
    assert_eq!(
        pg_relations(&shop.store_url()),
        Vec::<String>::new(),
        "a command on an empty database wrote nothing to it"
    );

    let created = shop.json(&["init", "--currency", "EUR"]);
    assert_eq!(created["currency"], "EUR");
    shop.run(&["init", "--currency", "EUR"])
        .fails(5, "there is already a shop");

    let product = shop.json(&["product", "add", "--name", "Key", "--price", "5"]);
    assert_eq!(product["price"]["currency"], "EUR");
    let run = shop
        .command(&["product", "list"])
        .env("SHOPBOT_CURRENCY", "USD")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(5), "{run:?}");
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert!(
        stderr.contains("this shop sells in EUR, but USD is configured"),
        "{stderr}"
    );
}
