//! What goes wrong in a thread: [`RuntimeError`] and its [`ErrorKind`], the
//! interpreter's [`Fault`] before it is placed in the source, and the [`CallError`]
//! of a param value or a call refused.

use super::*;

/// An error while running: what, where, and the Chop stack.
#[derive(Clone, Debug, PartialEq)]
pub struct RuntimeError {
    /// What kind of failure it is (a caller acts on some: a closed output, a cancel).
    pub kind: ErrorKind,
    /// What went wrong.
    pub message: String,
    /// The instruction's source span (in the innermost frame).
    pub span: Span,
    /// The Chop frames, innermost first: function name and source span.
    pub trace: Vec<(String, Span)>,
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuntimeError {}

/// What kind of failure ended a thread. The message says the rest; callers match on
/// the kind, never on the message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ErrorKind {
    /// The program failed: a division by zero, an index out of range, a chunk that is
    /// not what the code expects...
    #[default]
    Failed,
    /// The instruction budget ran out.
    Budget,
    /// The thread would hold more chunks than its quota.
    Quota,
    /// Calls nested deeper than the depth limit.
    Depth,
    /// The cancel flag was set ([`Vm::set_cancel`]).
    Cancelled,
    /// A `print` found its output closed (`chunkvm run x.chop | head -1`): the command
    /// line ends quietly on it.
    OutputClosed,
    /// A chunk the thread needs is not in its store, and no fetcher brought it (see
    /// [`Vm::set_fetch`]).
    Missing,
}

/// A failure inside the interpreter before it is placed in the source: the loop makes
/// it a [`RuntimeError`] at the instruction that raised it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fault {
    kind: ErrorKind,
    message: String,
    /// The chunk that was not in the store, when that is the fault: a thread with a
    /// fetcher fetches it and runs the instruction again.
    pub(crate) missing: Option<ChunkId>,
}

impl Fault {
    pub(super) fn new(kind: ErrorKind, message: impl Into<String>) -> Fault {
        Fault {
            kind,
            message: message.into(),
            missing: None,
        }
    }
}

impl From<StoreError> for Fault {
    fn from(err: StoreError) -> Fault {
        let missing = match &err {
            StoreError::Missing(id) if !id.is_nil() => Some(*id),
            _ => None,
        };
        let mut fault = Fault::new(ErrorKind::Failed, err.to_string());
        fault.missing = missing;
        fault
    }
}

impl From<String> for Fault {
    fn from(message: String) -> Fault {
        Fault::new(ErrorKind::Failed, message)
    }
}

impl From<&str> for Fault {
    fn from(message: &str) -> Fault {
        Fault::new(ErrorKind::Failed, message)
    }
}

/// Why [`Vm::set_global`] or [`Vm::start`] refused a param value or a call.
#[derive(Clone, Debug, PartialEq)]
pub enum CallError {
    /// The program has no param of that name.
    UnknownParam {
        /// The name asked for.
        name: String,
    },
    /// The value is not of the param's type.
    ParamType {
        /// The param.
        name: String,
        /// Its type.
        ty: Type,
        /// The kind of value given (`int`, `color`...).
        given: &'static str,
    },
    /// The program has no function of that index.
    UnknownFunction(u32),
    /// No local or parameter of that name is in scope in that frame.
    UnknownLocal {
        /// The name asked for.
        name: String,
        /// The frame (0: innermost).
        frame: usize,
    },
    /// A local of this type cannot be set by hand (arrays, images, closures).
    NotSettable {
        /// The local.
        name: String,
        /// Its type.
        ty: Type,
    },
    /// The call has too many or too few arguments.
    ArgCount {
        /// The function.
        function: String,
        /// The parameters it takes.
        wants: usize,
        /// The arguments given.
        given: usize,
    },
    /// An argument is not of its parameter's type.
    ArgType {
        /// The parameter.
        name: String,
        /// Its type.
        ty: Type,
        /// The kind of value given.
        given: &'static str,
    },
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::UnknownParam { name } => write!(f, "no param `{name}`"),
            CallError::UnknownLocal { name, frame } => {
                write!(f, "no local `{name}` in scope in frame {frame}")
            }
            CallError::NotSettable { name, ty } => write!(
                f,
                "`{name}` is {ty}: only int, float, bool and color locals can be set"
            ),
            CallError::ParamType { name, ty, given } => {
                write!(f, "param `{name}` is a {ty}, not a {given}")
            }
            CallError::UnknownFunction(func) => write!(f, "no function {func}"),
            CallError::ArgCount {
                function,
                wants,
                given,
            } => write!(
                f,
                "`{function}` takes {}, not {given}",
                crate::diag::plural(*wants as u64, "argument")
            ),
            CallError::ArgType { name, ty, given } => {
                write!(f, "parameter `{name}` wants {ty}, not {given}")
            }
        }
    }
}

impl std::error::Error for CallError {}

impl Vm {
    /// A runtime error at code offset `pc` of the innermost frame.
    pub(crate) fn error_at(&self, pc: u32, fault: impl Into<Fault>) -> RuntimeError {
        let Fault { kind, message, .. } = fault.into();
        let mut trace = Vec::new();
        let depth = self.frames.len();
        for (idx, frame) in self.frames.iter().enumerate().rev() {
            let at = if idx + 1 == depth {
                pc
            } else {
                frame.pc.saturating_sub(1)
            };
            let lf = &self.loaded.funcs[frame.func as usize];
            let span = lf.spans.get(at as usize).copied().unwrap_or_default();
            trace.push((
                self.loaded.program.functions[frame.func as usize]
                    .name
                    .clone(),
                span,
            ));
        }
        RuntimeError {
            kind,
            message,
            span: trace.first().map(|it| it.1).unwrap_or_default(),
            trace,
        }
    }
}
