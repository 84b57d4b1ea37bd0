//! The client's side of a migration: [`migrate`] moves a thread stopped at a
//! safe point to a node, answers the node's fetches from the thread's store
//! through the [`Policy`], and takes back the thread's result or the thread
//! itself.
//!
//! No thread is lost: the client's [`Vm`] is left as it was until the
//! node's `Done` has arrived and its chunks were taken in. On any failure
//! [`MigrateError::thread_is_good`] says whether the thread can go on
//! locally (always, unless the program itself failed on the node); lines
//! the node printed before it failed were already handed to `on_line`, and
//! [`MigrateError::lines_delivered`] says how many, so that a local run can
//! leave them out ([`SkipLines`]).

use std::fmt;
use std::io::Write;
use std::time::{Duration, Instant};

use chunkvm::chunk::{ChunkId, IdSet, ENTRY_LEN};
use chunkvm::exec::{ThreadError, Value, Vm};

use crate::client::{Client, Outcome};
use crate::prefetch::{Policy, Prefetch};
use crate::transport::TransportError;
use crate::wire::decode_value;

/// How to migrate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MigrateOptions {
    /// Which chunks travel before they are asked for.
    pub prefetch: Prefetch,
    /// Have the node hand the thread back at the first safe point after
    /// this many instructions (none: the node runs it to its end).
    pub run_for: Option<u64>,
}

/// A number of chunks and their bytes on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transfer {
    /// Chunks.
    pub chunks: u64,
    /// Their encoded bytes.
    pub bytes: u64,
}

impl Transfer {
    pub(crate) fn add(&mut self, chunks: usize) {
        self.chunks += chunks as u64;
        self.bytes += (chunks * ENTRY_LEN) as u64;
    }
}

/// What a migration did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MigrateReport {
    /// The finished thread's value (read it from the VM's store, which
    /// holds its chunks now); `None` when the node handed the thread back
    /// and `*vm` is that thread, ready to run on.
    pub finished: Option<Value>,
    /// Chunks sent with the `Migrate`.
    pub sent_ahead: Transfer,
    /// Chunks the node asked for.
    pub fetched: Transfer,
    /// Chunks sent with the answers beyond those asked for.
    pub prefetched: Transfer,
    /// Chunks the node sent back.
    pub returned: Transfer,
    /// The node's `Fetch`es (round trips).
    pub round_trips: u64,
    /// Code chunks sent in all (ahead and with answers).
    pub code_sent: u64,
    /// Chunks that crossed the wire more than once in this migration (the
    /// node asked again for a chunk it had received).
    pub resent: u64,
    /// From the node receiving the `Migrate` to its first instruction.
    pub to_first_instruction: Duration,
    /// From sending the `Migrate` to taking in the `Done`.
    pub total: Duration,
    /// Instructions the thread ran on the node.
    pub instructions: u64,
    /// Lines the node printed (handed to `on_line`).
    pub lines: u64,
}

/// Why a migration failed.
#[derive(Debug)]
pub enum MigrateFailure {
    /// The connection failed, timed out or was lost, or the node broke the
    /// protocol.
    Transport(TransportError),
    /// The node refused or could not run the thread (it is stopping, the
    /// thread does not restore there, a chunk could not be fetched).
    Node(String),
    /// The program failed on the node: a runtime error.
    Program(String),
    /// The node's answer does not make a thread or a value.
    BadAnswer(String),
}

/// A failed migration: why, and how many lines the node printed before.
#[derive(Debug)]
pub struct MigrateError {
    /// Why.
    pub failure: MigrateFailure,
    /// Lines already handed to `on_line`.
    pub lines: u64,
}

impl MigrateError {
    /// Whether the client's thread is still good to run locally: always,
    /// unless the program itself failed (it would fail the same way).
    pub fn thread_is_good(&self) -> bool {
        !matches!(self.failure, MigrateFailure::Program(_))
    }

    /// Lines the node printed before the failure (already handed to
    /// `on_line`): a local run prints them again unless it skips them.
    pub fn lines_delivered(&self) -> u64 {
        self.lines
    }
}

impl fmt::Display for MigrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            MigrateFailure::Transport(e) => write!(f, "migration failed: {e}"),
            MigrateFailure::Node(e) => write!(f, "the node could not run the thread: {e}"),
            MigrateFailure::Program(e) => f.write_str(e),
            MigrateFailure::BadAnswer(e) => write!(f, "the node's answer is malformed: {e}"),
        }
    }
}

impl std::error::Error for MigrateError {}

/// Migrates the thread of `vm` (stopped at a safe point, or started and not
/// yet run) to the node of `client`: materializes it, sends the `Migrate`
/// with the policy's chunks, answers the node's fetches from `vm`'s store,
/// hands each line the node prints to `on_line`. On the node's `Done` the
/// chunks it sent are taken into `vm`; a finished thread's value is
/// [`MigrateReport::finished`], and a thread handed back replaces `*vm`
/// (with its limits; its output goes to standard output until the caller
/// sets it again with [`Vm::set_output`]).
pub async fn migrate(
    client: &Client,
    vm: &mut Vm,
    options: &MigrateOptions,
    mut on_line: impl FnMut(String),
) -> Result<MigrateReport, MigrateError> {
    let started = Instant::now();
    let root = vm.materialize();
    let mut policy = Policy::new(
        options.prefetch,
        root,
        client.code_sent(),
        client.limits().max_message,
    );
    let fail = |failure, lines| MigrateError { failure, lines };
    let ahead = policy
        .ahead(vm.store())
        .map_err(|e| fail(MigrateFailure::BadAnswer(e), 0))?;
    let mut report = MigrateReport::default();
    report.sent_ahead.add(ahead.len());
    let mut code_sent: Vec<ChunkId> = ahead
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| id.is_code())
        .collect();
    let mut lines = 0u64;
    let mut seen: IdSet = ahead.iter().map(|(id, _)| *id).collect();
    let mut resent = 0u64;
    let outcome = {
        let seen = &mut seen;
        let resent = &mut resent;
        let store = vm.store();
        let report = &mut report;
        let code_sent = &mut code_sent;
        let lines = &mut lines;
        client
            .migrate(
                root,
                ahead,
                options.run_for,
                |ids| {
                    let answer = policy.answer(store, ids)?;
                    report.round_trips += 1;
                    report.fetched.add(answer.asked);
                    report.prefetched.add(answer.extra());
                    for (id, _) in &answer.chunks {
                        if !seen.insert(*id) {
                            *resent += 1;
                        }
                    }
                    code_sent.extend(
                        answer
                            .chunks
                            .iter()
                            .map(|(id, _)| *id)
                            .filter(|id| id.is_code()),
                    );
                    Ok(answer.chunks)
                },
                |line| {
                    *lines += 1;
                    on_line(line)
                },
            )
            .await
    };
    report.lines = lines;
    report.resent = resent;
    report.code_sent = code_sent.len() as u64;
    let (root, chunks, instructions, value, started_us) = match outcome {
        Ok(Outcome::Done {
            root,
            chunks,
            instructions,
            value,
            started_us,
        }) => (root, chunks, instructions, value, started_us),
        Ok(Outcome::Failed { message }) => {
            return Err(fail(MigrateFailure::Program(message), lines))
        }
        Err(TransportError::Remote { message, .. }) => {
            return Err(fail(MigrateFailure::Node(message), lines))
        }
        Err(e) => return Err(fail(MigrateFailure::Transport(e), lines)),
    };
    client.remember_code(code_sent);
    report.returned.add(chunks.len());
    report.instructions = instructions.saturating_sub(vm.instructions());
    report.to_first_instruction = Duration::from_micros(started_us);
    report.finished =
        take_back(vm, root, chunks, instructions, &value).map_err(|f| fail(f, lines))?;
    report.total = started.elapsed();
    Ok(report)
}

/// Takes a node's `Done` into `vm`: a thread handed back (`value` empty)
/// replaces `*vm`, restored over a copy of its store so that `vm` stays good
/// if it does not restore; a finished thread's chunks join `vm`'s store and
/// its value is returned.
pub(crate) fn take_back(
    vm: &mut Vm,
    root: ChunkId,
    chunks: crate::wire::ChunkList,
    instructions: u64,
    value: &[u8],
) -> Result<Option<Value>, MigrateFailure> {
    if value.is_empty() {
        let mut store = vm.store().clone();
        for (id, chunk) in chunks {
            store.insert(id, chunk);
        }
        let back = Vm::restore(store, root).map_err(|e: ThreadError| {
            MigrateFailure::BadAnswer(format!("the thread handed back does not restore: {e}"))
        })?;
        if back.instructions() != instructions {
            return Err(MigrateFailure::BadAnswer(format!(
                "the thread handed back ran {} instructions, the node said {instructions}",
                back.instructions()
            )));
        }
        *vm = back;
        Ok(None)
    } else {
        let value = decode_value(value).map_err(|e| MigrateFailure::BadAnswer(e.to_string()))?;
        vm.absorb(chunks);
        Ok(Some(value))
    }
}

/// A writer that drops the first lines written to it and passes the rest
/// to the writer it wraps: how a thread resumed locally after a failed
/// migration leaves out the lines the node printed already.
pub struct SkipLines<W> {
    skip: u64,
    inner: W,
}

impl<W: Write> SkipLines<W> {
    /// Drops the first `skip` lines, then writes to `inner`.
    pub fn new(skip: u64, inner: W) -> SkipLines<W> {
        SkipLines { skip, inner }
    }
}

impl<W: Write> Write for SkipLines<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while self.skip > 0 && !rest.is_empty() {
            match rest.iter().position(|b| *b == b'\n') {
                Some(end) => {
                    self.skip -= 1;
                    rest = &rest[end + 1..];
                }
                None => rest = &[],
            }
        }
        if !rest.is_empty() {
            self.inner.write_all(rest)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_lines_drops_whole_lines() {
        let mut out = SkipLines::new(2, Vec::new());
        out.write_all(b"one\ntw").unwrap();
        out.write_all(b"o\nthree\nfour\n").unwrap();
        assert_eq!(out.inner, b"three\nfour\n");
    }
}
