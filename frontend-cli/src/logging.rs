//! Log lines on stderr, as text or JSON, never on stdout (which belongs to the output).

use tracing_subscriber::filter::LevelFilter;

use crate::cli::{LogFormat, LogLevel};

/// Installs the global log subscriber. Does nothing if one is installed already.
pub fn init(level: LogLevel, format: LogFormat) {
    let filter = match level {
        LogLevel::Off => LevelFilter::OFF,
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(filter)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
