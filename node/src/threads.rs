//! The node's thread table: every thread a node holds, whoever sent it.
//!
//! A thread is in the table from the moment a conversation brings it (a
//! client's `Migrate`, a debugger's `Debug`) until it is over; a thread
//! parked by a debugger ([`crate::wire::DebugAsk::Park`]) stays after its
//! end, with its result and the lines it printed, for a later look
//! (`chunkvm threads`, an `attach` that finds it ended). Each has a
//! node-local id (the number `DebugPause` and `Attach` name), the function
//! or filter it runs, the client that owns it and its state.
//!
//! What is kept of parked threads is bounded: at most [`MAX_ENDED`] ended
//! threads (the oldest go first), each for at most [`KEEP_ENDED`], and at
//! most [`MAX_LINES`] lines of a parked thread's output (the first ones; a
//! note says how many more it printed).

use std::fmt;
use std::time::Duration;

/// How many ended (parked) threads a node keeps in its table.
pub const MAX_ENDED: usize = 32;

/// How long a node keeps an ended (parked) thread in its table.
pub const KEEP_ENDED: Duration = Duration::from_secs(600);

/// How many lines of a parked thread's output a node keeps.
pub const MAX_LINES: usize = 1000;

/// What a thread of the table is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadState {
    /// Running for the client that migrated it (or being restored).
    Running,
    /// Held stopped by the debugger that sent it (`Debug`).
    Debugged,
    /// Stopped under a debugger that attached to it.
    Attached,
    /// Running on the node with nobody waiting for it: a debugger parked it.
    Parked,
    /// A parked thread that ended: its result and output are kept.
    Ended,
}

impl ThreadState {
    /// Its byte on the wire.
    pub(crate) fn byte(self) -> u8 {
        match self {
            ThreadState::Running => 0,
            ThreadState::Debugged => 1,
            ThreadState::Attached => 2,
            ThreadState::Parked => 3,
            ThreadState::Ended => 4,
        }
    }

    /// The state of a wire byte.
    pub(crate) fn from_byte(byte: u8) -> Option<ThreadState> {
        Some(match byte {
            0 => ThreadState::Running,
            1 => ThreadState::Debugged,
            2 => ThreadState::Attached,
            3 => ThreadState::Parked,
            4 => ThreadState::Ended,
            _ => return None,
        })
    }
}

impl fmt::Display for ThreadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ThreadState::Running => "running",
            ThreadState::Debugged => "stopped under its debugger",
            ThreadState::Attached => "stopped under an attached debugger",
            ThreadState::Parked => "parked",
            ThreadState::Ended => "ended",
        })
    }
}

/// One thread of a node's table, as `Threads` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    /// Its node-local id.
    pub id: u64,
    /// The function, filter or pipeline stage it runs (its outermost
    /// frame); empty while it is being restored.
    pub name: String,
    /// The client that sent it: its address and node id (`127.0.0.1:50712
    /// node 1`); for a parked thread, the debugger that parked it.
    pub owner: String,
    /// What it is doing.
    pub state: ThreadState,
    /// Its instruction count when the node last looked (at its start, at
    /// each stop under a debugger, at its end).
    pub instructions: u64,
    /// An ended thread's result (its value, or the error that ended it);
    /// empty otherwise.
    pub result: String,
    /// The lines a parked thread printed (at most [`MAX_LINES`]).
    pub output: Vec<String>,
}

impl fmt::Display for ThreadInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.name.is_empty() {
            "(restoring)"
        } else {
            &self.name
        };
        write!(f, "{} {name} ({}) from {}", self.id, self.state, self.owner)?;
        if !self.result.is_empty() {
            write!(f, ": {}", self.result)?;
        }
        Ok(())
    }
}

/// The threads of `list` for a message: `1 main (running), 2 blur (parked)`,
/// or `none`.
pub fn summary(list: &[ThreadInfo]) -> String {
    if list.is_empty() {
        return "none".to_string();
    }
    list.iter()
        .map(|t| format!("{} {} ({})", t.id, t.name, t.state))
        .collect::<Vec<_>>()
        .join(", ")
}
