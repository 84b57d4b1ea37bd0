//! `chop-lsp`: the Chop language server on stdio; `chop-lsp bench` runs the
//! benchmark.

use std::process::ExitCode;

/// Each keystroke allocates and frees an AST's worth of small objects; glibc's
/// allocator spent a third of a re-analysis consolidating its free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version" | "-V") => {
            println!("chop-lsp {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--help" | "-h") => {
            println!(
                "chop-lsp: the Chop language server\n\nUsage:\n  chop-lsp [--stdio]      speak LSP on stdin and stdout\n  chop-lsp bench [LINES]  measure latencies on a generated file (default 5000 lines)"
            );
            ExitCode::SUCCESS
        }
        Some("bench") => {
            let lines = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(5_000);
            chop_lsp::bench::main(lines)
        }
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
