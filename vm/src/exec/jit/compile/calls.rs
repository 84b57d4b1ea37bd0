//! A region's calls of its own function and its returns (see the parent module): the
//! context's fields they use, read on entry, and the pushes and pops of the thread's
//! frames.

use super::{Lower, FRAME};
use crate::compile::ir::Instr;
use crate::exec::jit::{Ctx, SelfCalls};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Block, InstBuilder, MemFlags, Value};
use cranelift_frontend::FunctionBuilder;
use std::collections::HashMap;

/// The offset of a field of [`Ctx`].
macro_rules! at {
    ($field:ident) => {
        std::mem::offset_of!(Ctx, $field) as i32
    };
}

/// A call or return ending a segment: its offset, its index in the segment, the
/// segment's length and the count before the segment.
#[derive(Clone, Copy)]
pub(super) struct Site {
    pub(super) at: usize,
    pub(super) idx: usize,
    pub(super) len: usize,
    pub(super) ran: Value,
}

impl Site {
    /// The instruction before it when it is in its segment (see `Lower::leave`).
    fn before(&self) -> Option<usize> {
        self.at.checked_sub(1).filter(|_| self.idx > 0)
    }
}

/// The context's fields a region with calls uses, read on entry.
#[derive(Clone, Copy)]
pub(super) struct Read {
    regs: Value,
    /// The room for registers less a callee's (`s_room - nregs - 2`, signed), and for
    /// reference registers (`r_room - nrefs - 1`).
    s_lim: Value,
    r_lim: Value,
    /// Whether a call moves the reference registers' base; if not, whether there is
    /// room for the callee's (the same at every call).
    r_moves: bool,
    r_fits: Value,
    /// The frames' length on entry: a return in a frame above it pops.
    len0: Value,
    frames: Value,
    max: Value,
    sb: Value,
    rb: Value,
}

impl Lower<'_> {
    /// A region with calls reads the context's fields they use on entry (`base`: the
    /// entered frame's registers) and keeps its registers in memory from the current
    /// frame's base.
    pub(super) fn read_ctx(
        &mut self,
        code: &[Instr],
        ctx: Value,
        base: Value,
    ) -> Result<(), String> {
        let flags = MemFlags::trusted();
        let field = |b: &mut FunctionBuilder, at: i32| b.ins().load(types::I64, flags, ctx, at);
        let calls = self.plan.calls.ok_or("a region with calls")?;
        let s_room = field(&mut self.b, at!(s_room));
        let r_room = field(&mut self.b, at!(r_room));
        let s_lim = self.b.ins().iadd_imm(s_room, -(i64::from(calls.nregs) + 2));
        let r_lim = self.b.ins().iadd_imm(r_room, -(i64::from(calls.nrefs) + 1));
        let r_fits = self
            .b
            .ins()
            .icmp_imm(IntCC::SignedGreaterThanOrEqual, r_lim, 0);
        let len = field(&mut self.b, at!(len));
        let r_moves = self
            .plan
            .segments
            .iter()
            .filter(|seg| seg.jumps)
            .map(|seg| &code[seg.end - 1])
            .any(|ins| calls.call(ins) && ins.b != 0);
        let read = Read {
            regs: base,
            s_lim,
            r_lim,
            r_moves,
            r_fits,
            len0: len,
            frames: field(&mut self.b, at!(frames)),
            max: field(&mut self.b, at!(max)),
            sb: field(&mut self.b, at!(sb)),
            rb: field(&mut self.b, at!(rb)),
        };
        let zero = self.b.ins().iconst(types::I64, 0);
        for (var, value) in [
            (self.base, base),
            (self.offs, zero),
            (self.offr, zero),
            (self.len, len),
        ] {
            self.b.declare_var(var, types::I64);
            self.b.def_var(var, value);
        }
        self.ctx = Some(read);
        Ok(())
    }

    /// What a call or return (`what`) uses: the calls, the context read on entry, the
    /// frames' length now.
    fn frames(&mut self, what: &str) -> Result<(SelfCalls, Read, Value), String> {
        let (Some(calls), Some(read)) = (self.plan.calls, self.ctx) else {
            return Err(format!("{what} in a region without calls"));
        };
        let len = self.b.use_var(self.len);
        Ok((calls, read, len))
    }

    /// Goes on where `ok` holds; elsewhere the region leaves before the call or return
    /// at `site`, for the interpreter to run it.
    fn or_leave_before(&mut self, ok: Value, site: Site, exit: Block) {
        let cont = self.b.create_block();
        let fail = self.b.create_block();
        self.b.ins().brif(ok, cont, &[], fail, &[]);
        self.b.switch_to_block(fail);
        let before = self.b.ins().iadd_imm(site.ran, site.idx as i64);
        self.leave(site.at, site.before(), before, exit);
        self.b.switch_to_block(cont);
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
        let (calls, read, len) = self.frames("a call")?;
        let (a, b) = (i64::from(ins.a), i64::from(ins.b));
        let flags = MemFlags::trusted();
        let offs = self.b.use_var(self.offs);
        let offr = self.b.use_var(self.offr);
        // The interpreter's checks: the depth limit (and here the vector's capacity),
        // registers for the callee (else it grows them).
        let deep = self.b.ins().icmp(IntCC::UnsignedLessThan, len, read.max);
        let need = self.b.ins().iadd_imm(offs, a);
        let s_ok = self
            .b
            .ins()
            .icmp(IntCC::SignedLessThanOrEqual, need, read.s_lim);
        let r_ok = if read.r_moves {
            let need = self.b.ins().iadd_imm(offr, b);
            self.b
                .ins()
                .icmp(IntCC::SignedLessThanOrEqual, need, read.r_lim)
        } else {
            read.r_fits
        };
        let ok = self.b.ins().band(deep, s_ok);
        let ok = self.b.ins().band(ok, r_ok);
        self.or_leave_before(ok, site, exit);
        // The caller's frame goes on after the call; the callee's starts at 0.
        let bytes = self.b.ins().imul_imm(len, FRAME);
        let top = self.b.ins().iadd(read.frames, bytes);
        let caller = self.b.ins().iconst(types::I64, (site.at + 1) as i64);
        self.b.ins().istore32(flags, caller, top, 4 - FRAME as i32);
        let func = self.b.ins().iconst(types::I64, i64::from(calls.func));
        self.b.ins().store(flags, func, top, 0);
        let offs = self.b.ins().iadd_imm(offs, a);
        let offr = self.b.ins().iadd_imm(offr, b);
        let sbase = self.b.ins().iadd(read.sb, offs);
        let rbase = self.b.ins().iadd(read.rb, offr);
        self.b.ins().istore32(flags, sbase, top, 8);
        self.b.ins().istore32(flags, rbase, top, 12);
        let nil = self.b.ins().iconst(types::I64, 0);
        self.b.ins().store(flags, nil, top, 16);
        let len = self.b.ins().iadd_imm(len, 1);
        self.b.def_var(self.len, len);
        self.b.def_var(self.offs, offs);
        if read.r_moves {
            self.b.def_var(self.offr, offr);
        }
        let base = self.b.use_var(self.base);
        let base = self.b.ins().iadd_imm(base, a * 8);
        self.b.def_var(self.base, base);
        let after = self.b.ins().iadd_imm(site.ran, site.len as i64);
        self.b.def_var(self.ran, after);
        let entry = self.go_on(0, site.at, after, exit, blocks);
        self.b.ins().jump(entry, &[]);
        Ok(())
    }

    /// A scalar return ending a segment: in the frame the region was entered in it
    /// leaves before it; in one it pushed, the result moves to register 0, the frame
    /// goes, and the caller goes on after its call (found by its pc among the region's
    /// calls; a pc that is none of them leaves there).
    pub(super) fn ret(
        &mut self,
        code: &[Instr],
        ins: &Instr,
        site: Site,
        exit: Block,
        blocks: &HashMap<usize, Block>,
    ) -> Result<(), String> {
        let (calls, read, len) = self.frames("a return")?;
        let flags = MemFlags::trusted();
        let pushed = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, len, read.len0);
        self.or_leave_before(pushed, site, exit);
        let value = self.get(ins.a);
        self.set(0, value);
        let len = self.b.ins().iadd_imm(len, -1);
        self.b.def_var(self.len, len);
        let bytes = self.b.ins().imul_imm(len, FRAME);
        let top = self.b.ins().iadd(read.frames, bytes);
        let pc = self.b.ins().uload32(flags, top, 4 - FRAME as i32);
        let sbase = self.b.ins().uload32(flags, top, 8 - FRAME as i32);
        let offs = self.b.ins().isub(sbase, read.sb);
        self.b.def_var(self.offs, offs);
        if read.r_moves {
            let rbase = self.b.ins().uload32(flags, top, 12 - FRAME as i32);
            let offr = self.b.ins().isub(rbase, read.rb);
            self.b.def_var(self.offr, offr);
        }
        let bytes = self.b.ins().ishl_imm(offs, 3);
        let base = self.b.ins().iadd(read.regs, bytes);
        self.b.def_var(self.base, base);
        let after = self.b.ins().iadd_imm(site.ran, site.len as i64);
        self.b.def_var(self.ran, after);
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
            let block = self.go_on(to, site.at, after, exit, blocks);
            let next = self.b.create_block();
            let here = self.b.ins().icmp_imm(IntCC::Equal, pc, to as i64);
            self.b.ins().brif(here, block, &[], next, &[]);
            self.b.switch_to_block(next);
        }
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
