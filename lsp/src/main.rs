//! `chop-lsp`: the Chop language server on stdio; `chop-lsp bench` runs the
//! benchmark.

use std::process::ExitCode;

/// Each keystroke allocates and frees an AST's worth of small objects; glibc's
/// allocator spent a third of a re-analysis consolidating its free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (the same place in `mi_option_t` in its v2
/// and v3); libmimalloc-sys names no constant for it.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long memory stays free before mimalloc gives it back to the OS: 10 s
/// instead of its 1 s. Each keystroke frees and allocates again several MB of
/// analysis; given back every second, it was faulted in and zeroed by the kernel
/// again (`clear_page_erms`, a quarter of the server's time, and 4x the page
/// faults of a bench run), and the first requests after a pause paid for it.
/// Memory still goes back after ten idle seconds. `MIMALLOC_PURGE_DELAY` in the
/// environment wins.
fn hold_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one integer option; mimalloc reads options atomically.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 10_000) };
    }
}

/// No transparent huge pages for this process. mimalloc asks for them on its
/// arenas (`MADV_HUGEPAGE`), so every first touch of a 2 MiB region made the
/// kernel zero 2 MiB at once (`do_huge_pmd_anonymous_page`, `clear_page_erms`:
/// a fifth of a bench run), in the middle of a keystroke's analysis or of a
/// request, and compacting memory to find such pages gave the p99s of tens of
/// milliseconds. With 4 KiB pages a run of the bench took a quarter less CPU,
/// and an open document less memory. Set at fault time, so it holds for the
/// arena mimalloc reserved before `main` too. `CHOP_LSP_THP=1` keeps them.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("CHOP_LSP_THP").is_none_or(|v| v != "1") {
        // SAFETY: sets a flag of this process; no memory is passed.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

fn main() -> ExitCode {
    hold_freed_memory();
    no_huge_pages();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version" | "-V") => {
            println!("chop-lsp {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--help" | "-h") => {
            println!(
                "chop-lsp: the Chop language server\n\nUsage:\n  chop-lsp [--stdio]      speak LSP on stdin and stdout\n  chop-lsp bench [LINES] [--file | --workspace]\n                          measure latencies on a generated file (default 5000 lines)\n                          and on a workspace of 50 files; --file or --workspace: one of them"
            );
            ExitCode::SUCCESS
        }
        Some("bench") => match chop_lsp::bench::Parts::from_args(&args[1..]) {
            Ok(parts) => chop_lsp::bench::main(parts),
            Err(err) => {
                eprintln!("chop-lsp bench: {err} (try --help)");
                ExitCode::from(2)
            }
        },
        None | Some("--stdio") => run(),
        Some(other) => {
            eprintln!("chop-lsp: unknown argument `{other}` (try --help)");
            ExitCode::from(2)
        }
    }
}

fn run() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("chop-lsp: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let clean = runtime.block_on(chop_lsp::serve(tokio::io::stdin(), tokio::io::stdout()));
    // Blocking work (a preview) must not keep the process alive after `exit`.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn huge_pages_are_off() {
        if std::env::var_os("CHOP_LSP_THP").is_some_and(|v| v == "1") {
            return;
        }
        no_huge_pages();
        // SAFETY: reads a flag of this process.
        let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        assert_eq!(disabled, 1);
    }

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads and sets an integer option.
        let before = unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // mimalloc v3's default purge delay: the option at this place is that one.
            assert_eq!(before, 1_000);
        }
        hold_freed_memory();
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(
                unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) },
                10_000
            );
        }
    }
}
