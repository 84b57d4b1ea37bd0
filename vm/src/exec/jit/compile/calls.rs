//! A region's calls of its own function and its returns (see the parent module): the
//! pushes and pops of the thread's frames, with the context's fields they use read
//! where they use them (kept in machine registers from the entry, they were spilled to
//! the stack and reloaded on every call).

use super::{spent, Lower, FRAME};
use crate::compile::ir::Instr;
use crate::exec::jit::{Ctx, SelfCalls};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Block, InstBuilder, MemFlags, Value};
use std::collections::HashMap;

/// The offset of a field of [`Ctx`].
macro_rules! at {
    ($field:ident) => {
        std::mem::offset_of!(Ctx, $field) as i32
    };
}

/// A call or return ending a segment: its offset, its index in the segment, the
/// segment's length and the instructions left before the segment.
#[derive(Clone, Copy)]
pub(super) struct Site {
    pub(super) at: usize,
    pub(super) idx: usize,
    pub(super) len: usize,
    pub(super) left: Value,
}

impl Site {
    /// The instruction before it when it is in its segment (see `Lower::leave`).
    fn before(&self) -> Option<usize> {
        self.at.checked_sub(1).filter(|_| self.idx > 0)
    }
}

/// What the calls and returns of a region with calls use besides its variables.
#[derive(Clone, Copy)]
pub(super) struct Frames {
    /// The context.
    ctx: Value,
    /// Whether a call moves the reference registers' base (then each call checks the
    /// room for the callee's; else the entered frame's room holds for every call: see
    /// `Ctx::end`).
    r_moves: bool,
}

impl Lower<'_> {
    /// A region with calls keeps its registers in memory from the current frame's base
    /// (`base` on entry), that frame's bases and the top of the frames in variables.
    pub(super) fn start_frames(
        &mut self,
        code: &[Instr],
        ctx: Value,
        base: Value,
    ) -> Result<(), String> {
        let calls = self.plan.calls.ok_or("a region with calls")?;
        let r_moves = self
            .plan
            .segments
            .iter()
            .filter(|seg| seg.jumps)
            .map(|seg| &code[seg.end - 1])
            .any(|ins| calls.call(ins) && ins.b != 0);
        let frames = Frames { ctx, r_moves };
        let sbase = self.field(frames, at!(sb));
        let rbase = if r_moves {
            self.field(frames, at!(rb))
        } else {
            self.b.ins().iconst(types::I64, 0)
        };
        let top = self.field(frames, at!(top));
        for (var, value) in [
            (self.base, base),
            (self.sbase, sbase),
            (self.rbase, rbase),
            (self.top, top),
        ] {
            self.b.declare_var(var, types::I64);
            self.b.def_var(var, value);
        }
        self.frames = Some(frames);
        Ok(())
    }

    /// A field of the context, read here.
    fn field(&mut self, frames: Frames, at: i32) -> Value {
        self.b
            .ins()
            .load(types::I64, MemFlags::trusted(), frames.ctx, at)
    }

    /// What a call or return (`what`) uses: the calls, the frames, the top now.
    fn frames(&mut self, what: &str) -> Result<(SelfCalls, Frames, Value), String> {
        let (Some(calls), Some(frames)) = (self.plan.calls, self.frames) else {
            return Err(format!("{what} in a region without calls"));
        };
        let top = self.b.use_var(self.top);
        Ok((calls, frames, top))
    }

    /// Goes on where `ok` holds; elsewhere the region leaves before the call or return
    /// at `site`, for the interpreter to run it.
    fn or_leave_before(&mut self, ok: Value, site: Site, exit: Block) {
        let cont = self.b.create_block();
        let fail = self.b.create_block();
        self.b.ins().brif(ok, cont, &[], fail, &[]);
        self.b.switch_to_block(fail);
        let before = spent(&mut self.b, site.left, site.idx);
        self.leave(site.at, site.before(), before, exit);
        self.b.switch_to_block(cont);
    }

    /// After a return at `site` from the frame below `top`: the top and the count; the
    /// instructions left.
    fn popped(&mut self, top: Value, site: Site) -> Value {
        let top = self.b.ins().iadd_imm(top, -FRAME);
        self.b.def_var(self.top, top);
        let after = spent(&mut self.b, site.left, site.len);
        self.b.def_var(self.left, after);
        after
    }

    /// Back in the caller of a frame the region pushed at `call`: its bases are the
    /// callee's less the call's register offsets (as the call moved them), not read
    /// from its frame, which would put two loads before the caller's next one.
    fn back_from(&mut self, call: &Instr, frames: Frames) {
        let (a, b) = (i64::from(call.a), i64::from(call.b));
        let sbase = self.b.use_var(self.sbase);
        let sbase = self.b.ins().iadd_imm(sbase, -a);
        self.b.def_var(self.sbase, sbase);
        let base = self.b.use_var(self.base);
        let base = self.b.ins().iadd_imm(base, -a * 8);
        self.b.def_var(self.base, base);
        if frames.r_moves {
            let rbase = self.b.use_var(self.rbase);
            let rbase = self.b.ins().iadd_imm(rbase, -b);
            self.b.def_var(self.rbase, rbase);
        }
    }

    /// A call of the function itself ending a segment: with room for the callee's
    /// frame and registers (else it leaves before the call), the caller's pc, the new
    /// frame, and on to the function's entry.
    pub(super) fn call(
        &mut self,
        ins: &Instr,
        site: Site,
        exit: Block,
        blocks: &HashMap<usize, Block>,
    ) -> Result<(), String> {
        let (calls, frames, top) = self.frames("a call")?;
        let (a, b) = (i64::from(ins.a), i64::from(ins.b));
        let flags = MemFlags::trusted();
        // The interpreter's checks, each a compare and a branch: the depth limit (and
        // here the vector's capacity), registers for the callee (else it grows them).
        let end = self.field(frames, at!(end));
        let deep = self.b.ins().icmp(IntCC::UnsignedLessThan, top, end);
        self.or_leave_before(deep, site, exit);
        let sbase = self.b.use_var(self.sbase);
        let sbase = self.b.ins().iadd_imm(sbase, a);
        let s_lim = self.field(frames, at!(s_lim));
        let s_ok = self
            .b
            .ins()
            .icmp(IntCC::SignedLessThanOrEqual, sbase, s_lim);
        self.or_leave_before(s_ok, site, exit);
        let rbase = if frames.r_moves {
            let rbase = self.b.use_var(self.rbase);
            let rbase = self.b.ins().iadd_imm(rbase, b);
            let r_lim = self.field(frames, at!(r_lim));
            let r_ok = self
                .b
                .ins()
                .icmp(IntCC::SignedLessThanOrEqual, rbase, r_lim);
            self.or_leave_before(r_ok, site, exit);
            self.b.def_var(self.rbase, rbase);
            rbase
        } else {
            self.field(frames, at!(rb))
        };
        // The caller's frame goes on after the call; the callee's starts at 0.
        let caller = self.b.ins().iconst(types::I32, (site.at + 1) as i64);
        self.b.ins().store(flags, caller, top, 4 - FRAME as i32);
        let func = self.b.ins().iconst(types::I64, i64::from(calls.func));
        self.b.ins().store(flags, func, top, 0);
        self.b.ins().istore32(flags, sbase, top, 8);
        self.b.ins().istore32(flags, rbase, top, 12);
        let nil = self.b.ins().iconst(types::I64, 0);
        self.b.ins().store(flags, nil, top, 16);
        let top = self.b.ins().iadd_imm(top, FRAME);
        self.b.def_var(self.top, top);
        self.b.def_var(self.sbase, sbase);
        let base = self.b.use_var(self.base);
        let base = self.b.ins().iadd_imm(base, a * 8);
        self.b.def_var(self.base, base);
        let after = spent(&mut self.b, site.left, site.len);
        self.b.def_var(self.left, after);
        let entry = self.go_on(0, site.at, after, exit, blocks);
        self.b.ins().jump(entry, &[]);
        Ok(())
    }

    /// A scalar return ending a segment: in the frame the region was entered in (the
    /// top the context holds until the region leaves) it leaves before it; in one it
    /// pushed, the result moves to register 0, the frame goes, and the caller goes on
    /// after its call (found by its pc among the region's calls, which pushed that
    /// frame; a pc that is none of them leaves there).
    pub(super) fn ret(
        &mut self,
        code: &[Instr],
        ins: &Instr,
        site: Site,
        exit: Block,
        blocks: &HashMap<usize, Block>,
    ) -> Result<(), String> {
        let (calls, frames, top) = self.frames("a return")?;
        let flags = MemFlags::trusted();
        let entered = self.field(frames, at!(top));
        let pushed = self.b.ins().icmp(IntCC::UnsignedGreaterThan, top, entered);
        self.or_leave_before(pushed, site, exit);
        if ins.a != 0 {
            let value = self.get(ins.a);
            self.set(0, value);
        }
        // The caller's pc, in the frame below the top one (read at the old top: the new
        // one is computed on each way on, so that it lands where the way on keeps it).
        let pc = self.b.ins().uload32(flags, top, 4 - 2 * FRAME as i32);
        let mut returns: Vec<usize> = self
            .plan
            .segments
            .iter()
            .filter(|seg| seg.jumps && calls.call(&code[seg.end - 1]))
            .map(|seg| seg.end)
            .collect();
        returns.sort_unstable();
        returns.dedup();
        for to in returns {
            let on = self.b.create_block();
            let next = self.b.create_block();
            let here = self.b.ins().icmp_imm(IntCC::Equal, pc, to as i64);
            self.b.ins().brif(here, on, &[], next, &[]);
            self.b.switch_to_block(on);
            let after = self.popped(top, site);
            self.back_from(&code[to - 1], frames);
            let block = self.go_on(to, site.at, after, exit, blocks);
            self.b.ins().jump(block, &[]);
            self.b.switch_to_block(next);
        }
        self.popped(top, site);
        let from = self
            .b
            .ins()
            .iconst(types::I64, ((site.at as u32 as u64) << 32) as i64);
        let answer = self.b.ins().bor(from, pc);
        self.b.def_var(self.next, answer);
        self.b.ins().jump(exit, &[]);
        Ok(())
    }
}
