//! Standard output and standard error for the command line: `println!` and
//! `eprintln!` panic when the stream is closed (`chunkvm run x.chop | head -1`,
//! `2>&1 | head -1`); these end the process quietly with status 1 instead.

use std::io::Write;

/// Writes `text` to standard output and flushes it; a closed stream ends the process
/// with status 1 and no message (there is nowhere left to write one).
pub fn out(text: &str) {
    write_or_exit(&mut std::io::stdout().lock(), text);
}

/// Writes `text` to standard error; a closed stream ends the process with status 1.
pub fn err(text: &str) {
    write_or_exit(&mut std::io::stderr().lock(), text);
}

fn write_or_exit(stream: &mut impl Write, text: &str) {
    if stream
        .write_all(text.as_bytes())
        .and_then(|()| stream.flush())
        .is_err()
    {
        std::process::exit(1);
    }
}

/// `println!` that ends the process quietly with status 1 when standard output is closed.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli_io::out(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` that ends the process quietly with status 1 when standard error is closed.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli_io::err(&format!("{}\n", format_args!($($arg)*)))
    };
}

pub use chunkvm::diag::io_reason;
