//! The bodies of the debug messages: what a client asks about the thread of a
//! debug session ([`DebugAsk`]) and what the node answers ([`DebugAnswer`]).
//!
//! Each is a one-byte kind followed by its fields, in the encoding of the
//! other messages ([`crate::wire`]): integers little endian, strings and
//! lists with a `u32` count. A value is [`crate::wire::encode_value`]'s
//! encoding (inline, not as bytes), a type the core's type words
//! ([`chunkvm::compile::chunks::encode_type`]) as a `u32` count of `u64`s, a
//! span two `u64`s (start, end), a step kind one byte (0 instruction, 1 over,
//! 2 into, 3 out).
//!
//! | kind | ask | fields | answer |
//! |------|-----|--------|--------|
//! | 0 | `Breakpoints` | lines (`u32` each) | `Ok` |
//! | 1 | `Resume` | step: 0 (continue) or 1 and a step kind | `Stopped`, or `Done` when the thread finished |
//! | 2 | `Stack` | | `Stack` |
//! | 3 | `Locals` | frame u32 | `Variables` |
//! | 4 | `Params` | | `Variables` |
//! | 5 | `SetLocal` | frame u32, name string, value | `Ok` |
//! | 6 | `SetParam` | name string, value | `Ok` |
//! | 7 | `Chunks` | | `Chunks` |
//! | 8 | `HandBack` | | `Done` (the thread, handed back; the session ends) |
//! | 9 | `InstructionBreakpoints` | a count of (function u32, offset u32) | `Ok` |
//! | 10 | `Detach` | | `Ok`; the thread runs on for its owner (an attached thread) and the session ends |
//! | 11 | `Terminate` | | `Ok`; the thread ends, its owner gets `Failed` ("ended by a debugger at ...") |
//! | 12 | `Park` | | `Ok` once the node holds every chunk of the thread; it runs on, parked on the node, and the session ends |
//!
//! | kind | answer | fields |
//! |------|--------|--------|
//! | 0 | `Ok` | |
//! | 1 | `Opened` | thread u64, instructions u64, started_us u64 |
//! | 2 | `Stopped` | stop, instructions u64: a stop is 0 breakpoint, 1 step, 2 paused, or 3 error: kind u8, message string, span, trace (a count of name string and span) |
//! | 3 | `Stack` | frames: function string, span, line u32, pc u32, block id u64, block index u32, pixel (u8 0, or 1 then x u32, y u32) |
//! | 4 | `Variables` | variables: name string, type, value, is_param bool |
//! | 5 | `Chunks` | root id, chunks: id u64, kind string, slots_used u32, links (ids), residence u8 (0 sent ahead, 1 fetched, 2 made on the node, 3 not on the node) |
//! | 6 | `Attached` | thread u64, instructions u64, program id u64, name string, source string |

use chunkvm::chunk::ChunkId;
use chunkvm::compile::chunks::{decode_type, encode_type};
use chunkvm::exec::{ErrorKind, RuntimeError, StepKind, Value};
use chunkvm::syntax::span::Span;
use chunkvm::types::Type;

use crate::wire::{Reader, WireError, Writer};

/// What a client asks about (or orders to) the thread of a debug session.
#[derive(Clone, PartialEq, Debug)]
pub enum DebugAsk {
    /// Sets the breakpoints to these 1-based lines.
    Breakpoints {
        /// The lines.
        lines: Vec<u32>,
    },
    /// Runs the thread until something stops it (`step` none), or one step.
    Resume {
        /// The step, if one.
        step: Option<StepKind>,
    },
    /// The stopped thread's frames.
    Stack,
    /// The locals and parameters of frame `frame` (0: innermost).
    Locals {
        /// The frame.
        frame: u32,
    },
    /// The file's `param` values.
    Params,
    /// Sets a local or parameter of a frame (a scalar).
    SetLocal {
        /// The frame.
        frame: u32,
        /// The local's name.
        name: String,
        /// Its new value.
        value: Value,
    },
    /// Sets a `param` of the file.
    SetParam {
        /// The param's name.
        name: String,
        /// Its new value.
        value: Value,
    },
    /// The chunks reachable from the thread, and where they are.
    Chunks,
    /// Hands the thread back: the node answers `Done` and ends the session.
    HandBack,
    /// Sets the instruction breakpoints: function index and code offset.
    InstructionBreakpoints {
        /// The instructions.
        at: Vec<(u32, u32)>,
    },
    /// Ends an attached session: the thread runs on for its owner, as if
    /// nobody had attached (its breakpoints cleared).
    Detach,
    /// Ends the thread where it stopped: its owner gets `Failed` ("ended
    /// by a debugger at ...").
    Terminate,
    /// Ends a launched session and leaves the thread on the node: the node
    /// first fetches every chunk reachable from the thread (none is left only
    /// at the client), then runs it on, parked, keeping its result and
    /// output in its thread table.
    Park,
}

/// Why a thread of a debug session stopped.
#[derive(Clone, PartialEq, Debug)]
pub enum RemoteStop {
    /// On a breakpoint's line.
    Breakpoint,
    /// A step ended.
    Step,
    /// Paused (`DebugPause`).
    Paused,
    /// A runtime error of the program; its frames are kept.
    Error(RuntimeError),
}

/// A frame of a stopped thread (the core's `FrameInfo` on the wire).
pub type WireFrame = chunkvm::exec::FrameInfo;

/// A local, parameter or param (the core's `Variable` on the wire).
pub type WireVariable = chunkvm::exec::Variable;

/// Where a chunk of a thread held by a node is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Residence {
    /// Sent to the node with the thread, before it was asked for.
    SentAhead,
    /// Fetched by the node when the thread needed it.
    Fetched,
    /// Made or changed on the node.
    Made,
    /// Not on the node: only the client has it.
    NotThere,
}

/// One chunk reachable from a thread held by a node.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ChunkInfo {
    /// Its id.
    pub id: ChunkId,
    /// Its kind (`Thread`, `Block`...), empty when the node does not have it.
    pub kind: String,
    /// Slots in use (a link or a non-zero scalar).
    pub slots_used: u32,
    /// Its links (nil left out).
    pub links: Vec<ChunkId>,
    /// Where it is.
    pub residence: Residence,
}

/// The node's answer to a [`DebugAsk`] (or to the `Debug` that opens a session).
#[derive(Clone, PartialEq, Debug)]
pub enum DebugAnswer {
    /// Done.
    Ok,
    /// The session is open: the thread is on the node, stopped.
    Opened {
        /// The thread's number on the node (for `DebugPause`).
        thread: u64,
        /// Its instruction count.
        instructions: u64,
        /// Microseconds from the `Debug` to the thread being ready.
        started_us: u64,
    },
    /// The thread stopped.
    Stopped {
        /// Why.
        stop: RemoteStop,
        /// Its instruction count.
        instructions: u64,
    },
    /// The frames, innermost first.
    Stack(Vec<WireFrame>),
    /// Variables.
    Variables(Vec<WireVariable>),
    /// An `Attach` was served: the thread is stopped at a safe point and
    /// the session is open.
    Attached {
        /// The thread's number on the node.
        thread: u64,
        /// Its instruction count.
        instructions: u64,
        /// Its program's root code chunk (content-addressed: compiling the
        /// same source gives the same id).
        program: ChunkId,
        /// The function or filter it runs.
        name: String,
        /// The program's source as the node has it (empty: none).
        source: String,
    },
    /// The chunks reachable from the thread's root.
    Chunks {
        /// The Thread chunk, written at this stop.
        root: ChunkId,
        /// The chunks.
        chunks: Vec<ChunkInfo>,
    },
}

fn step_byte(kind: StepKind) -> u8 {
    match kind {
        StepKind::Instruction => 0,
        StepKind::Over => 1,
        StepKind::Into => 2,
        StepKind::Out => 3,
    }
}

fn error_kind_byte(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Failed => 0,
        ErrorKind::Budget => 1,
        ErrorKind::Quota => 2,
        ErrorKind::Depth => 3,
        ErrorKind::Cancelled => 4,
        ErrorKind::OutputClosed => 5,
        ErrorKind::Missing => 6,
    }
}

impl Writer<'_> {
    fn u32_list(&mut self, items: &[u32]) {
        self.count(items.len());
        for item in items {
            self.u32(*item);
        }
    }

    fn span(&mut self, span: Span) {
        self.u64(span.start as u64);
        self.u64(span.end as u64);
    }

    fn ty(&mut self, ty: &Type) {
        let mut words = Vec::new();
        encode_type(ty, &mut words);
        self.count(words.len());
        for word in words {
            self.u64(word);
        }
    }

    fn ids(&mut self, ids: &[ChunkId]) {
        self.count(ids.len());
        for id in ids {
            self.u64(id.0);
        }
    }
}

impl Reader<'_> {
    fn u32_list(&mut self) -> Result<Vec<u32>, WireError> {
        let n = self.count(4)?;
        (0..n).map(|_| self.u32()).collect()
    }

    fn span(&mut self) -> Result<Span, WireError> {
        let start = self.u64()?;
        let end = self.u64()?;
        Ok(Span::new(
            usize::try_from(start).unwrap_or(usize::MAX),
            usize::try_from(end).unwrap_or(usize::MAX),
        ))
    }

    fn ty(&mut self) -> Result<Type, WireError> {
        let at = self.pos;
        let n = self.count(8)?;
        let words = (0..n).map(|_| self.u64()).collect::<Result<Vec<_>, _>>()?;
        decode_type(&words, ChunkId::NIL).map_err(|_| WireError::BadValue {
            at,
            why: "not a type",
        })
    }

    fn ids(&mut self) -> Result<Vec<ChunkId>, WireError> {
        let n = self.count(8)?;
        (0..n).map(|_| self.u64().map(ChunkId)).collect()
    }

    fn step_kind(&mut self) -> Result<StepKind, WireError> {
        let at = self.pos;
        Ok(match self.u8()? {
            0 => StepKind::Instruction,
            1 => StepKind::Over,
            2 => StepKind::Into,
            3 => StepKind::Out,
            _ => {
                return Err(WireError::BadValue {
                    at,
                    why: "not a step kind",
                })
            }
        })
    }

    fn error_kind(&mut self) -> Result<ErrorKind, WireError> {
        let at = self.pos;
        Ok(match self.u8()? {
            0 => ErrorKind::Failed,
            1 => ErrorKind::Budget,
            2 => ErrorKind::Quota,
            3 => ErrorKind::Depth,
            4 => ErrorKind::Cancelled,
            5 => ErrorKind::OutputClosed,
            6 => ErrorKind::Missing,
            _ => {
                return Err(WireError::BadValue {
                    at,
                    why: "not an error kind",
                })
            }
        })
    }

    /// A kind byte and where it is.
    fn kind_byte(&mut self) -> Result<(usize, u8), WireError> {
        let at = self.pos;
        Ok((at, self.u8()?))
    }
}

impl DebugAsk {
    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        match self {
            DebugAsk::Breakpoints { lines } => {
                w.out.push(0);
                w.u32_list(lines);
            }
            DebugAsk::Resume { step } => {
                w.out.push(1);
                match step {
                    None => w.out.push(0),
                    Some(kind) => {
                        w.out.push(1);
                        w.out.push(step_byte(*kind));
                    }
                }
            }
            DebugAsk::Stack => w.out.push(2),
            DebugAsk::Locals { frame } => {
                w.out.push(3);
                w.u32(*frame);
            }
            DebugAsk::Params => w.out.push(4),
            DebugAsk::SetLocal { frame, name, value } => {
                w.out.push(5);
                w.u32(*frame);
                w.str(name);
                w.value(value);
            }
            DebugAsk::SetParam { name, value } => {
                w.out.push(6);
                w.str(name);
                w.value(value);
            }
            DebugAsk::Chunks => w.out.push(7),
            DebugAsk::HandBack => w.out.push(8),
            DebugAsk::InstructionBreakpoints { at } => {
                w.out.push(9);
                w.count(at.len());
                for (func, pc) in at {
                    w.u32(*func);
                    w.u32(*pc);
                }
            }
            DebugAsk::Detach => w.out.push(10),
            DebugAsk::Terminate => w.out.push(11),
            DebugAsk::Park => w.out.push(12),
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<DebugAsk, WireError> {
        let (at, kind) = r.kind_byte()?;
        Ok(match kind {
            0 => DebugAsk::Breakpoints {
                lines: r.u32_list()?,
            },
            1 => DebugAsk::Resume {
                step: if r.bool()? {
                    Some(r.step_kind()?)
                } else {
                    None
                },
            },
            2 => DebugAsk::Stack,
            3 => DebugAsk::Locals { frame: r.u32()? },
            4 => DebugAsk::Params,
            5 => DebugAsk::SetLocal {
                frame: r.u32()?,
                name: r.string()?,
                value: r.value(0)?,
            },
            6 => DebugAsk::SetParam {
                name: r.string()?,
                value: r.value(0)?,
            },
            7 => DebugAsk::Chunks,
            8 => DebugAsk::HandBack,
            9 => {
                let n = r.count(8)?;
                let mut at = Vec::with_capacity(n);
                for _ in 0..n {
                    at.push((r.u32()?, r.u32()?));
                }
                DebugAsk::InstructionBreakpoints { at }
            }
            10 => DebugAsk::Detach,
            11 => DebugAsk::Terminate,
            12 => DebugAsk::Park,
            _ => {
                return Err(WireError::BadValue {
                    at,
                    why: "not a debug ask",
                })
            }
        })
    }
}

impl DebugAnswer {
    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        match self {
            DebugAnswer::Ok => w.out.push(0),
            DebugAnswer::Opened {
                thread,
                instructions,
                started_us,
            } => {
                w.out.push(1);
                w.u64(*thread);
                w.u64(*instructions);
                w.u64(*started_us);
            }
            DebugAnswer::Stopped { stop, instructions } => {
                w.out.push(2);
                match stop {
                    RemoteStop::Breakpoint => w.out.push(0),
                    RemoteStop::Step => w.out.push(1),
                    RemoteStop::Paused => w.out.push(2),
                    RemoteStop::Error(err) => {
                        w.out.push(3);
                        w.out.push(error_kind_byte(err.kind));
                        w.str(&err.message);
                        w.span(err.span);
                        w.count(err.trace.len());
                        for (name, span) in &err.trace {
                            w.str(name);
                            w.span(*span);
                        }
                    }
                }
                w.u64(*instructions);
            }
            DebugAnswer::Stack(frames) => {
                w.out.push(3);
                w.count(frames.len());
                for frame in frames {
                    w.str(&frame.function);
                    w.span(frame.span);
                    w.u32(frame.line);
                    w.u32(frame.pc);
                    w.u64(frame.block.0 .0);
                    w.u32(frame.block.1);
                    match frame.pixel {
                        Some((x, y)) => {
                            w.out.push(1);
                            w.u32(x);
                            w.u32(y);
                        }
                        None => w.out.push(0),
                    }
                }
            }
            DebugAnswer::Variables(vars) => {
                w.out.push(4);
                w.count(vars.len());
                for var in vars {
                    w.str(&var.name);
                    w.ty(&var.ty);
                    w.value(&var.value);
                    w.out.push(u8::from(var.is_param));
                }
            }
            DebugAnswer::Chunks { root, chunks } => {
                w.out.push(5);
                w.u64(root.0);
                w.count(chunks.len());
                for chunk in chunks {
                    w.u64(chunk.id.0);
                    w.str(&chunk.kind);
                    w.u32(chunk.slots_used);
                    w.ids(&chunk.links);
                    w.out.push(match chunk.residence {
                        Residence::SentAhead => 0,
                        Residence::Fetched => 1,
                        Residence::Made => 2,
                        Residence::NotThere => 3,
                    });
                }
            }
            DebugAnswer::Attached {
                thread,
                instructions,
                program,
                name,
                source,
            } => {
                w.out.push(6);
                w.u64(*thread);
                w.u64(*instructions);
                w.u64(program.0);
                w.str(name);
                w.str(source);
            }
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<DebugAnswer, WireError> {
        let (at, kind) = r.kind_byte()?;
        Ok(match kind {
            0 => DebugAnswer::Ok,
            1 => DebugAnswer::Opened {
                thread: r.u64()?,
                instructions: r.u64()?,
                started_us: r.u64()?,
            },
            2 => {
                let (at, stop) = r.kind_byte()?;
                let stop = match stop {
                    0 => RemoteStop::Breakpoint,
                    1 => RemoteStop::Step,
                    2 => RemoteStop::Paused,
                    3 => {
                        let kind = r.error_kind()?;
                        let message = r.string()?;
                        let span = r.span()?;
                        // A name (4 bytes at least) and a span (16) per entry.
                        let n = r.count(20)?;
                        let mut trace = Vec::with_capacity(n);
                        for _ in 0..n {
                            trace.push((r.string()?, r.span()?));
                        }
                        RemoteStop::Error(RuntimeError {
                            kind,
                            message,
                            span,
                            trace,
                        })
                    }
                    _ => {
                        return Err(WireError::BadValue {
                            at,
                            why: "not a stop",
                        })
                    }
                };
                DebugAnswer::Stopped {
                    stop,
                    instructions: r.u64()?,
                }
            }
            3 => {
                // function (4), span (16), line, pc (8), block (12), pixel flag (1).
                let n = r.count(41)?;
                let mut frames = Vec::with_capacity(n);
                for _ in 0..n {
                    frames.push(WireFrame {
                        function: r.string()?,
                        span: r.span()?,
                        line: r.u32()?,
                        pc: r.u32()?,
                        block: (ChunkId(r.u64()?), r.u32()?),
                        pixel: if r.bool()? {
                            Some((r.u32()?, r.u32()?))
                        } else {
                            None
                        },
                    });
                }
                DebugAnswer::Stack(frames)
            }
            4 => {
                // name (4), type (4 + 8), value (1), bool (1).
                let n = r.count(18)?;
                let mut vars = Vec::with_capacity(n);
                for _ in 0..n {
                    vars.push(WireVariable {
                        name: r.string()?,
                        ty: r.ty()?,
                        value: r.value(0)?,
                        is_param: r.bool()?,
                    });
                }
                DebugAnswer::Variables(vars)
            }
            5 => {
                let root = ChunkId(r.u64()?);
                // id (8), kind (4), slots (4), links (4), residence (1).
                let n = r.count(21)?;
                let mut chunks = Vec::with_capacity(n);
                for _ in 0..n {
                    let id = ChunkId(r.u64()?);
                    let kind = r.string()?;
                    let slots_used = r.u32()?;
                    let links = r.ids()?;
                    let (at, residence) = r.kind_byte()?;
                    let residence = match residence {
                        0 => Residence::SentAhead,
                        1 => Residence::Fetched,
                        2 => Residence::Made,
                        3 => Residence::NotThere,
                        _ => {
                            return Err(WireError::BadValue {
                                at,
                                why: "not a residence",
                            })
                        }
                    };
                    chunks.push(ChunkInfo {
                        id,
                        kind,
                        slots_used,
                        links,
                        residence,
                    });
                }
                DebugAnswer::Chunks { root, chunks }
            }
            6 => DebugAnswer::Attached {
                thread: r.u64()?,
                instructions: r.u64()?,
                program: ChunkId(r.u64()?),
                name: r.string()?,
                source: r.string()?,
            },
            _ => {
                return Err(WireError::BadValue {
                    at,
                    why: "not a debug answer",
                })
            }
        })
    }
}
