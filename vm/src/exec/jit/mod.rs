//! The JIT: hot straight-line code of block chunks compiled to machine code with
//! cranelift (cargo feature `jit`, on by default).
//!
//! *What is compiled.* A *segment* is a run of instructions of one block that are plain
//! scalar register operations (int, float and bool arithmetic and comparisons, moves,
//! constants: [`compiles`]), with the block's terminating jump or branch when it is one
//! of those ([`is_jump`]). A *region* is the segment that starts where the interpreter
//! entered compiled code, with every segment it reaches through its branches inside the
//! same function (at most [`MAX_SEGMENTS`]): a loop of such blocks runs in machine code
//! from one iteration to the next. Everything else (other calls, the store, printing,
//! pixels, colours, globals, the pure builtins) stays in the interpreter: a region ends
//! before such an instruction and hands the thread back with the next code offset.
//!
//! *Calls of itself.* A function's `Call` of itself (recursion: fib) ends a segment as
//! a jump does, and so does a scalar `Ret`, when the function makes no environment and
//! the cache is not a debugger's ([`SelfCalls`]); the call's targets are the function's
//! entry and the instruction after the call, where its return goes on. A region that
//! holds such a call keeps the registers in memory (the thread's register vector, from
//! the current frame's base) and pushes and pops the thread's frames itself, as the
//! interpreter does: a call writes the caller's pc and the callee's frame (function, pc
//! 0, bases, no environment) into the frame vector and moves the base; a return in a
//! frame the region pushed writes the result to register 0, pops, and goes on at the
//! caller's pc (one of the region's calls: the instruction after it). So at every way
//! out the thread is exactly the interpreter's at that instruction: frames, registers,
//! count; the interpreter takes its bases from the top frame when the frames changed.
//! Where the interpreter's call would do more, the region leaves before the call and the
//! interpreter runs it: the depth limit reached (its error, at the call), registers to
//! grow (the callee's registers beyond the register vector), the frame vector full (its
//! capacity). A return in the frame the region was entered in leaves before it (the
//! caller may be another function, the thread may end). Calls and returns are safe
//! points as jumps are: the segment they end is run only if it fits below `limit` (see
//! below), so no call or return that would have polled runs in compiled code.
//!
//! *Exactness.* Registers are the thread's scalar register file, read through a pointer
//! to the frame's base and written back when the region returns. Integers wrap as the
//! interpreter's (`wrapping_*`; `i64::MIN / -1` is `i64::MIN`, `i64::MIN % -1` is 0);
//! a division or remainder by a zero register leaves the region *before* that instruction
//! so that the interpreter reports the error at its place, with its stack. Floats are the
//! same IEEE operations on f64 (no fused multiply-add, no NaN canonicalization; `!=` is
//! true for NaN as in Rust). A division or remainder by a constant is a multiply by a
//! magic number and shifts (`divide`: cranelift 0.121 would emit the machine's
//! division, which dominated a loop like `i * i % 7`), the same bits as the
//! interpreter's `wrapping_div`/`wrapping_rem`.
//!
//! *Safe points and counts.* The interpreter polls its limits and stop requests at block
//! boundaries, once the instruction count reaches its next check (`check_at`: the budget,
//! a `stop_after`, or the next poll). A region is given the instructions left before that
//! check (`limit`) and runs a segment only if the segment's whole length fits strictly
//! below it (`ran + len < limit`: the instructions left, `limit - ran`, kept in a
//! machine register across the chained blocks of the region, loop iterations included,
//! and compared with `len`); otherwise it returns at that
//! segment's start, and the interpreter runs that segment and polls where it always
//! does. No safe point is crossed in compiled code that would have polled, so budget
//! errors, `stop_after`, pause and cancel land on the same instruction as without the
//! JIT, and instructions are counted one by one as the interpreter counts them.
//!
//! *When.* A code offset where the interpreter enters a block (a branch target, a
//! function's entry, the instruction after a call) is compiled once it was entered
//! [`HOT`] times (counted across the program's threads; [`crate::exec::Vm::set_jit_hot`]
//! changes it per thread). Regions shorter than [`MIN_WORTH`] instructions without a
//! loop are not compiled: calling them costs more than interpreting them.
//!
//! *Entries.* A region is one machine-code function with several entries: every
//! segment of it but one that begins with a return ([`Plan::entries`]; entered there,
//! the return would be in the frame the region was entered in, which it leaves at
//! once). It takes the entry's index and jumps (a jump table) to the first segment or to
//! a copy of the entry's segment that goes on to the region's blocks (so that no block of
//! the hot paths gains a way in, which would cost each of its ways in block parameters).
//! Once compiled, the region is also the code of its other entries' offsets that were
//! not decided yet: they run it from then on, whether hot or not, with no compile of
//! their own (`JitStats::shared`). So a recursive function is compiled once, from the
//! first of its offsets to become hot, and the interpreter's entries after its calls
//! and at its branches' targets run that code (fib: one region, where each entry
//! compiled its own copy before). A region that left before a call or a return (for
//! want of room for the callee, or in its entered frame) is not tried again at that
//! instruction at once (`Exit::again`): it would hand back at once, and that offset
//! would become hot and compile a region of its own for nothing. Entering at another
//! segment changes nothing the region promises: every segment checks its length
//! against `limit` and leaves at its start as the first one does, and a region entered
//! anywhere reads the context and the registers as on any entry.
//!
//! *Cache.* The compiled code belongs to the loaded program ([`crate::exec::Loaded`]):
//! one cache per program, shared by all the threads that run it (a photo's bands, a
//! node's threads of the same code), keyed by function and code offset, which is the
//! block chunk's content id and the offset in it (code chunks are immutable, and a loaded
//! program is its chunks, verified). The machine code is freed with the program. The
//! loaded program was verified (registers, targets in range), and the JIT compiles from
//! its decoded code only; it checks again that the thread's register file covers every
//! register a region touches before running it.
//!
//! *Under a debugger.* A thread whose debugger looks at its instructions (a breakpoint
//! placed, or a step) runs compiled code only while it *continues*: never while it steps
//! (next, step in or out, an instruction), whose look at every instruction can stop it.
//! While it continues, the debugger looks only at the instructions its breakpoints mark
//! (`stop_at` in `exec::debug`: a line breakpoint's line starts, instruction
//! breakpoints; a conditional breakpoint, a hit count or a logpoint is a line breakpoint
//! to the VM, which the adapter judges when it stops). Such a thread has a cache of its
//! own ([`Jit::for_debugger`], made when first needed and dropped whenever the marks
//! change) whose regions leave out every marked instruction: a segment ends before one,
//! and a branch to one leaves the region. So running a region there is running those
//! instructions in the interpreter, whose look at each would have let the thread go on;
//! the first marked one is looked at by the interpreter as always. That look compares
//! with the instruction before (a line is *entered* unless the thread goes on within it),
//! so a region says where it leaves which instruction it ran last (in the high half of
//! its answer: see `compile`) and the interpreter sets the debugger's `prev` to it; where
//! a region cannot say (it leaves at one of its own instructions reached from several
//! blocks: its budget stop at a segment's start, a zero divisor at a segment's start),
//! that instruction is unmarked and its look does not read `prev`. Budget, `stop_after`,
//! pause and cancel are polled at the same safe points as in any run. A debugger with no
//! breakpoint placed, not stepping, looks at nothing: the thread uses the program's
//! cache as without it.
//! [`crate::exec::Vm::set_jit`], `RunOptions::jit`, `--no-jit` and `CHUNKVM_NO_JIT=1` turn
//! the JIT off.

// Without the feature, the planning below is kept (and tested) but not used.
#![cfg_attr(not(feature = "jit"), allow(dead_code))]

#[cfg(feature = "jit")]
mod compile;
#[cfg(feature = "jit")]
mod divide;

use crate::compile::ir::{Imm, Instr, Op, Operand};
use crate::exec::vm::{Frame, LoadedFn};
use std::time::Duration;

/// Entries of a code offset before it is compiled.
pub const HOT: u32 = 16;

/// Segments one region holds at most.
pub const MAX_SEGMENTS: usize = 64;

/// Instructions a region without a loop needs to be worth compiling.
pub const MIN_WORTH: usize = 6;

/// Whether threads use the JIT unless told otherwise ([`crate::exec::Vm::set_jit`]): yes
/// when the `jit` feature is built, the host is one cranelift compiles for, and the
/// environment does not set `CHUNKVM_NO_JIT=1` (read once).
pub fn jit_by_default() -> bool {
    static DEFAULT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEFAULT.get_or_init(|| {
        cfg!(feature = "jit")
            && supported()
            && std::env::var("CHUNKVM_NO_JIT").map_or(true, |v| v.trim() != "1")
    })
}

/// Whether this build and host can compile: the `jit` feature and a host cranelift
/// supports.
pub fn supported() -> bool {
    #[cfg(feature = "jit")]
    {
        compile::host_supported()
    }
    #[cfg(not(feature = "jit"))]
    {
        false
    }
}

/// What the JIT did for a loaded program, all its threads together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitStats {
    /// Regions compiled.
    pub regions: u64,
    /// Segments in them.
    pub segments: u64,
    /// Instructions in them.
    pub instructions: u64,
    /// Bytes of machine code.
    pub code_bytes: u64,
    /// Time spent compiling.
    pub compile_time: Duration,
    /// Hot offsets not compiled: nothing compilable there, too short, or a compile error.
    pub declined: u64,
    /// Code offsets that run a region compiled for another one (its other entries: see
    /// the module doc), without a compile of their own.
    pub shared: u64,
}

/// Whether `op` is compiled inside a segment (not a jump: see [`is_jump`]).
pub fn compiles(op: Op) -> bool {
    use Op::*;
    matches!(
        op,
        Nop | Const
            | Mov
            | Mov2
            | AddI
            | SubI
            | MulI
            | DivI
            | RemI
            | NegI
            | AddIK
            | MulIK
            | DivIK
            | RemIK
            | AddFK
            | SubFK
            | RSubFK
            | MulFK
            | DivFK
            | AddF
            | SubF
            | MulF
            | DivF
            | NegF
            | EqI
            | NeI
            | LtI
            | LeI
            | EqF
            | NeF
            | LtF
            | LeF
            | Not
    )
}

/// Whether `op` is a block's terminating jump or branch that a segment ends with.
pub fn is_jump(op: Op) -> bool {
    use Op::*;
    matches!(op, Jmp | Br | BrLtI | BrLtF | BrLtIK | ForStep | ForStepK)
}

/// A straight run of compiled instructions: `start..end` in the function's decoded
/// code; the last one is a jump, or a self-call or return (see [`SelfCalls`]), when
/// `jumps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) jumps: bool,
}

impl Segment {
    /// Its instructions.
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }
}

/// The code offsets a jump goes to (decoded: offsets, not block indices).
pub(crate) fn targets(ins: &Instr) -> Vec<usize> {
    match ins.op.shape().3 {
        Imm::Block => vec![ins.k as usize],
        Imm::Block2 => vec![ins.k as u32 as usize, (ins.k >> 32) as u32 as usize],
        _ => Vec::new(),
    }
}

/// What a region needs to compile a function's calls of itself and its returns: the
/// function, its registers, and whether its calls make an environment (then they are
/// not compiled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SelfCalls {
    pub(crate) func: u32,
    pub(crate) nregs: u32,
    pub(crate) nrefs: u32,
}

impl SelfCalls {
    /// Whether `ins` is a call of the function itself.
    pub(crate) fn call(&self, ins: &Instr) -> bool {
        ins.op == Op::Call && ins.k == u64::from(self.func)
    }
}

/// Whether `ins` ends a segment that `calls` (none: no call nor return compiles) lets
/// the region go on from: a jump, a call of the function itself, a scalar return.
fn ends_segment(ins: &Instr, calls: Option<&SelfCalls>) -> bool {
    is_jump(ins.op) || calls.is_some_and(|calls| calls.call(ins) || ins.op == Op::Ret)
}

/// The code offsets a segment's last instruction goes to within the function: a jump's
/// targets; a self-call's are the function's entry and the instruction after the call
/// (where its return goes on); a return's are the calls' (see [`Plan::new`]).
fn segment_targets(ins: &Instr, at: usize) -> Vec<usize> {
    match ins.op {
        Op::Call => vec![0, at + 1],
        Op::Ret => Vec::new(),
        _ => targets(ins),
    }
}

/// The segment that starts at `pc`, if the instruction there compiles. An instruction
/// marked in `stops` (a debugger's stop marks: see [`Jit::for_debugger`]) is never in
/// one: a segment ends before it. With `calls`, a call of the function itself and a
/// scalar return end a segment as a jump does.
pub(crate) fn segment_at(
    code: &[Instr],
    pc: usize,
    stops: &[bool],
    calls: Option<&SelfCalls>,
) -> Option<Segment> {
    let free = |at: usize| !stops.get(at).copied().unwrap_or(false);
    let mut end = pc;
    while code.get(end).is_some_and(|ins| compiles(ins.op)) && free(end) {
        end += 1;
    }
    let jumps = code.get(end).is_some_and(|ins| ends_segment(ins, calls)) && free(end);
    if jumps {
        end += 1;
    }
    (end > pc).then_some(Segment {
        start: pc,
        end,
        jumps,
    })
}

/// What a region compiles: its segments (the entry first) and the scalar registers
/// they touch, from the frame's base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) segments: Vec<Segment>,
    pub(crate) regs: usize,
    /// The function's calls of itself, when the region holds one (then its registers
    /// live in memory: see `compile`).
    pub(crate) calls: Option<SelfCalls>,
    /// The segments (indices, the first first) the region may be entered at: all but
    /// those that begin with a return (entered there, the return is in the frame the
    /// region was entered in: it would leave at once).
    pub(crate) entries: Vec<usize>,
}

impl Plan {
    /// The region of a function's decoded `code` entered at `pc`, without the
    /// instructions marked in `stops` (none when it is empty), with the function's calls
    /// of itself and its returns when `calls` says how: `None` when nothing compiles
    /// there or it is not worth it (see [`MIN_WORTH`]).
    pub(crate) fn new(
        code: &[Instr],
        pc: usize,
        stops: &[bool],
        calls: Option<SelfCalls>,
    ) -> Option<Plan> {
        let first = segment_at(code, pc, stops, calls.as_ref())?;
        let mut segments = vec![first];
        let mut looped = false;
        let mut next = 0;
        while next < segments.len() {
            let seg = segments[next];
            next += 1;
            if !seg.jumps {
                continue;
            }
            let last = seg.end - 1;
            let to = code
                .get(last)
                .map(|ins| segment_targets(ins, last))
                .unwrap_or_default();
            for target in to {
                if segments.iter().any(|s| s.start == target) {
                    looped = true;
                    continue;
                }
                if segments.len() >= MAX_SEGMENTS {
                    continue;
                }
                if let Some(seg) = segment_at(code, target, stops, calls.as_ref()) {
                    segments.push(seg);
                }
            }
        }
        // A call of itself is a loop; without one, no return is compiled.
        let calling = segments
            .iter()
            .any(|seg| seg.jumps && code[seg.end - 1].op == Op::Call);
        if !calling {
            for seg in &mut segments {
                if seg.jumps && code[seg.end - 1].op == Op::Ret {
                    seg.end -= 1;
                    seg.jumps = false;
                }
            }
            if segments.first().is_some_and(|seg| seg.end == seg.start) {
                return None;
            }
            segments.retain(|seg| seg.end > seg.start);
        }
        looped |= calling;
        let instructions: usize = segments.iter().map(Segment::len).sum();
        if !looped && instructions < MIN_WORTH {
            return None;
        }
        // A return writes register 0.
        let mut regs = usize::from(calling);
        for seg in &segments {
            for ins in &code[seg.start..seg.end] {
                let (a, b, c, _) = ins.op.shape();
                for (operand, reg) in [(a, ins.a), (b, ins.b), (c, ins.c)] {
                    let width = match operand {
                        Operand::S => 1,
                        Operand::S2 => 2,
                        _ => 0,
                    };
                    if width > 0 {
                        regs = regs.max(reg as usize + width);
                    }
                }
            }
        }
        let entries = (0..segments.len())
            .filter(|&idx| idx == 0 || code[segments[idx].start].op != Op::Ret)
            .collect();
        Some(Plan {
            segments,
            regs,
            calls: calls.filter(|_| calling),
            entries,
        })
    }

    /// Instructions in all its segments.
    pub(crate) fn instructions(&self) -> usize {
        self.segments.iter().map(Segment::len).sum()
    }
}

/// A compiled region, as entered at one of its entries (see [`Plan::entries`]).
#[cfg(feature = "jit")]
#[derive(Clone, Copy, Debug)]
struct Region {
    entry: compile::Entry,
    /// Which of its entries.
    index: u64,
    /// Scalar registers it touches from the frame's base.
    regs: usize,
    /// Instructions of the segment it is entered at: a run with no more budget does not
    /// enter.
    first: u64,
}

/// Where a region handed the thread back to the interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Exit {
    /// The next code offset.
    pub(crate) next: usize,
    /// The last instruction run, where the region knows it: always when `next` is not
    /// one of the region's instructions (see the module doc).
    pub(crate) from: Option<usize>,
    /// Instructions run.
    pub(crate) ran: u64,
    /// Whether a region at `next` may be worth running at once: not when the region
    /// left before a call or a return, which it would hand back at once (it left for
    /// want of room for the callee, or in the frame it was entered in).
    pub(crate) again: bool,
}

/// The thread a region runs over, at its top frame: the scalar registers and that
/// frame's base, the reference registers' length and the frame's base there, the frames
/// and the depth limit.
pub(crate) struct At<'a> {
    pub(crate) s: &'a mut [u64],
    pub(crate) sb: usize,
    pub(crate) r_len: usize,
    pub(crate) rb: usize,
    pub(crate) frames: &'a mut Vec<Frame>,
    pub(crate) depth: usize,
}

/// What a compiled region reads and writes besides the registers (`compile` reads its
/// fields at their offsets).
#[repr(C)]
pub(crate) struct Ctx {
    /// The scalar registers from the frame's base.
    regs: *mut u64,
    /// Out: instructions run.
    ran: u64,
    /// The highest bases a frame of the function may have in the scalar and the
    /// reference registers: their lengths less its registers (`nregs + 2` and
    /// `nrefs + 1`, as the interpreter's call checks; signed, negative when none).
    s_lim: i64,
    r_lim: i64,
    /// The thread's frames: one past the top frame (in, and out when the region pushed
    /// or popped frames), and one past the last frame a call may push (the vector's
    /// capacity, at most the depth limit; none when the entered frame has no room for a
    /// callee's reference registers, which a call of the function there checks as the
    /// interpreter's does).
    top: *mut Frame,
    end: *mut Frame,
    /// The frame's bases.
    sb: u64,
    rb: u64,
}

// `compile` writes frames as three 64-bit words: function and pc, the bases, the
// environment.
const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<Frame>() == 24);
    assert!(offset_of!(Frame, func) == 0 && offset_of!(Frame, pc) == 4);
    assert!(offset_of!(Frame, sbase) == 8 && offset_of!(Frame, rbase) == 12);
    assert!(offset_of!(Frame, env) == 16 && size_of::<crate::chunk::ChunkId>() == 8);
};

/// The compiled code of one loaded program, shared by its threads (see the module doc),
/// or of one debugged thread's breakpoints ([`Jit::for_debugger`]).
#[cfg(feature = "jit")]
pub(crate) struct Jit {
    funcs: Vec<FnCode>,
    /// A debugged thread's cache: no call is compiled.
    debugger: bool,
    /// Per function, the instructions no region holds (a debugger's stop marks).
    stops: Vec<Vec<bool>>,
    module: std::sync::Mutex<ModuleState>,
    stats: std::sync::Mutex<JitStats>,
}

/// Per function, per code offset: entries so far, and the region once decided.
#[cfg(feature = "jit")]
struct FnCode {
    hits: Box<[std::sync::atomic::AtomicU32]>,
    code: Box<[std::sync::OnceLock<Option<Region>>]>,
}

#[cfg(feature = "jit")]
enum ModuleState {
    NotYet,
    Ready(Box<compile::Module>),
    Unsupported,
}

#[cfg(feature = "jit")]
impl Jit {
    /// An empty cache for functions of these code lengths.
    pub(crate) fn new(lengths: impl Iterator<Item = usize>) -> Jit {
        let mut jit = Jit::for_debugger(lengths, Vec::new());
        jit.debugger = false;
        jit
    }

    /// An empty cache for functions of these code lengths whose regions leave out the
    /// instructions marked in `stops` (per function, per code offset): those a debugged
    /// thread's debugger looks at while it continues (see the module doc).
    pub(crate) fn for_debugger(lengths: impl Iterator<Item = usize>, stops: Vec<Vec<bool>>) -> Jit {
        Jit {
            stops,
            debugger: true,
            funcs: lengths
                .map(|len| FnCode {
                    hits: (0..len).map(|_| Default::default()).collect(),
                    code: (0..len).map(|_| Default::default()).collect(),
                })
                .collect(),
            module: std::sync::Mutex::new(ModuleState::NotYet),
            stats: std::sync::Mutex::new(JitStats::default()),
        }
    }

    /// What was compiled so far.
    pub(crate) fn stats(&self) -> JitStats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// Runs the region entered at `pc` of function `func` (decoded as `lf`) over the
    /// thread's registers and frames at that frame (`at`), if there is one (compiling it
    /// when it has become hot: `hot` entries), with `limit` instructions before the
    /// interpreter's next check. Where it handed the thread back; `None` when there is no
    /// region to run. A region that calls its own function may leave with frames pushed:
    /// the thread's frames are then longer, and the top one is where it goes on.
    #[inline]
    pub(crate) fn run(
        &self,
        lf: &LoadedFn,
        func: u32,
        pc: usize,
        at: At<'_>,
        limit: u64,
        hot: u32,
    ) -> Option<Exit> {
        use std::sync::atomic::Ordering;
        let fc = self.funcs.get(func as usize)?;
        let cell = fc.code.get(pc)?;
        let region = match cell.get() {
            Some(region) => region.as_ref()?,
            None => {
                // Counted without a locked instruction: threads may lose a count or two.
                let hits = fc.hits.get(pc)?;
                let seen = hits.load(Ordering::Relaxed).saturating_add(1);
                hits.store(seen, Ordering::Relaxed);
                if seen < hot {
                    return None;
                }
                let mut others = Vec::new();
                let region = cell.get_or_init(|| {
                    let (region, rest) = self.compile(lf, func, pc);
                    others = rest;
                    region
                });
                // The region's other entries run the same code from now on (set once
                // this cell is: no thread waits for a cell while it sets one).
                for (at, other) in others {
                    if let Some(cell) = fc.code.get(at) {
                        if cell.set(Some(other)).is_ok() {
                            if let Ok(mut stats) = self.stats.lock() {
                                stats.shared += 1;
                            }
                        }
                    }
                }
                region.as_ref()?
            }
        };
        let room = at.s.len().checked_sub(at.sb)?;
        if limit <= region.first || room < region.regs || at.frames.is_empty() {
            return None;
        }
        let frames = at.frames;
        let s_lim = at.s.len() as i64 - i64::from(lf.nregs) - 2;
        let r_lim = at.r_len as i64 - i64::from(lf.nrefs) - 1;
        let max = if at.rb as i64 <= r_lim {
            frames.capacity().min(at.depth)
        } else {
            0
        };
        let start = frames.as_mut_ptr();
        let file = at.s.as_mut_ptr();
        let mut ctx = Ctx {
            regs: file.wrapping_add(at.sb),
            ran: 0,
            s_lim,
            r_lim,
            top: start.wrapping_add(frames.len()),
            end: start.wrapping_add(max),
            sb: at.sb as u64,
            rb: at.rb as u64,
        };
        // SAFETY: the region was compiled from this function's verified code by
        // `compile::Module::compile`; it reads and writes the frame's registers
        // `s[sb..sb + region.regs]` only, which `s` covers (checked above), and, when it
        // calls its function, the registers of the frames it pushes, each checked against
        // `s_lim` before the call (as the interpreter's call checks that the register
        // file holds the callee's registers), and the frames from the top one to `end`,
        // within the vector's capacity. Its module lives as long as `self`, which the
        // caller's program keeps alive while it runs.
        let answer = unsafe { (region.entry)(&mut ctx, limit, region.index) };
        let len = (ctx.top as usize).wrapping_sub(start as usize) / std::mem::size_of::<Frame>();
        if len != frames.len() && len >= frames.len() && len <= frames.capacity() {
            // SAFETY: the region wrote each frame from the old length to `len` when it
            // pushed it (it never pops below the frame it was entered in), and `Frame`
            // is `Copy`.
            unsafe { frames.set_len(len) };
        }
        let from = (answer >> 32) as u32;
        let next = answer as u32 as usize;
        Some(Exit {
            next,
            from: (from != compile::UNKNOWN).then_some(from as usize),
            ran: ctx.ran,
            again: lf
                .code
                .get(next)
                .is_some_and(|ins| !matches!(ins.op, Op::Call | Op::Ret)),
        })
    }

    /// The region entered at `pc` (`None`: declined), and the same code as entered at
    /// its other entries, by code offset.
    fn compile(
        &self,
        lf: &LoadedFn,
        func: u32,
        pc: usize,
    ) -> (Option<Region>, Vec<(usize, Region)>) {
        let stops = self.stops.get(func as usize).map_or(&[][..], Vec::as_slice);
        let code = &lf.code[..];
        // Not in a debugger's cache (its `prev` knows no frames), nor when a call makes
        // an environment.
        let calls = (!self.debugger && lf.env_slots == 0).then_some(SelfCalls {
            func,
            nregs: lf.nregs,
            nrefs: lf.nrefs,
        });
        let compiled = Plan::new(code, pc, stops, calls).and_then(|plan| {
            let mut module = self.module.lock().ok()?;
            if matches!(*module, ModuleState::NotYet) {
                *module = match compile::Module::new() {
                    Some(made) => ModuleState::Ready(Box::new(made)),
                    None => ModuleState::Unsupported,
                };
            }
            let ModuleState::Ready(module) = &mut *module else {
                return None;
            };
            let start = std::time::Instant::now();
            let (entry, bytes) = module.compile(code, &plan).ok()?;
            Some((plan, entry, bytes, start.elapsed()))
        });
        let mut stats = self.stats.lock().ok();
        match compiled {
            Some((plan, entry, bytes, took)) => {
                if let Some(stats) = stats.as_deref_mut() {
                    stats.regions += 1;
                    stats.segments += plan.segments.len() as u64;
                    stats.instructions += plan.instructions() as u64;
                    stats.code_bytes += bytes as u64;
                    stats.compile_time += took;
                }
                let mut regions = plan.entries.iter().enumerate().map(|(index, &seg)| {
                    let seg = plan.segments[seg];
                    let region = Region {
                        entry,
                        index: index as u64,
                        regs: plan.regs,
                        first: seg.len() as u64,
                    };
                    (seg.start, region)
                });
                let here = regions.next().map(|(_, region)| region);
                (here, regions.collect())
            }
            None => {
                if let Some(stats) = stats.as_deref_mut() {
                    stats.declined += 1;
                }
                (None, Vec::new())
            }
        }
    }
}

#[cfg(feature = "jit")]
impl Drop for Jit {
    fn drop(&mut self) {
        let state = self
            .module
            .get_mut()
            .map(|m| std::mem::replace(m, ModuleState::Unsupported));
        if let Ok(ModuleState::Ready(module)) = state {
            // SAFETY: the regions are gone with `self` (no thread runs this program any
            // more: a running thread holds the program, and so this cache, alive).
            unsafe { module.free() };
        }
    }
}

/// Without the `jit` feature: nothing is ever compiled.
#[cfg(not(feature = "jit"))]
pub(crate) struct Jit;

#[cfg(not(feature = "jit"))]
impl Jit {
    /// An empty cache.
    pub(crate) fn new(_lengths: impl Iterator<Item = usize>) -> Jit {
        Jit
    }

    /// An empty cache.
    pub(crate) fn for_debugger(
        _lengths: impl Iterator<Item = usize>,
        _stops: Vec<Vec<bool>>,
    ) -> Jit {
        Jit
    }

    /// Nothing compiled.
    pub(crate) fn stats(&self) -> JitStats {
        JitStats::default()
    }
}

impl std::fmt::Debug for Jit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Jit({:?})", self.stats())
    }
}

#[cfg(test)]
mod tests;
