//! The Telegram front end of shopbot.
