//! `shopbot serve`: it starts with and without Telegram, logs one start line that names what
//! runs and shows no secret (the token, a PostgreSQL URL), stops cleanly on SIGTERM and SIGINT,
//! and refuses a bad configuration value naming the key.
//!
//! The tests synchronise on the process's own output: they wait for the start line on stderr
//! before signalling. The 30-second bound only keeps a broken build from hanging the suite.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use crate::helpers::{Run, TestShop};

/// A token in the real format, so teloxide's own redaction would recognise it too.
const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";

/// What the start line says first.
const START_LINE: &str = "shopbot serve started";

/// A failure guard: no step of a healthy run comes near it.
const GUARD: Duration = Duration::from_secs(30);

/// A running `shopbot serve` whose stderr is read line by line as it comes.
pub struct Serving {
    child: Child,
    stderr_lines: Receiver<String>,
    stderr: String,
}

impl Serving {
    /// Starts `command` (with `--log-level info` already in it) and returns once its start
    /// line is on stderr.
    pub fn start(mut command: Command) -> Serving {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (sender, stderr_lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut serving = Serving {
            child,
            stderr_lines,
            stderr: String::new(),
        };
        loop {
            let line = serving
                .stderr_lines
                .recv_timeout(GUARD)
                .unwrap_or_else(|e| panic!("no start line ({e}): {}", serving.stderr));
            serving.stderr.push_str(&line);
            serving.stderr.push('\n');
            if line.contains(START_LINE) {
                return serving;
            }
        }
    }

    /// Waits for a line of stderr containing `needle` and returns it.
    pub fn wait_for(&mut self, needle: &str) -> String {
        loop {
            let line = self
                .stderr_lines
                .recv_timeout(GUARD)
                .unwrap_or_else(|e| panic!("no line with {needle:?} ({e}): {}", self.stderr));
            self.stderr.push_str(&line);
            self.stderr.push('\n');
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// The start line.
    fn start_line(&self) -> &str {
        self.stderr
            .lines()
            .find(|line| line.contains(START_LINE))
            .unwrap()
    }

    /// Kills the process with SIGKILL (no shutdown of any kind) and waits until it is gone.
    pub fn kill_hard(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends `signal` (`-TERM`, `-INT`) and returns what the process did to the end.
    pub fn stop(mut self, signal: &str) -> Run {
        let sent = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        // The reader ends when the process closes stderr, that is when it exits.
        loop {
            match self.stderr_lines.recv_timeout(GUARD) {
                Ok(line) => {
                    self.stderr.push_str(&line);
                    self.stderr.push('\n');
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("{signal} did not stop serve: {}", self.stderr);
                }
            }
        }
        let output = self.child.wait_with_output().unwrap();
        Run {
            // Killed by the signal instead, the process would have no exit code (-1 here).
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: self.stderr,
        }
    }
}

/// `shopbot --log-level LEVEL serve` on the test's store, with no Telegram variables.
pub fn serve(shop: &TestShop, level: &str) -> Command {
    let mut command = shop.command(&["--log-level", level, "serve"]);
    command.env_remove("TELEGRAM_BOT_TOKEN");
    command.env_remove("TELEGRAM_API_URL");
    command
}

#[test]
fn without_a_token_serve_runs_the_jobs_and_stops_on_sigterm_and_sigint() {
    for signal in ["-TERM", "-INT"] {
        let shop = TestShop::demo();
        let mut command = serve(&shop, "info");
        command.env("SHOPBOT_SHOP_ADMINS", "1001,1002");
        let serving = Serving::start(command);
        let start = serving.start_line().to_owned();
        for needle in [
            env!("CARGO_PKG_VERSION"),
            "store=\"json\"",
            "telegram=\"no\"",
            "expire-invoices",
            "admins=2",
        ] {
            assert!(start.contains(needle), "{needle}: {start}");
        }
        assert_eq!(
            serving.stderr.matches(START_LINE).count(),
            1,
            "{}",
            serving.stderr
        );
        let run = serving.stop(signal);
        run.ok();
        assert!(run.stdout.contains("Stopped."), "{signal}: {run:#?}");
        // The store was closed cleanly: the next command opens it and sees the demo shop.
        let categories = shop.json(&["category", "list"]);
        assert!(!categories.as_array().unwrap().is_empty());
    }
}

#[test]
fn with_a_token_serve_runs_the_bot_and_never_shows_the_token() {
    let shop = TestShop::demo();
    // A Bot API that takes the connection and never answers: the bot stays in its start-up
    // request until it is told to stop.
    let api = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", api.local_addr().unwrap());
    let mut command = serve(&shop, "trace");
    command
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", &url);
    let serving = Serving::start(command);
    assert!(
        serving.start_line().contains("telegram=\"yes\""),
        "{}",
        serving.stderr
    );
    // With the bot, the outbox is delivered by a job: where the jobs run, never beside them.
    assert!(
        serving.start_line().contains("deliver-outbox"),
        "{}",
        serving.stderr
    );
    // The bot's first request arrives: it is running.
    let (_connection, _) = api.accept().unwrap();
    let run = serving.stop("-TERM");
    run.ok();
    assert!(run.stdout.contains("Stopped."), "{run:#?}");
    let secret = TOKEN.split_once(':').unwrap().1;
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(TOKEN), "{run:#?}");
        assert!(!text.contains(secret), "{run:#?}");
    }
}

#[test]
fn a_bad_configuration_value_stops_serve_naming_the_key() {
    let shop = TestShop::demo();
    let mut command = serve(&shop, "info");
    command.env("SHOPBOT_SHOP_LOW_STOCK_THRESHOLD", "plenty");
    let output = command.output().unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    run.fails(2, "low_stock_threshold");
    assert!(!run.stderr.contains(START_LINE), "{run:#?}");
}

#[test]
fn the_help_says_what_runs_and_how_it_stops() {
    let shop = TestShop::new();
    let run = shop.run(&["serve", "--help"]);
    run.ok();
    for needle in [
        "expire-invoices",
        "SIGTERM",
        "TELEGRAM_BOT_TOKEN",
        "Examples:",
    ] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
}

#[test]
fn on_postgresql_serve_names_the_store_kind_but_not_its_url() {
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["demo"]).ok();
    let serving = Serving::start(serve(&shop, "info"));
    let start = serving.start_line().to_owned();
    assert!(start.contains("store=\"postgres\""), "{start}");
    assert!(!start.contains("postgres://"), "{start}");
    let run = serving.stop("-TERM");
    run.ok();
    assert!(run.stdout.contains("Stopped."), "{run:#?}");
    assert!(!run.stderr.contains(&shop.store_url()), "{run:#?}");
}

#[test]
fn on_postgresql_one_serve_leads_the_jobs_and_another_takes_over_when_it_stops() {
    const LEADS: &str = "started leading the background jobs";
    const STANDS_BY: &str = "standing by: another process leads the background jobs";
    let Some(shop) = TestShop::postgres() else {
        return;
    };
    shop.run(&["demo"]).ok();
    let mut first = Serving::start(serve(&shop, "info"));
    let leads = first.wait_for(LEADS);
    assert!(!leads.contains("postgres://"), "{leads}");
    let mut second = Serving::start(serve(&shop, "info"));
    second.wait_for(STANDS_BY);
    assert!(!second.stderr.contains(LEADS), "{}", second.stderr);

    let run = first.stop("-TERM");
    run.ok();
    assert_eq!(run.stderr.matches(LEADS).count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("stopped leading the background jobs"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(STANDS_BY), "{}", run.stderr);

    // The standby checks every few seconds: it takes over well within the 30 s guard.
    second.wait_for(LEADS);
    let run = second.stop("-TERM");
    run.ok();
    assert_eq!(run.stderr.matches(LEADS).count(), 1, "{}", run.stderr);
    assert_eq!(run.stderr.matches(STANDS_BY).count(), 1, "{}", run.stderr);
}
