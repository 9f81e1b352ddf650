//! What every test needs: a store directory of its own, the real `shopbot` binary run on it,
//! and a way to seed purchases through the library (the CLI has no buying command).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde_json::Value;
use shopbot_core::ids::{ProductId, UserId};
use shopbot_core::ports::SystemClock;
use shopbot_core::services::{PayWith, Shop, ShopConfig};
use shopbot_core::text::{IdempotencyKey, PersonName, Quantity};
use shopbot_core::user::UserProfile;
use shopbot_storage_json::JsonStore;
use shopbot_storage_pg::testing::TestDatabase;
use tempfile::TempDir;

mod pg;

pub use pg::{
    PgRole, closed_port, pg_available, pg_database_url, pg_execute, pg_relations, pg_server,
};

/// The demo's customer, who starts with 100.00 USD.
pub const CUSTOMER: i64 = 1001;

/// A temporary directory holding one store (`store/`, or a PostgreSQL database of its own)
/// and any files a test writes.
pub struct TestShop {
    dir: TempDir,
    database: Option<TestDatabase>,
}

/// Runs `future` to its end on a runtime of its own: the tests are synchronous, like the
/// binary's users.
fn on_runtime<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(self.code, expected, "unexpected exit code: {self:#?}");
        self
    }

    /// Asserts success.
    #[track_caller]
    pub fn ok(&self) -> &Run {
        self.code(0)
    }

    /// Asserts a failure with `code` and one error line on stderr containing `needle`.
    #[track_caller]
    pub fn fails(&self, code: i32, needle: &str) -> &Run {
        self.code(code);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "the error should be one line: {self:#?}");
        assert!(lines[0].starts_with("error: "), "{self:#?}");
        assert!(
            self.stderr.contains(needle),
            "stderr should contain {needle:?}: {self:#?}"
        );
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        assert!(
            !self.stderr.to_lowercase().contains("backtrace"),
            "{self:#?}"
        );
        self
    }

    /// The stdout parsed as exactly one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        let mut docs = serde_json::Deserializer::from_str(&self.stdout).into_iter::<Value>();
        let first = docs
            .next()
            .unwrap_or_else(|| panic!("no JSON on stdout: {self:#?}"))
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"));
        assert!(
            docs.next().is_none(),
            "more than one JSON document: {self:#?}"
        );
        first
    }
}

impl TestShop {
    /// A new, empty shop selling in USD, created with `shopbot init`.
    pub fn new() -> TestShop {
        let shop = TestShop::without_store();
        shop.run(&["init"]).ok();
        shop
    }

    /// A new, empty place for a store, with no store in it yet: only `init` and `demo` make
    /// one.
    pub fn without_store() -> TestShop {
        TestShop {
            dir: tempfile::tempdir().unwrap(),
            database: None,
        }
    }

    /// Every file and directory under the test's directory, as sorted relative paths: what a
    /// command that must create nothing must leave as it was.
    pub fn listing(&self) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                found.push(path.strip_prefix(root).unwrap().display().to_string());
                if path.is_dir() {
                    walk(root, &path, found);
                }
            }
        }
        let mut found = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut found);
        found.sort();
        found
    }

    /// A new, empty PostgreSQL database for the store, dropped with the shop, or `None` outside
    /// CI when no server answers (after one line on stderr saying how to start one).
    pub fn postgres() -> Option<TestShop> {
        let database = on_runtime(TestDatabase::create())?;
        Some(TestShop {
            dir: tempfile::tempdir().unwrap(),
            database: Some(database),
        })
    }

    /// A shop seeded with `shopbot demo`.
    pub fn demo() -> TestShop {
        let shop = TestShop::without_store();
        shop.run(&["demo"]).ok();
        shop
    }

    /// A path inside the test's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The store's directory.
    pub fn store_dir(&self) -> PathBuf {
        self.path("store")
    }

    /// `json:<store dir>`, or the test's PostgreSQL database.
    pub fn store_url(&self) -> String {
        match &self.database {
            Some(database) => database.url().to_owned(),
            None => format!("json:{}", self.store_dir().display()),
        }
    }

    /// The binary with no store flag, run in the test's directory with no `SHOPBOT_*`
    /// variables from the developer's shell.
    pub fn bare_command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_shopbot"));
        command.current_dir(self.dir.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("SHOPBOT_") {
                command.env_remove(key);
            }
        }
        command.env("RUST_BACKTRACE", "1");
        command
    }

    /// The binary on this test's store.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = self.bare_command();
        command.arg("--store").arg(self.store_url()).args(args);
        command
    }

    /// Runs the binary on this test's store.
    pub fn run(&self, args: &[&str]) -> Run {
        run(self.command(args), None)
    }

    /// Runs the binary on the store at `url` instead of this test's own.
    pub fn run_on(&self, url: &str, args: &[&str]) -> Run {
        let mut command = self.bare_command();
        command.arg("--store").arg(url).args(args);
        run(command, None)
    }

    /// Runs the binary with `args` only (no `--store` of this test's).
    pub fn run_bare(&self, args: &[&str]) -> Run {
        let mut command = self.bare_command();
        command.args(args);
        run(command, None)
    }

    /// Runs the binary on this test's store with `input` on stdin.
    pub fn run_with_input(&self, args: &[&str], input: &[u8]) -> Run {
        run(self.command(args), Some(input))
    }

    /// Runs `args` with `--json`, expects success, and returns the one document printed.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let run = self.run(&all);
        run.ok();
        run.json()
    }

    /// Writes a file into the test's directory and returns its path as text.
    pub fn file(&self, name: &str, contents: &[u8]) -> String {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }

    /// Buys `quantity` of `product` as `user` through the library, the way the bot will.
    /// The user is created if needed; wallet purchases need money on the wallet.
    pub fn buy(&self, user: i64, product: i64, quantity: u32, pay: PayWith) -> i64 {
        with_shop(&self.store_dir(), |shop| async move {
            let id = UserId(user);
            if shop.storage().user(id).await.unwrap().is_none() {
                let name = PersonName::lenient(&format!("Buyer {user}"));
                shop.greet(UserProfile { id, name }).await.unwrap();
            }
            let quantity = Quantity::new(quantity).unwrap();
            let cart = shop
                .cart()
                .add(id, ProductId(product), quantity)
                .await
                .unwrap();
            let key = IdempotencyKey::parse(&format!("test-{user}-{}", cart.version)).unwrap();
            let order = shop
                .checkout()
                .buy_cart(id, cart.version, key, pay)
                .await
                .unwrap()
                .order;
            order.id.0
        })
    }

    /// Records customers `ids` (as a first message to the bot would).
    pub fn greet_many(&self, ids: impl IntoIterator<Item = i64> + Send + 'static) {
        with_shop(&self.store_dir(), |shop| async move {
            for id in ids {
                let name = PersonName::lenient(&format!("Customer {id}"));
                shop.greet(UserProfile {
                    id: UserId(id),
                    name,
                })
                .await
                .unwrap();
            }
        });
    }
}

/// Opens the store at `dir` in this process, runs `f` on a shop over it, and closes it again
/// (so that the binary can take the store's lock afterwards).
pub fn with_shop<F, Fut, T>(dir: &Path, f: F) -> T
where
    F: FnOnce(Shop) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Arc::new(JsonStore::open(dir).unwrap());
        let shop = Shop::new(store.clone(), Arc::new(SystemClock), ShopConfig::default());
        let result = f(shop).await;
        store.close().await.unwrap();
        result
    })
}

fn run(mut command: Command, input: Option<&[u8]>) -> Run {
    command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        // The binary may refuse before reading everything; a closed pipe is fine then.
        let _ = stdin.write_all(input);
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// The number of available units of `product`, as `stock count --json` reports.
pub fn available(shop: &TestShop, product: i64) -> u64 {
    let product = product.to_string();
    shop.json(&["stock", "count", "--product", &product])["available"]
        .as_u64()
        .unwrap()
}
