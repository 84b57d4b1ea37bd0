//! The stepping API the debugger stands on: breakpoints by source line,
//! stepping by instruction or by line (over, into, out), and reading the
//! frames, locals and chunks of a stopped thread.

use super::value::Value;
use super::vm::{StepKind, StepState, Stop, Vm};
use crate::chunk::ChunkId;
use crate::compile::ir::Loc;
use crate::syntax::span::{LineIndex, Span};
use crate::types::Type;
use std::collections::BTreeSet;
use std::sync::Arc;

/// What the debugger keeps in the VM.
#[derive(Clone, Debug)]
pub struct DebugState {
    /// Breakpoint lines (1-based).
    pub(crate) breakpoints: BTreeSet<u32>,
    /// Instruction breakpoints: function and code offset.
    pub(crate) instruction_breakpoints: BTreeSet<(u32, u32)>,
    /// For each function, the 1-based line of each instruction.
    pub(crate) lines: Vec<Vec<u32>>,
    /// For each function, whether each instruction starts a line (the first of its
    /// block, or on another line than the one before it).
    pub(crate) line_start: Vec<Vec<bool>>,
    /// For each function, whether each instruction starts a line that has a
    /// breakpoint: the one look-up a run without a step makes per instruction.
    pub(crate) stop_at: Vec<Vec<bool>>,
    pub(crate) step: StepState,
    /// The last instruction seen: frame depth, function, offset.
    pub(crate) prev: (usize, u32, u32),
    /// The compiled regions this thread runs while it continues, which leave out the
    /// instructions marked in `stop_at`: made when first needed, dropped when the marks
    /// change (see `exec::jit`).
    pub(crate) jit: Option<Arc<crate::exec::jit::Jit>>,
}

impl DebugState {
    pub(crate) fn active(&self) -> bool {
        !self.breakpoints.is_empty()
            || !self.instruction_breakpoints.is_empty()
            || self.step != StepState::None
    }

    /// Marks the instructions that start a breakpoint's line, and those with an
    /// instruction breakpoint.
    fn mark_stops(&mut self) {
        // Regions compiled for the old marks may hold an instruction marked now.
        self.jit = None;
        self.stop_at = self
            .lines
            .iter()
            .zip(&self.line_start)
            .enumerate()
            .map(|(func, (lines, starts))| {
                lines
                    .iter()
                    .zip(starts)
                    .enumerate()
                    .map(|(pc, (line, start))| {
                        (*start && self.breakpoints.contains(line))
                            || self
                                .instruction_breakpoints
                                .contains(&(func as u32, pc as u32))
                    })
                    .collect()
            })
            .collect();
    }
}

/// One frame, for the debugger.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameInfo {
    /// The function's name.
    pub function: String,
    /// The source span of the current instruction.
    pub span: Span,
    /// Its 1-based line (0 when no source was given).
    pub line: u32,
    /// The code offset of the current instruction.
    pub pc: u32,
    /// The Block chunk of the current instruction and its index there.
    pub block: (ChunkId, u32),
    /// The pixel `(x, y)` of the image a job's filter call computes: set on the frame
    /// a filter or pipeline run called for that pixel (the bottom one), `None` on
    /// every other frame.
    pub pixel: Option<(u32, u32)>,
}

/// A local variable or parameter, for the debugger.
#[derive(Clone, Debug, PartialEq)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Its value.
    pub value: Value,
    /// Whether it is a parameter.
    pub is_param: bool,
}

impl Vm {
    /// Gives the VM the source text, so that it can map instructions to lines.
    pub fn set_source(&mut self, text: &str) {
        let index = LineIndex::new(text);
        let mut lines = Vec::new();
        let mut starts = Vec::new();
        for lf in &self.loaded.funcs {
            let func_lines: Vec<u32> = lf
                .spans
                .iter()
                .map(|span| index.line_col(text, span.start).line)
                .collect();
            let func_starts = (0..func_lines.len())
                .map(|pc| {
                    pc == 0
                        || lf.block_start.contains(&(pc as u32))
                        || func_lines[pc] != func_lines[pc - 1]
                })
                .collect();
            lines.push(func_lines);
            starts.push(func_starts);
        }
        let (breakpoints, instruction_breakpoints) = self
            .debug
            .take()
            .map(|d| (d.breakpoints, d.instruction_breakpoints))
            .unwrap_or_default();
        let mut debug = DebugState {
            breakpoints,
            instruction_breakpoints,
            lines,
            line_start: starts,
            stop_at: Vec::new(),
            step: StepState::None,
            prev: (0, u32::MAX, 0),
            jit: None,
        };
        debug.mark_stops();
        self.debug = Some(debug);
    }

    /// Sets the breakpoints to these 1-based lines. A line without code moves to the
    /// next line that has some. Returns, for each line asked, the line it is on
    /// (`None`: no code at or after it). Needs [`Vm::set_source`].
    pub fn set_breakpoints(&mut self, lines: &[u32]) -> Vec<Option<u32>> {
        let Some(debug) = self.debug.as_mut() else {
            return lines.iter().map(|_| None).collect();
        };
        let mut code_lines: Vec<u32> = debug.lines.iter().flatten().copied().collect();
        code_lines.sort_unstable();
        code_lines.dedup();
        debug.breakpoints.clear();
        let placed = lines
            .iter()
            .map(|line| {
                let at = code_lines.iter().copied().find(|code| code >= line);
                if let Some(at) = at {
                    debug.breakpoints.insert(at);
                }
                at
            })
            .collect();
        debug.mark_stops();
        placed
    }

    /// Sets the instruction breakpoints: each a function (its index in the program)
    /// and a code offset in it. Returns, for each, whether that instruction exists
    /// (those that do not are left out). Needs [`Vm::set_source`].
    pub fn set_instruction_breakpoints(&mut self, at: &[(u32, u32)]) -> Vec<bool> {
        let Some(debug) = self.debug.as_mut() else {
            return at.iter().map(|_| false).collect();
        };
        debug.instruction_breakpoints.clear();
        let placed = at
            .iter()
            .map(|(func, pc)| {
                let exists = debug
                    .lines
                    .get(*func as usize)
                    .is_some_and(|lines| (*pc as usize) < lines.len());
                if exists {
                    debug.instruction_breakpoints.insert((*func, *pc));
                }
                exists
            })
            .collect();
        debug.mark_stops();
        placed
    }

    /// Runs one step of `kind`, or less if a breakpoint or the end comes first.
    pub fn step(&mut self, kind: StepKind) -> Result<Stop, super::vm::RuntimeError> {
        let depth = self.frames.len();
        let (func, pc) = self.frames.last().map(|f| (f.func, f.pc)).unwrap_or((0, 0));
        let line = self.line_of(func, pc);
        if let Some(debug) = self.debug.as_mut() {
            debug.step = match kind {
                StepKind::Instruction => StepState::Instruction,
                kind => StepState::Line {
                    kind,
                    depth,
                    line,
                    func,
                    pc,
                },
            };
            debug.prev = (depth, func, pc);
        }
        let stop = self.run();
        if let Some(debug) = self.debug.as_mut() {
            debug.step = StepState::None;
        }
        stop
    }

    /// The compiled regions of a debugged thread that continues (`None` while it steps):
    /// the debugger looks at no instruction in them, so that running one is running its
    /// instructions in the interpreter, where every look lets the thread go on.
    #[cfg_attr(not(feature = "jit"), allow(dead_code))]
    pub(crate) fn debug_jit(&mut self) -> Option<Arc<crate::exec::jit::Jit>> {
        let debug = self.debug.as_mut()?;
        if debug.step != StepState::None {
            return None;
        }
        let loaded = &self.loaded;
        let jit = debug.jit.get_or_insert_with(|| {
            Arc::new(crate::exec::jit::Jit::for_debugger(
                loaded.funcs.iter().map(|lf| lf.code.len()),
                debug.stop_at.clone(),
            ))
        });
        Some(jit.clone())
    }

    fn line_of(&self, func: u32, pc: u32) -> u32 {
        self.debug
            .as_ref()
            .and_then(|d| d.lines.get(func as usize))
            .and_then(|lines| lines.get(pc as usize))
            .copied()
            .unwrap_or(0)
    }

    /// Called before each instruction in debug mode: whether to stop there.
    pub(crate) fn debug_check(&mut self, func: u32, pc: u32) -> Option<Stop> {
        let depth = self.frames.len();
        let debug = self.debug.as_mut()?;
        // Not stepping: only an instruction that starts a breakpoint's line can stop.
        if debug.step == StepState::None
            && !debug
                .stop_at
                .get(func as usize)
                .and_then(|stops| stops.get(pc as usize))
                .copied()
                .unwrap_or(false)
        {
            debug.prev = (depth, func, pc);
            return None;
        }
        let line = debug.lines.get(func as usize)?.get(pc as usize).copied()?;
        let is_start = debug.line_start[func as usize][pc as usize];
        let (prev_depth, prev_func, prev_pc) = debug.prev;
        let back_jump = prev_depth == depth && prev_func == func && pc <= prev_pc;
        let same_line_goes_on = prev_depth == depth
            && prev_func == func
            && !back_jump
            && debug.lines[func as usize].get(prev_pc as usize) == Some(&line);
        debug.prev = (depth, func, pc);
        let stepped = match debug.step {
            StepState::None => false,
            StepState::Instruction => true,
            StepState::Line {
                kind,
                depth: from_depth,
                line: from_line,
                ..
            } => match kind {
                StepKind::Out => depth < from_depth,
                StepKind::Over => {
                    depth < from_depth
                        || (depth == from_depth && is_start && (line != from_line || back_jump))
                }
                StepKind::Into | StepKind::Instruction => {
                    depth < from_depth
                        || (is_start && (depth != from_depth || line != from_line || back_jump))
                }
            },
        };
        if stepped {
            debug.step = StepState::None;
            return Some(Stop::Step);
        }
        if is_start && !same_line_goes_on && debug.breakpoints.contains(&line) {
            return Some(Stop::Breakpoint);
        }
        if debug.instruction_breakpoints.contains(&(func, pc)) {
            return Some(Stop::Breakpoint);
        }
        None
    }

    /// The frames, innermost first.
    pub fn stack(&self) -> Vec<FrameInfo> {
        let depth = self.frames.len();
        self.frames
            .iter()
            .enumerate()
            .rev()
            .map(|(idx, frame)| {
                let at = if idx + 1 == depth {
                    frame.pc
                } else {
                    frame.pc.saturating_sub(1)
                };
                let lf = &self.loaded.funcs[frame.func as usize];
                let (block, index) = lf.block_of(at);
                FrameInfo {
                    function: self.loaded.program.functions[frame.func as usize]
                        .name
                        .clone(),
                    span: lf.spans.get(at as usize).copied().unwrap_or_default(),
                    line: self.line_of(frame.func, at),
                    pc: at,
                    block: (
                        self.loaded.ids.blocks[frame.func as usize]
                            .get(block as usize)
                            .copied()
                            .unwrap_or(ChunkId::NIL),
                        index,
                    ),
                    pixel: if idx == 0 { self.job_pixel() } else { None },
                }
            })
            .collect()
    }

    /// Frame `frame` (0: innermost) and the source offset of its current instruction (a
    /// caller's: the call), which says which locals are in scope.
    fn frame_at(&self, frame: usize) -> Option<(super::vm::Frame, usize)> {
        let depth = self.frames.len();
        let idx = depth.checked_sub(frame + 1)?;
        let f = self.frames[idx];
        let at = if idx + 1 == depth {
            f.pc
        } else {
            f.pc.saturating_sub(1)
        };
        let offset = self.loaded.funcs[f.func as usize]
            .spans
            .get(at as usize)
            .map(|span| span.start)
            .unwrap_or(0);
        Some((f, offset))
    }

    /// The file's `param` values as the thread sees them now (`is_param` false: they
    /// are the file's, not a function's).
    pub fn params(&self) -> Vec<Variable> {
        let globals = self.globals();
        self.program()
            .globals
            .iter()
            .map(|global| Variable {
                name: global.name.clone(),
                ty: global.ty.clone(),
                value: Value::from_slots(
                    &global.ty,
                    globals.get(global.slot as usize..).unwrap_or(&[]),
                ),
                is_param: false,
            })
            .collect()
    }

    /// The parameters and locals in scope in frame `frame` (0: innermost), with their values.
    pub fn locals(&self, frame: usize) -> Vec<Variable> {
        let Some((f, offset)) = self.frame_at(frame) else {
            return Vec::new();
        };
        let func = &self.loaded.program.functions[f.func as usize];
        let mut out: Vec<Variable> = Vec::new();
        for local in &func.locals {
            if !local.is_param && (offset < local.scope.start || offset >= local.scope.end) {
                continue;
            }
            let value = match local.loc {
                Loc::S(reg) => {
                    let base = f.sbase as usize + reg as usize;
                    Value::from_slots(&local.ty, self.s.get(base..).unwrap_or(&[]))
                }
                Loc::R(reg) => {
                    let id = self
                        .r
                        .get(f.rbase as usize + reg as usize)
                        .copied()
                        .unwrap_or(ChunkId::NIL);
                    self.ref_value(&local.ty, id)
                }
                Loc::Env(slot) => {
                    let read = |slot: u16| self.env_value(f.env, slot);
                    if local.ty.is_ref() {
                        self.ref_value(&local.ty, ChunkId(read(slot)))
                    } else {
                        Value::from_slots(&local.ty, &[read(slot), read(slot + 1)])
                    }
                }
            };
            // A later binding of the same name shadows an earlier one.
            out.retain(|it| it.name != local.name);
            out.push(Variable {
                name: local.name.clone(),
                ty: local.ty.clone(),
                value,
                is_param: local.is_param,
            });
        }
        out
    }

    /// Sets the local or parameter `name` in scope in frame `frame` (0: innermost) of a
    /// stopped thread to `value`, of its type: an int, float, bool or colour (a debugger's
    /// setVariable). References (arrays, images, closures) are refused.
    pub fn set_local(
        &mut self,
        frame: usize,
        name: &str,
        value: &Value,
    ) -> Result<(), super::vm::CallError> {
        use super::vm::CallError;
        let unknown = || CallError::UnknownLocal {
            name: name.to_string(),
            frame,
        };
        let (f, offset) = self.frame_at(frame).ok_or_else(unknown)?;
        let func = &self.loaded.program.functions[f.func as usize];
        // The last binding in scope of that name (a later one shadows an earlier one).
        let local = func
            .locals
            .iter()
            .rev()
            .find(|local| {
                local.name == name
                    && (local.is_param || (offset >= local.scope.start && offset < local.scope.end))
            })
            .cloned()
            .ok_or_else(unknown)?;
        if local.ty.is_ref() {
            return Err(CallError::NotSettable {
                name: name.to_string(),
                ty: local.ty.clone(),
            });
        }
        let slots =
            super::vm::scalar_slots(value, &local.ty).ok_or_else(|| CallError::ArgType {
                name: name.to_string(),
                ty: local.ty.clone(),
                given: value.kind(),
            })?;
        match local.loc {
            Loc::S(reg) => {
                let base = f.sbase as usize + reg as usize;
                for (pos, slot) in slots.iter().enumerate() {
                    if let Some(cell) = self.s.get_mut(base + pos) {
                        *cell = *slot;
                    }
                }
            }
            Loc::Env(slot) => {
                for (pos, value) in slots.iter().enumerate() {
                    self.env_set(f.env, 0, slot + pos as u16, *value, false)
                        .map_err(|_| unknown())?;
                }
            }
            Loc::R(_) => {
                return Err(CallError::NotSettable {
                    name: name.to_string(),
                    ty: local.ty.clone(),
                })
            }
        }
        Ok(())
    }

    fn env_value(&self, env: ChunkId, slot: u16) -> u64 {
        let mut id = env;
        let mut slot = slot as usize;
        while slot >= super::vm::ENV_CAP {
            id = self
                .store
                .get(id)
                .and_then(|c| c.link(31))
                .unwrap_or(ChunkId::NIL);
            slot -= super::vm::ENV_CAP;
        }
        self.store.get(id).map(|c| c.get(slot + 1)).unwrap_or(0)
    }
}
