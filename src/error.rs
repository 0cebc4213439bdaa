//! The library's error type. Every variant carries enough context (file, page, op, kernel)
//! for the binary to print the whole chain on one line; nothing here panics.

use std::path::PathBuf;

/// All errors migrascope's library returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written at the OS level.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An output file or folder could not be created, written or moved into place (a full
    /// disk, a read-only folder, a parent that is a regular file): not the input's fault.
    #[error("{}: {source}", path.display())]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file is malformed, hostile or unsupported: names the file, the place in it and why.
    #[error("{}: {place}: {reason}", path.display())]
    Format {
        path: PathBuf,
        place: String,
        reason: String,
    },
    /// No usable GPU adapter, or the device could not be created.
    #[error("gpu: {0}")]
    Gpu(String),
    /// A kernel failed to build or a dispatch was invalid.
    #[error("gpu kernel {shader}::{entry}: {msg}")]
    Kernel {
        shader: String,
        entry: String,
        msg: String,
    },
    /// A caller passed arguments that cannot work (bad sizes, unknown channel, ...).
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for [`Error::Format`].
    pub fn format(
        path: impl Into<PathBuf>,
        place: impl Into<String>,
        reason: impl ToString,
    ) -> Self {
        Error::Format {
            path: path.into(),
            place: place.into(),
            reason: reason.to_string(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Output`].
    pub fn output(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Output {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(msg: impl ToString) -> Self {
        Error::Invalid(msg.to_string())
    }
}

thread_local! {
    static QUIET_PANICS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, catching a panic without printing it: for code we call on untrusted input (the
/// `tiff` crate asserts on some malformed files), where a panic is one more bad-file error.
pub fn catch_quiet<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    let was = QUIET_PANICS.with(|q| q.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET_PANICS.with(|q| q.set(was));
    r
}

/// Makes an unexpected panic print one line (`migrascope: internal error: ...`) instead of
/// Rust's multi-line report, and keeps panics caught by [`catch_quiet`] silent.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if QUIET_PANICS.with(|q| q.get()) {
            return;
        }
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "migrascope: internal error: {}{at} (please report it)",
            msg.replace('\n', " ")
        );
    }));
}
