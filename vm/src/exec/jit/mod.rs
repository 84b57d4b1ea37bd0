//! The JIT: hot straight-line code of block chunks compiled to machine code with
//! cranelift (cargo feature `jit`, on by default).
//!
//! *What is compiled.* A *segment* is a run of instructions of one block that are plain
//! scalar register operations (int, float and bool arithmetic and comparisons, moves,
//! constants: [`compiles`]), with the block's terminating jump or branch when it is one
//! of those ([`is_jump`]). A *region* is the segment that starts where the interpreter
//! entered compiled code, with every segment it reaches through its branches inside the
//! same function (at most [`MAX_SEGMENTS`]): a loop of such blocks runs in machine code
//! from one iteration to the next. Everything else (calls, returns, the store, printing,
//! pixels, colours, globals, the pure builtins) stays in the interpreter: a region ends
//! before such an instruction and hands the thread back with the next code offset.
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
//! below it (`ran + len < limit`, `ran` kept in a machine register across the chained
//! blocks of the region, loop iterations included); otherwise it returns at that
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
/// code; the last one is a jump when `jumps`.
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

/// The segment that starts at `pc`, if the instruction there compiles. An instruction
/// marked in `stops` (a debugger's stop marks: see [`Jit::for_debugger`]) is never in
/// one: a segment ends before it.
pub(crate) fn segment_at(code: &[Instr], pc: usize, stops: &[bool]) -> Option<Segment> {
    let free = |at: usize| !stops.get(at).copied().unwrap_or(false);
    let mut end = pc;
    while code.get(end).is_some_and(|ins| compiles(ins.op)) && free(end) {
        end += 1;
    }
    let jumps = code.get(end).is_some_and(|ins| is_jump(ins.op)) && free(end);
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
}

impl Plan {
    /// The region of a function's decoded `code` entered at `pc`, without the
    /// instructions marked in `stops` (none when it is empty): `None` when nothing
    /// compiles there or it is not worth it (see [`MIN_WORTH`]).
    pub(crate) fn new(code: &[Instr], pc: usize, stops: &[bool]) -> Option<Plan> {
        let first = segment_at(code, pc, stops)?;
        let mut segments = vec![first];
        let mut looped = false;
        let mut next = 0;
        while next < segments.len() {
            let seg = segments[next];
            next += 1;
            if !seg.jumps {
                continue;
            }
            for target in code.get(seg.end - 1).map(targets).unwrap_or_default() {
                if segments.iter().any(|s| s.start == target) {
                    looped = true;
                    continue;
                }
                if segments.len() >= MAX_SEGMENTS {
                    continue;
                }
                if let Some(seg) = segment_at(code, target, stops) {
                    segments.push(seg);
                }
            }
        }
        let instructions: usize = segments.iter().map(Segment::len).sum();
        if !looped && instructions < MIN_WORTH {
            return None;
        }
        let mut regs = 0usize;
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
        Some(Plan { segments, regs })
    }

    /// Instructions in all its segments.
    pub(crate) fn instructions(&self) -> usize {
        self.segments.iter().map(Segment::len).sum()
    }
}

/// A compiled region.
#[cfg(feature = "jit")]
#[derive(Debug)]
struct Region {
    entry: compile::Entry,
    /// Scalar registers it touches from the frame's base.
    regs: usize,
    /// Instructions of its first segment: a run with no more budget does not enter.
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
}

/// The compiled code of one loaded program, shared by its threads (see the module doc),
/// or of one debugged thread's breakpoints ([`Jit::for_debugger`]).
#[cfg(feature = "jit")]
pub(crate) struct Jit {
    funcs: Vec<FnCode>,
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
        Jit::for_debugger(lengths, Vec::new())
    }

    /// An empty cache for functions of these code lengths whose regions leave out the
    /// instructions marked in `stops` (per function, per code offset): those a debugged
    /// thread's debugger looks at while it continues (see the module doc).
    pub(crate) fn for_debugger(lengths: impl Iterator<Item = usize>, stops: Vec<Vec<bool>>) -> Jit {
        Jit {
            stops,
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

    /// Runs the region entered at `pc` of function `func` (decoded as `code`) over the
    /// frame's registers `s`, if there is one (compiling it when it has become hot: `hot`
    /// entries), with `limit` instructions before the interpreter's next check. Where it
    /// handed the thread back; `None` when there is no region to run.
    #[inline]
    pub(crate) fn run(
        &self,
        code: &[Instr],
        func: u32,
        pc: usize,
        s: &mut [u64],
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
                cell.get_or_init(|| self.compile(code, func, pc)).as_ref()?
            }
        };
        if limit <= region.first || s.len() < region.regs {
            return None;
        }
        let mut ran = 0u64;
        // SAFETY: the region was compiled from this function's verified code by
        // `compile::Module::compile`; it reads and writes `s[0..region.regs]` only, which
        // `s` covers (checked above), and `ran` for the count. Its module lives as long as
        // `self`, which the caller's program keeps alive while it runs.
        let answer = unsafe { (region.entry)(s.as_mut_ptr(), limit, &mut ran) };
        let from = (answer >> 32) as u32;
        Some(Exit {
            next: answer as u32 as usize,
            from: (from != compile::UNKNOWN).then_some(from as usize),
            ran,
        })
    }

    fn compile(&self, code: &[Instr], func: u32, pc: usize) -> Option<Region> {
        let stops = self.stops.get(func as usize).map_or(&[][..], Vec::as_slice);
        let compiled = Plan::new(code, pc, stops).and_then(|plan| {
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
                Some(Region {
                    entry,
                    regs: plan.regs,
                    first: plan.segments.first().map_or(0, |s| s.len() as u64),
                })
            }
            None => {
                if let Some(stats) = stats.as_deref_mut() {
                    stats.declined += 1;
                }
                None
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
mod tests {
    use super::*;
    use crate::compile::ir::pack_targets;

    fn ins(op: Op, a: u16, b: u16, c: u16, k: u64) -> Instr {
        Instr::with_k(op, a, b, c, k)
    }

    #[test]
    fn a_loop_is_one_region_and_a_call_ends_a_segment() {
        // 0: Const; 1: BrLtI -> 2 else 6; 2..5: the body, ForStep back to 2; 6: Ret.
        let code = [
            ins(Op::Const, 1, 0, 0, 0),
            ins(Op::BrLtI, 2, 3, 0, pack_targets(2, 6)),
            ins(Op::MulI, 4, 2, 2, 0),
            ins(Op::RemIK, 5, 4, 0, 7),
            ins(Op::AddI, 1, 1, 5, 0),
            ins(Op::ForStep, 2, 3, 0, pack_targets(2, 6)),
            ins(Op::Ret, 1, 0, 0, 0),
        ];
        let plan = Plan::new(&code, 0, &[]).unwrap();
        assert_eq!(
            plan.segments,
            vec![
                Segment {
                    start: 0,
                    end: 2,
                    jumps: true
                },
                Segment {
                    start: 2,
                    end: 6,
                    jumps: true
                }
            ]
        );
        assert_eq!((plan.regs, plan.instructions()), (6, 6));
        assert_eq!(segment_at(&code, 6, &[]), None);
        // Straight code before a call, too short to be worth it.
        let call = [
            ins(Op::AddIK, 1, 0, 0, (-1i64) as u64),
            ins(Op::Call, 1, 0, 0, 0),
        ];
        assert_eq!(
            segment_at(&call, 0, &[]),
            Some(Segment {
                start: 0,
                end: 1,
                jumps: false
            })
        );
        assert_eq!(Plan::new(&call, 0, &[]), None);
    }

    #[test]
    fn marked_instructions_are_left_out_of_a_region() {
        // 0: Const; 1: BrLtI -> 2 else 7; 2, 3: the body, Br -> 4 else 5; 4: the
        // block of an `if` (a breakpoint's line when marked); 5, 6: AddI, ForStep back
        // to 2; 7: Ret.
        let code = [
            ins(Op::Const, 1, 0, 0, 0),
            ins(Op::BrLtI, 2, 3, 0, pack_targets(2, 7)),
            ins(Op::LtI, 4, 1, 0, 0),
            ins(Op::Br, 4, 0, 0, pack_targets(4, 5)),
            ins(Op::Const, 1, 0, 0, 0),
            ins(Op::AddI, 1, 1, 2, 0),
            ins(Op::ForStep, 2, 3, 0, pack_targets(2, 7)),
            ins(Op::Ret, 1, 0, 0, 0),
        ];
        let all = Plan::new(&code, 0, &[]).unwrap();
        assert_eq!(all.segments.len(), 4);
        let mut stops = vec![false; code.len()];
        stops[4] = true;
        let plan = Plan::new(&code, 0, &stops).unwrap();
        assert_eq!(
            plan.segments,
            vec![
                Segment {
                    start: 0,
                    end: 2,
                    jumps: true
                },
                Segment {
                    start: 2,
                    end: 4,
                    jumps: true
                },
                Segment {
                    start: 5,
                    end: 7,
                    jumps: true
                }
            ]
        );
        // A marked jump ends its segment before it; a marked entry is no region.
        stops[4] = false;
        stops[3] = true;
        assert_eq!(
            segment_at(&code, 2, &stops),
            Some(Segment {
                start: 2,
                end: 3,
                jumps: false
            })
        );
        assert_eq!(Plan::new(&code, 3, &stops), None);
    }
}
