//! `chop-dap`: the Debug Adapter Protocol server for threads of the chunk VM.
//!
//! It speaks DAP over standard input and output, or over TCP on 127.0.0.1 with
//! `--port N` (one client, then it ends). `transport` frames the messages, `protocol`
//! reads and builds them, `session` holds the state and runs the VM on a thread of its
//! own, `adapter` routes each request to its file under `requests/`, and `eval`
//! evaluates expressions over a stopped frame. `chop-dap bench` measures the adapter
//! (`bench`).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod adapter;
mod bench;
mod debuggee;
mod eval;
mod protocol;
mod requests;
mod run;
mod session;
mod transport;

use std::io::BufReader;
use std::net::TcpListener;
use std::process::ExitCode;

const USAGE: &str =
    "usage: chop-dap [--port N] | chop-dap bench [--steps N] [--quick] | chop-dap --version\n\
  Speaks the Debug Adapter Protocol on standard input and output, or, with --port,\n\
  to one client on 127.0.0.1:N (0: any free port, printed on standard error).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {
            let input = BufReader::new(std::io::stdin());
            adapter::serve(input, Box::new(std::io::stdout()));
            ExitCode::SUCCESS
        }
        [flag, port] if flag == "--port" => {
            let Ok(port) = port.parse::<u16>() else {
                eprintln!("chop-dap: --port {port:?} is not a port number (0 to 65535)");
                return ExitCode::FAILURE;
            };
            serve_tcp(port)
        }
        [command, rest @ ..] if command == "bench" => match bench::main(rest) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("chop-dap: {err}");
                ExitCode::FAILURE
            }
        },
        [flag] if flag == "--version" || flag == "-V" => {
            println!("chop-dap {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("chop-dap: unexpected arguments {args:?}\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}

fn serve_tcp(port: u16) -> ExitCode {
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("chop-dap: cannot listen on 127.0.0.1:{port}: {err}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => eprintln!("chop-dap: listening on {addr}"),
        Err(err) => eprintln!("chop-dap: listening (address unknown: {err})"),
    }
    let (stream, peer) = match listener.accept() {
        Ok(accepted) => accepted,
        Err(err) => {
            eprintln!("chop-dap: accepting a client: {err}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("chop-dap: client {peer}");
    if let Err(err) = stream.set_nodelay(true) {
        eprintln!("chop-dap: setting TCP_NODELAY: {err}");
    }
    let writer = match stream.try_clone() {
        Ok(writer) => writer,
        Err(err) => {
            eprintln!("chop-dap: {err}");
            return ExitCode::FAILURE;
        }
    };
    adapter::serve(BufReader::new(stream), Box::new(writer));
    ExitCode::SUCCESS
}
