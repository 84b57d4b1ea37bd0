//! The interpreter of the chunk VM.
//!
//! Code lives in block chunks; [`Loaded`] keeps each function's blocks
//! decoded and laid end to end, with jump targets turned into offsets, so
//! the loop never touches a code chunk. Registers and frames live in plain
//! vectors between safe points; [`Vm::materialize`] (in `thread.rs`) writes
//! them out as Thread, Frame and Regs chunks whenever asked, and
//! [`Vm::restore`] reads them back. Heap values (arrays, closures,
//! environments, images) are chunks in the store all along.
//!
//! The loop checks its limits, the pause flag and stop requests only at
//! block boundaries (jumps, calls, returns): those are the safe points.
//!
//! Here: the thread's state and its API (start, run, limits, globals). The heap's
//! environments, garbage collection and fetching are in `heap`; the error types in
//! `errors`. The dispatch loop is in `run`; what it hands off (store and print
//! instructions, pixels, pure builtins) in `ops`.

use super::value::{color_of, color_slots, from_u8, to_u8, Value};
use crate::builtins::BuiltinOp;
use crate::chunk::{
    array_copy, array_element, array_get_slot, array_info, array_len, array_new, array_set_element,
    array_set_slot, image_from_rgba8, set_tile_pixel, Chunk, ChunkId, ImageView, Kind, NodeId,
    Store, StoreError, IMAGE_TILES, IMAGE_WIDTH, TILE_SIZE,
};
use crate::compile::chunks::{store_program, CodeIds};
use crate::compile::ir::{builtin_of_code, unpack_shape, unpack_targets, Imm, Instr, Op, Program};
use crate::syntax::span::Span;
use crate::types::Type;
use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Limits of one thread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Instructions the thread may execute in all.
    pub instructions: u64,
    /// Data chunks the thread may hold at once (after collecting garbage).
    pub chunks: usize,
    /// Depth of the call stack.
    pub depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            instructions: 50_000_000_000,
            chunks: 4_000_000,
            depth: 10_000,
        }
    }
}

/// One function, decoded for the interpreter.
#[derive(Debug)]
pub struct LoadedFn {
    /// The blocks' instructions end to end; jump immediates are code offsets.
    pub code: Vec<Instr>,
    /// The source span of each instruction.
    pub spans: Vec<Span>,
    /// Code offset where each block starts.
    pub block_start: Vec<u32>,
    /// Scalar registers.
    pub nregs: u32,
    /// Reference registers.
    pub nrefs: u32,
    /// Environment slots made at entry.
    pub env_slots: u32,
    /// Per instruction: whether it recomputes what its registers hold already
    /// (`compile::redundant`), which tile-wide execution skips.
    pub recomputed: Vec<bool>,
    /// Per instruction: whether it is the step of a loop that tile-wide execution may
    /// run at once (a kernel's row of taps, `tile::taps`).
    pub tap_rows: Vec<bool>,
}

impl LoadedFn {
    /// The block holding code offset `pc`, and the index within it.
    pub fn block_of(&self, pc: u32) -> (u32, u32) {
        let block = match self.block_start.binary_search(&pc) {
            Ok(block) => block,
            Err(next) => next.saturating_sub(1),
        };
        (
            block as u32,
            pc - self.block_start.get(block).copied().unwrap_or(0),
        )
    }
}

/// A program ready to run: its compiled form, its chunks, and decoded code.
#[derive(Debug)]
pub struct Loaded {
    /// The compiled program.
    pub program: Program,
    /// Where its chunks are.
    pub ids: CodeIds,
    /// Each function, decoded.
    pub funcs: Vec<LoadedFn>,
    /// The function of each Function chunk.
    pub func_of_chunk: std::collections::HashMap<ChunkId, u32>,
    /// The machine code of its hot blocks, shared by its threads (`exec::jit`).
    pub(crate) jit: crate::exec::jit::Jit,
}

impl Loaded {
    /// Stores `program` as chunks in `store` and decodes it for the interpreter.
    pub fn new(program: Program, store: &mut Store) -> Loaded {
        let ids = store_program(&program, store);
        Loaded::from_parts(program, ids)
    }

    /// Prepares an already stored (and verified) program.
    pub fn from_parts(program: Program, ids: CodeIds) -> Loaded {
        let funcs: Vec<LoadedFn> = program
            .functions
            .iter()
            .map(|func| {
                let mut block_start = Vec::new();
                let mut offset = 0u32;
                for block in &func.blocks {
                    block_start.push(offset);
                    offset += block.instrs.len() as u32;
                }
                let mut code = Vec::with_capacity(offset as usize);
                let mut spans = Vec::with_capacity(offset as usize);
                for block in &func.blocks {
                    for instr in &block.instrs {
                        let mut instr = *instr;
                        match instr.op.shape().3 {
                            Imm::Block => instr.k = block_start[instr.k as usize] as u64,
                            Imm::Block2 => {
                                let (then, otherwise) = unpack_targets(instr.k);
                                instr.k = block_start[then as usize] as u64
                                    | (block_start[otherwise as usize] as u64) << 32;
                            }
                            _ => {}
                        }
                        code.push(instr);
                    }
                    spans.extend_from_slice(&block.spans);
                }
                let recomputed = crate::compile::redundant::recomputations(&program, func);
                LoadedFn {
                    tap_rows: tile::tap_rows(&code, &recomputed),
                    recomputed,
                    code,
                    spans,
                    block_start,
                    nregs: func.nregs as u32,
                    nrefs: func.nrefs as u32,
                    env_slots: func.env_slots as u32,
                }
            })
            .collect();
        let func_of_chunk = ids
            .functions
            .iter()
            .enumerate()
            .map(|(idx, id)| (*id, idx as u32))
            .collect();
        let jit = crate::exec::jit::Jit::new(funcs.iter().map(|f| f.code.len()));
        Loaded {
            program,
            ids,
            funcs,
            func_of_chunk,
            jit,
        }
    }
}

/// One activation of a function (`repr(C)`: compiled code pushes frames, see
/// `exec::jit`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Frame {
    /// The function.
    pub func: u32,
    /// The next instruction (a code offset); in callers, the one after the call.
    pub pc: u32,
    /// Where its scalar registers start.
    pub sbase: u32,
    /// Where its reference registers start.
    pub rbase: u32,
    /// Its environment (nil when it has none).
    pub env: ChunkId,
}

/// Why [`Vm::run`] came back without finishing.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    /// The entry function returned this value.
    Finished(Value),
    /// A breakpoint's line was reached.
    Breakpoint,
    /// A step finished.
    Step,
    /// Another thread asked to pause.
    Paused,
    /// The safe point asked for by [`Vm::stop_after`] was reached.
    SafePoint,
}

/// How to step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// One instruction.
    Instruction,
    /// To the next line of this function, over calls.
    Over,
    /// To the next line, into calls.
    Into,
    /// Until the current function returns.
    Out,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum StepState {
    None,
    Instruction,
    Line {
        kind: StepKind,
        depth: usize,
        line: u32,
        func: u32,
        pc: u32,
    },
}

/// Where printed lines go.
pub type Output = Box<dyn Write + Send>;

/// What a thread has done: see [`Vm::stats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Instructions executed so far.
    pub instructions: u64,
    /// Chunks in the thread's store now: code, heap and photos.
    pub chunks: usize,
    /// Garbage collections run so far (each walks every live chunk).
    pub collections: u64,
}

/// A thread of the chunk VM, with its store.
pub struct Vm {
    /// The program.
    pub(crate) loaded: Arc<Loaded>,
    /// The chunks: code, heap, photos.
    pub(crate) store: Store,
    pub(crate) s: Vec<u64>,
    pub(crate) r: Vec<ChunkId>,
    pub(crate) frames: Vec<Frame>,
    pub(crate) globals: Vec<u64>,
    pub(crate) count: u64,
    pub(crate) limits: Limits,
    pub(crate) line: String,
    pub(crate) out: Output,
    pub(crate) result: Option<Value>,
    pub(crate) result_type: Type,
    pub(crate) stop_at: u64,
    pub(crate) pause: Arc<AtomicBool>,
    pub(crate) pinned: Vec<ChunkId>,
    pub(crate) gc_at: usize,
    /// The least `gc_at` after a collection ([`GC_FLOOR`]; tests lower it).
    pub(crate) gc_floor: usize,
    /// Garbage collections run so far.
    pub(crate) collections: u64,
    /// The image last read pixel by pixel: its view, and the rows tile-wide reads
    /// decoded from it (dropped with the view, so never staler than it).
    pub(crate) image: Option<(ChunkId, ImageView, tile::RowCache)>,
    /// Images whose pixels this VM holds beside the store ([`Vm::hold_pixels`]): a
    /// run that only wants the image reads its input and the output of one stage in
    /// the next this way, without tiles.
    pub(crate) pixel_images: Vec<(ChunkId, ImageView)>,
    pub(crate) debug: Option<super::debug::DebugState>,
    pub(crate) job: Option<Box<super::filter::Job>>,
    pub(crate) last_tiles_read: usize,
    pub(crate) cancel: Option<Arc<AtomicBool>>,
    /// Where missing chunks come from (a node's thread that is not all here).
    pub(crate) fetch: Option<Box<dyn Fetch>>,
    /// The chunk the last instruction stopped on, to fetch before running it again.
    pub(crate) missing: Option<ChunkId>,
    /// Chunks fetched so far and the fetches that brought them.
    pub(crate) fetched: (u64, u64),
    /// Whether a thread that fails keeps its frames (for a debugger to show them).
    pub(crate) keep_failed: bool,
    /// The error a thread that keeps its frames failed with.
    pub(crate) failed: Option<RuntimeError>,
    /// Whether the next run looks for a breakpoint at the instruction it starts at (a
    /// stop at a safe point before an instruction the debugger has not looked at yet).
    pub(crate) check_first: bool,
    /// Whether a job runs tile-wide where it can (see `tile`).
    pub(crate) tiles: bool,
    /// Per function: 0 not known yet, 1 can run tile-wide, 2 cannot.
    pub(crate) tileable: Vec<u8>,
    /// The scratch lanes of tile-wide runs, kept for their memory.
    pub(crate) lanes: Option<tile::Lanes>,
    /// A span that bailed: (stage, row, end); no tile-wide run before the job is past it.
    pub(crate) tile_skip: Option<(usize, u32, u32)>,
    /// Pixels computed tile-wide so far.
    pub(crate) tile_pixels: u64,
    /// Kernel rows of taps run at once tile-wide so far (`tile::taps`).
    pub(crate) taps_fused: u64,
    /// Whether hot blocks run compiled (`exec::jit`).
    pub(crate) jit: bool,
    /// Entries of a block before it is compiled.
    pub(crate) jit_hot: u32,
    /// Instructions run in compiled code so far.
    pub(crate) jit_count: u64,
}

/// Whether threads run their filter jobs tile-wide unless told otherwise
/// ([`Vm::set_tiles`]): yes, but for a process whose environment sets
/// `CHUNKVM_NO_TILES=1` (read once).
pub fn tiles_by_default() -> bool {
    static DEFAULT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEFAULT.get_or_init(|| std::env::var("CHUNKVM_NO_TILES").map_or(true, |v| v.trim() != "1"))
}

const POLL: u64 = 1 << 14;

impl Vm {
    /// A thread for `program`, with a store of its own on node 1.
    pub fn new(program: Program) -> Vm {
        let mut store = Store::new(NodeId(1));
        let loaded = Arc::new(Loaded::new(program, &mut store));
        Vm::with_store(loaded, store)
    }

    /// A thread for an already loaded program, over `store` (which holds its code).
    pub fn with_store(loaded: Arc<Loaded>, store: Store) -> Vm {
        let globals = loaded.program.global_defaults.clone();
        Vm {
            loaded,
            store,
            s: Vec::new(),
            r: Vec::new(),
            frames: Vec::new(),
            globals,
            count: 0,
            limits: Limits::default(),
            line: String::new(),
            out: Box::new(std::io::stdout()),
            result: None,
            result_type: Type::Unit,
            stop_at: u64::MAX,
            pause: Arc::new(AtomicBool::new(false)),
            pinned: Vec::new(),
            gc_at: GC_FLOOR,
            gc_floor: GC_FLOOR,
            collections: 0,
            image: None,
            pixel_images: Vec::new(),
            debug: None,
            job: None,
            last_tiles_read: 0,
            cancel: None,
            fetch: None,
            missing: None,
            fetched: (0, 0),
            keep_failed: false,
            failed: None,
            check_first: false,
            tiles: tiles_by_default(),
            tileable: Vec::new(),
            lanes: None,
            tile_skip: None,
            tile_pixels: 0,
            taps_fused: 0,
            jit: crate::exec::jit::jit_by_default(),
            jit_hot: crate::exec::jit::HOT,
            jit_count: 0,
        }
    }

    /// Runs hot blocks as machine code (`on`, where the build and the host allow it: see
    /// [`crate::exec::jit::supported`]), or everything in the interpreter. Both give the
    /// same results in the same instruction count, and under a debugger the same stops:
    /// a debugged thread runs compiled code only while it continues, and never the
    /// instructions its breakpoints mark (see `exec::jit`).
    pub fn set_jit(&mut self, on: bool) {
        self.jit = on && crate::exec::jit::supported();
    }

    /// Whether hot blocks run as machine code.
    pub fn jit(&self) -> bool {
        self.jit
    }

    /// Compiles a block once this thread has seen it entered `n` times, counted with the
    /// program's other threads (default [`crate::exec::jit::HOT`]; 0 or 1: at once).
    pub fn set_jit_hot(&mut self, n: u32) {
        self.jit_hot = n;
    }

    /// Instructions this thread ran as machine code so far (they are counted in
    /// [`Vm::instructions`] too).
    pub fn jit_instructions(&self) -> u64 {
        self.jit_count
    }

    /// What the JIT compiled for the program this thread runs, all its threads together.
    pub fn jit_stats(&self) -> crate::exec::jit::JitStats {
        self.loaded.jit.stats()
    }

    /// Runs filter jobs tile-wide where the filter allows it (`on`), or one pixel after
    /// another in the interpreter. Both make the same bytes in the same instruction
    /// count; a thread with a debugger attached runs per pixel either way.
    pub fn set_tiles(&mut self, on: bool) {
        self.tiles = on;
    }

    /// Whether filter jobs run tile-wide where they can.
    pub fn tiles(&self) -> bool {
        self.tiles
    }

    /// Pixels this thread computed tile-wide so far (the others ran per pixel).
    pub fn tile_pixels(&self) -> u64 {
        self.tile_pixels
    }

    /// Loops of a kernel's taps this thread ran tile-wide all at once so far (the
    /// remaining iterations of a `for` whose body is one pixel read added to a sum, read
    /// straight from the decoded row): what the engine's fast path for blurs did.
    pub fn taps_fused(&self) -> u64 {
        self.taps_fused
    }

    /// Sets the limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
        self.gc_at = self.gc_at.min(limits.chunks.saturating_add(1));
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Sends printed lines to `out`.
    pub fn set_output(&mut self, out: Output) {
        self.out = out;
    }

    /// A flag that, once set from any thread, pauses the VM at its next safe point.
    pub fn pause_flag(&self) -> Arc<AtomicBool> {
        self.pause.clone()
    }

    /// A flag that, once set from any thread, ends the run at its next safe point
    /// with the error "cancelled" (an editor cancelling a preview, say).
    pub fn set_cancel(&mut self, flag: Arc<AtomicBool>) {
        self.cancel = Some(flag);
    }

    /// The thread's store, the thread given up (to restore another thread over it).
    pub fn into_store(self) -> Store {
        self.store
    }

    /// Instructions executed so far.
    pub fn instructions(&self) -> u64 {
        self.count
    }

    /// Instructions executed so far and the chunks the store holds now.
    pub fn stats(&self) -> Stats {
        Stats {
            instructions: self.count,
            chunks: self.store.len(),
            collections: self.collections,
        }
    }

    /// The program the thread runs.
    pub fn program(&self) -> &Program {
        &self.loaded.program
    }

    /// The loaded program (shared by the threads that run it).
    pub fn loaded(&self) -> &Arc<Loaded> {
        &self.loaded
    }

    /// The thread's chunks: code, heap, photos (read-only: the thread owns them).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stores a `width` x `height` RGBA8 image as an Image chunk tree in the thread's
    /// store, for [`Vm::apply_region`] to read.
    pub fn store_image(
        &mut self,
        width: u32,
        height: u32,
        pixels: &[u8],
    ) -> Result<ChunkId, StoreError> {
        image_from_rgba8(&mut self.store, width, height, pixels)
    }

    /// Keeps `id` (and what it links to) alive across garbage collection.
    pub fn pin(&mut self, id: ChunkId) {
        self.pinned.push(id);
    }

    /// Stops at the first safe point after `n` more instructions.
    pub fn stop_after(&mut self, n: u64) {
        self.stop_at = self.count.saturating_add(n);
    }

    /// Sets a param's value by name.
    pub fn set_global(&mut self, name: &str, value: &Value) -> Result<(), CallError> {
        let global = self
            .loaded
            .program
            .globals
            .iter()
            .find(|g| g.name == name)
            .ok_or_else(|| CallError::UnknownParam {
                name: name.to_string(),
            })?
            .clone();
        let slots = scalar_slots(value, &global.ty).ok_or_else(|| CallError::ParamType {
            name: name.to_string(),
            ty: global.ty.clone(),
            given: value.kind(),
        })?;
        for (idx, slot) in slots.iter().enumerate() {
            self.globals[global.slot as usize + idx] = *slot;
        }
        Ok(())
    }

    /// The params' slots, as they are now.
    pub fn globals(&self) -> &[u64] {
        &self.globals
    }

    /// Sets every param back to the given slot values (the program's defaults, say).
    pub fn reset_globals(&mut self, values: &[u64]) {
        self.globals.clear();
        self.globals.extend_from_slice(values);
    }

    /// Whether the thread has a call under way.
    pub fn is_running(&self) -> bool {
        !self.frames.is_empty()
    }

    /// The frames, innermost last.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// Starts a call of function `func` with `args`; [`Vm::run`] runs it.
    pub fn start(&mut self, func: u32, args: &[Value]) -> Result<(), CallError> {
        let loaded = self.loaded.clone();
        let function = loaded
            .program
            .functions
            .get(func as usize)
            .ok_or(CallError::UnknownFunction(func))?;
        if args.len() != function.params.len() {
            return Err(CallError::ArgCount {
                function: function.name.clone(),
                wants: function.params.len(),
                given: args.len(),
            });
        }
        let lf = &loaded.funcs[func as usize];
        self.frames.clear();
        self.failed = None;
        self.result = None;
        self.result_type = function.ret.clone();
        self.s.clear();
        self.r.clear();
        self.s.resize(lf.nregs as usize + 2, 0);
        self.r.resize(lf.nrefs as usize + 1, ChunkId::NIL);
        let (mut sreg, mut rreg) = (0usize, 0usize);
        for ((name, ty), arg) in function.params.iter().zip(args) {
            if ty.is_ref() {
                let id = match arg {
                    Value::Image { id, .. } | Value::Closure { id, .. } => *id,
                    other => {
                        return Err(CallError::ArgType {
                            name: name.clone(),
                            ty: ty.clone(),
                            given: other.kind(),
                        })
                    }
                };
                self.r[rreg] = id;
                rreg += 1;
            } else {
                let slots = scalar_slots(arg, ty).ok_or_else(|| CallError::ArgType {
                    name: name.clone(),
                    ty: ty.clone(),
                    given: arg.kind(),
                })?;
                for slot in slots {
                    self.s[sreg] = slot;
                    sreg += 1;
                }
            }
        }
        let env = self.new_env(func, ChunkId::NIL);
        self.frames.push(Frame {
            func,
            pc: 0,
            sbase: 0,
            rbase: 0,
            env,
        });
        Ok(())
    }

    /// Keeps the frames of a thread that fails (a debugger stopping on the exception
    /// shows its stack and locals): [`Vm::failed`] is the error then, and the thread
    /// runs no more ([`Vm::run`] answers the same error).
    pub fn keep_frames_on_error(&mut self, keep: bool) {
        self.keep_failed = keep;
    }

    /// The error the thread failed with, when it keeps its frames on error.
    pub fn failed(&self) -> Option<&RuntimeError> {
        self.failed.as_ref()
    }

    /// Makes the next [`Vm::run`] stop on a breakpoint at the instruction the thread is
    /// at now. A run never stops on the instruction it starts at (so that it goes on from
    /// a breakpoint); a thread that never ran (a band just started) wants its first one
    /// looked at. Steps are not concerned: a step always moves.
    pub fn check_first_instruction(&mut self) {
        self.check_first = true;
    }

    /// Runs until the thread finishes or stops.
    pub fn run(&mut self) -> Result<Stop, RuntimeError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if self.frames.is_empty() {
            return Ok(Stop::Finished(self.result.clone().unwrap_or(Value::Unit)));
        }
        let result = loop {
            let result = if self.debug.as_ref().is_some_and(|d| d.active()) {
                self.run_loop::<true>()
            } else {
                self.run_loop::<false>()
            };
            // An instruction stopped on a missing chunk, before changing anything: fetch
            // it and run the instruction again.
            if let (Err(err), Some(id)) = (&result, self.missing.take()) {
                if err.kind == ErrorKind::Missing {
                    match self.fetch_chunk(id) {
                        Ok(()) => continue,
                        Err(why) => {
                            let mut err = err.clone();
                            err.message = format!("chunk {id} could not be fetched: {why}");
                            break Err(err);
                        }
                    }
                }
            }
            break result;
        };
        if let Err(err) = &result {
            // A thread that failed cannot go on: drop its frames (or keep them for a
            // debugger), keep the output.
            self.flush_line();
            if self.keep_failed {
                self.failed = Some(err.clone());
            } else {
                self.frames.clear();
            }
        }
        result
    }

    /// Runs the call begun by [`Vm::start`] to its end, through breakpoints, steps,
    /// pauses and safe points: its value, or the error that ended it.
    pub fn run_to_end(&mut self) -> Result<Value, RuntimeError> {
        loop {
            if let Stop::Finished(value) = self.run()? {
                return Ok(value);
            }
        }
    }

    fn flush_line(&mut self) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            let _ = writeln!(self.out, "{line}");
        }
    }

    fn print_value(&mut self, value: Value) {
        if !self.line.is_empty() {
            self.line.push(' ');
        }
        self.line.push_str(&value.to_string());
    }

    /// The name of the function whose chunk is `id`.
    pub fn function_name(&self, id: ChunkId) -> String {
        self.loaded
            .func_of_chunk
            .get(&id)
            .map(|idx| self.loaded.program.functions[*idx as usize].name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// The value of a reference of type `ty`.
    pub fn ref_value(&self, ty: &Type, id: ChunkId) -> Value {
        Value::from_ref(ty, id, &self.store, &|func| self.function_name(func))
    }

    fn poll(&mut self, pc: u32) -> Result<Option<Stop>, RuntimeError> {
        if self.count >= self.limits.instructions {
            return Err(self.error_at(
                pc,
                Fault::new(
                    ErrorKind::Budget,
                    format!(
                        "instruction budget exhausted after {}",
                        crate::diag::plural(self.limits.instructions, "instruction")
                    ),
                ),
            ));
        }
        self.check_chunks(pc)?;
        if self
            .cancel
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
        {
            return Err(self.error_at(pc, Fault::new(ErrorKind::Cancelled, "cancelled")));
        }
        if self.pause.swap(false, Ordering::Relaxed) {
            return Ok(Some(Stop::Paused));
        }
        if self.count >= self.stop_at {
            self.stop_at = u64::MAX;
            return Ok(Some(Stop::SafePoint));
        }
        Ok(None)
    }

    fn next_check(&self) -> u64 {
        self.limits
            .instructions
            .min(self.stop_at)
            .min(self.count.saturating_add(POLL))
    }
}

pub(crate) fn scalar_slots(value: &Value, ty: &Type) -> Option<Vec<u64>> {
    Some(match (value, ty) {
        (Value::Int(v), Type::Int) => vec![*v as u64],
        (Value::Float(v), Type::Float) => vec![v.to_bits()],
        (Value::Int(v), Type::Float) => vec![(*v as f64).to_bits()],
        (Value::Bool(v), Type::Bool) => vec![*v as u64],
        (Value::Color(c), Type::Color) => {
            let (lo, hi) = color_slots(*c);
            vec![lo, hi]
        }
        _ => return None,
    })
}

mod errors;
mod heap;
mod ops;
mod run;
mod tile;

pub(crate) use errors::Fault;
pub use errors::{CallError, ErrorKind, RuntimeError};
pub(crate) use heap::GC_FLOOR;
pub use heap::{deep_copy, Fetch, FetchError, ENV_CAP};
pub(crate) use tile::halves_of;
pub use tile::LANES;

#[cfg(test)]
mod tests;
