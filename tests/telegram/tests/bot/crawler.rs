//! Every reachable button, pressed: breadth first from /start, each button once per screen it
//! shows on (the same "Cart" button under a product before and after adding it leads to
//! different carts), for a customer and for the admin, up to a bound.

use std::collections::{BTreeSet, VecDeque};

use crate::helpers::{ADMIN, TestBot, User};

/// The most presses one crawl makes.
const MAX_PRESSES: usize = 300;

/// Presses every button reachable from /start; returns how many presses it made.
async fn crawl(bot: &TestBot, user: &User) -> usize {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::new();
    let discover = |queue: &mut VecDeque<String>, seen: &mut BTreeSet<(String, String)>| {
        for message in bot.api.messages(user.id).into_iter().filter(|m| m.from_bot) {
            for data in message.all_buttons().filter_map(|b| b.data.clone()) {
                if seen.insert((message.text.clone(), data.clone())) {
                    queue.push_back(data);
                }
            }
        }
    };
    user.send("/start").await;
    discover(&mut queue, &mut seen);
    let mut presses = 0;
    while let Some(data) = queue.pop_front() {
        if presses == MAX_PRESSES {
            break;
        }
        let screen = user.current();
        user.press_data_on(screen.id, &data).await;
        presses += 1;
        discover(&mut queue, &mut seen);
    }
    presses
}

fn assert_clean(bot: &TestBot, user: i64) {
    bot.assert_no_violations();
    for press in bot.api.presses() {
        assert_eq!(press.answers.len(), 1, "{press:?}");
        let notice = press.answers[0].text.clone().unwrap_or_default();
        assert!(!notice.contains("Something went wrong"), "{press:?}");
    }
    for message in bot.api.messages(user) {
        assert!(
            !message.text.contains("Something went wrong"),
            "{message:?}"
        );
        assert!(
            message
                .all_buttons()
                .all(|b| b.data.as_ref().is_some_and(|d| d.len() <= 64))
        );
    }
}

async fn shop_with_things_to_click() -> TestBot {
    let bot = TestBot::start().await;
    for i in 1..=10 {
        let name = format!("Game {i:02}");
        let key = format!("G{i:02}-1");
        let keys: Vec<&str> = if i % 3 == 0 {
            vec![]
        } else {
            vec![key.as_str()]
        };
        bot.product(&name, 100 * i, &keys).await;
    }
    bot
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_crawling_every_button_meets_no_error_and_breaks_no_rule() {
    let mut bot = shop_with_things_to_click().await;
    bot.fund(1001, 100_000).await;
    let ann = bot.user(1001);

    let presses = crawl(&bot, &ann).await;

    assert!(presses > 50, "only {presses} buttons reachable");
    // The menu answers /start, whatever deliveries of the crawl's purchases arrive around it.
    ann.send_until("/start", "What would you like to do?").await;
    assert_clean(&bot, 1001);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_admin_crawling_every_button_meets_no_error_and_breaks_no_rule() {
    let mut bot = shop_with_things_to_click().await;
    bot.fund(ADMIN, 100_000).await;
    let admin = bot.admin();

    let presses = crawl(&bot, &admin).await;

    assert!(presses > 50, "only {presses} buttons reachable");
    admin
        .send_until("/start", "What would you like to do?")
        .await;
    assert_clean(&bot, ADMIN);
    bot.stop().await;
}
