//! A region's segments to machine code with cranelift: one function per region,
//! `fn(ctx: *mut Ctx, limit: u64, entry: u64) -> u64`, which jumps from its entry block
//! to its first segment (`entry` 0 and anything out of range) or to a copy of the
//! segment of its `entry`-th entry (`Plan::entries`) that goes on to the region's
//! blocks, and returns the next code offset in the low 32 bits, and in the
//! high 32 bits the offset of the last instruction the region ran when that is known
//! where it leaves (`UNKNOWN` otherwise; see `Lower::leave`); the count in `ctx.ran`.
//!
//! Registers live in cranelift variables while the region runs: loaded from the frame's
//! registers on entry and stored back on every exit (one exit block). A region that
//! calls its own function keeps them in memory instead (each read a load, each write a
//! store, from the current frame's base), which a call and a return move (`calls`): a
//! call checks the room the interpreter's call checks (depth, registers; else it leaves
//! before the call for the interpreter to grow them or report the error), writes the
//! caller's pc and the new frame, and goes to the function's entry; a return in a frame
//! the region pushed (the frames longer than on entry) moves the result, pops the
//! frame, and goes on after the call its caller made (the caller's pc, compared with
//! the region's calls); in the frame the region was entered in, it leaves before the
//! return. Each segment is entered only if `ran + its length < limit` (see the parent
//! module's doc), counted down: its length below the instructions left; a division by
//! a zero register exits before the instruction.

mod calls;

use super::divide::Divisor;
use super::{targets, Ctx, Plan, Segment};
use crate::compile::ir::{Instr, Op};
use calls::{Frames, Site};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::Ieee64;
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, MemFlags, UserFuncName, Value};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Switch, Variable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::Module as _;
use std::collections::HashMap;

/// A compiled region's entry point.
/// Its arguments: the context, the instructions left before the interpreter's next
/// check, and which of the plan's entries it is entered at (see [`Plan::entries`]).
pub(super) type Entry = unsafe extern "C" fn(*mut Ctx, u64, u64) -> u64;

/// Bytes of a frame in the thread's frame vector.
const FRAME: i64 = std::mem::size_of::<crate::exec::vm::Frame>() as i64;

/// The instructions left after `n` more of `left` run.
fn spent(b: &mut FunctionBuilder, left: Value, n: usize) -> Value {
    b.ins().iadd_imm(left, -(n as i64))
}

/// The offset of a field of [`Ctx`].
macro_rules! at {
    ($field:ident) => {
        std::mem::offset_of!(Ctx, $field) as i32
    };
}

/// The high half of a region's answer when the last instruction it ran is not known
/// where it leaves.
pub(super) const UNKNOWN: u32 = u32::MAX;

/// Whether cranelift compiles for this host.
pub(super) fn host_supported() -> bool {
    cranelift_native::builder().is_ok()
}

/// A cranelift JIT module: the machine code of one program's regions.
pub(super) struct Module {
    module: JITModule,
    ctx: Context,
    fctx: FunctionBuilderContext,
}

// SAFETY: a `JITModule` is not `Send` because its memory provider holds raw pointers to
// the code pages it allocated; those pages belong to no thread. The module is only used
// behind the cache's mutex, one thread at a time.
unsafe impl Send for Module {}

impl Module {
    /// A module for the host, or `None` when cranelift does not support it.
    pub(super) fn new() -> Option<Module> {
        let mut flags = settings::builder();
        flags.set("opt_level", "speed").ok()?;
        flags.set("use_colocated_libcalls", "false").ok()?;
        flags.set("is_pic", "false").ok()?;
        let isa = cranelift_native::builder()
            .ok()?
            .finish(settings::Flags::new(flags))
            .ok()?;
        let module = JITModule::new(JITBuilder::with_isa(
            isa,
            cranelift_module::default_libcall_names(),
        ));
        let ctx = module.make_context();
        Some(Module {
            module,
            ctx,
            fctx: FunctionBuilderContext::new(),
        })
    }

    /// Compiles `plan` over the function's decoded `code`: the entry point and the bytes
    /// of machine code.
    pub(super) fn compile(
        &mut self,
        code: &[Instr],
        plan: &Plan,
    ) -> Result<(Entry, usize), String> {
        self.module.clear_context(&mut self.ctx);
        let ptr = self.module.target_config().pointer_type();
        if ptr != types::I64 {
            return Err("the JIT needs 64-bit pointers".into());
        }
        let sig = &mut self.ctx.func.signature;
        sig.params.push(AbiParam::new(types::I64));
        sig.params.push(AbiParam::new(types::I64));
        sig.params.push(AbiParam::new(types::I64));
        sig.returns.push(AbiParam::new(types::I64));
        let signature = sig.clone();
        let id = self
            .module
            .declare_anonymous_function(&signature)
            .map_err(|err| err.to_string())?;
        self.ctx.func.name = UserFuncName::user(0, id.as_u32());
        {
            let builder = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
            Lower::new(builder, plan).emit(code)?;
        }
        self.module
            .define_function(id, &mut self.ctx)
            .map_err(|err| format!("{err:?}"))?;
        let bytes = self
            .ctx
            .compiled_code()
            .map_or(0, |code| code.code_info().total_size as usize);
        self.module.clear_context(&mut self.ctx);
        self.module
            .finalize_definitions()
            .map_err(|err| err.to_string())?;
        let ptr = self.module.get_finalized_function(id);
        // SAFETY: `ptr` is the finalized code of a function of exactly this signature in
        // the host's default calling convention, which is `extern "C"`.
        let entry = unsafe { std::mem::transmute::<*const u8, Entry>(ptr) };
        Ok((entry, bytes))
    }

    /// Frees the machine code.
    ///
    /// # Safety
    ///
    /// No region of this module runs or is called after this.
    pub(super) unsafe fn free(self) {
        // SAFETY: as the caller promises.
        unsafe { self.module.free_memory() };
    }
}

/// The lowering of one region.
struct Lower<'a> {
    b: FunctionBuilder<'a>,
    plan: &'a Plan,
    /// Registers in memory (a region with calls), else register `i` is variable `i`.
    mem: bool,
    /// Then the instructions left before the interpreter's next check (the limit less
    /// the count so far: a segment's check is one compare with its length, and its count
    /// one subtraction) and the next code offset; with calls, the current frame's
    /// registers, its bases and one past the top frame (see `calls`).
    left: Variable,
    next: Variable,
    base: Variable,
    sbase: Variable,
    rbase: Variable,
    top: Variable,
    /// With calls, what they use.
    frames: Option<Frames>,
}

impl<'a> Lower<'a> {
    fn new(b: FunctionBuilder<'a>, plan: &'a Plan) -> Lower<'a> {
        let regs = plan.regs as u32;
        let var = |n: u32| Variable::from_u32(regs + n);
        Lower {
            b,
            plan,
            mem: plan.calls.is_some(),
            left: var(0),
            next: var(1),
            base: var(2),
            sbase: var(3),
            rbase: var(4),
            top: var(5),
            frames: None,
        }
    }

    fn reg(&self, idx: u16) -> Variable {
        Variable::from_u32(idx as u32)
    }

    fn get(&mut self, idx: u16) -> Value {
        if self.mem {
            let base = self.b.use_var(self.base);
            return self
                .b
                .ins()
                .load(types::I64, MemFlags::trusted(), base, i32::from(idx) * 8);
        }
        let var = self.reg(idx);
        self.b.use_var(var)
    }

    fn set(&mut self, idx: u16, value: Value) {
        if self.mem {
            let base = self.b.use_var(self.base);
            self.b
                .ins()
                .store(MemFlags::trusted(), value, base, i32::from(idx) * 8);
            return;
        }
        let var = self.reg(idx);
        self.b.def_var(var, value);
    }

    fn getf(&mut self, idx: u16) -> Value {
        let v = self.get(idx);
        self.b.ins().bitcast(types::F64, MemFlags::new(), v)
    }

    fn setf(&mut self, idx: u16, value: Value) {
        let v = self.b.ins().bitcast(types::I64, MemFlags::new(), value);
        self.set(idx, v);
    }

    fn fconst(&mut self, bits: u64) -> Value {
        self.b.ins().f64const(Ieee64::with_bits(bits))
    }

    fn flag(&mut self, cond: Value) -> Value {
        self.b.ins().uextend(types::I64, cond)
    }

    /// `x / k` truncated toward zero, for a constant `k` other than 0 and -1: a multiply
    /// and shifts where [`Divisor`] has a way (the same steps as `Divisor::quotient`),
    /// else the machine's division (`k == 1`, `k == i64::MIN`, which cannot trap).
    fn div_const(&mut self, x: Value, k: i64) -> Value {
        match Divisor::new(k) {
            Some(Divisor::Pow2 { shift, negative }) => {
                let sign = self.b.ins().sshr_imm(x, 63);
                let bias = self.b.ins().ushr_imm(sign, i64::from(64 - shift));
                let biased = self.b.ins().iadd(x, bias);
                let q = self.b.ins().sshr_imm(biased, i64::from(shift));
                if negative {
                    self.b.ins().ineg(q)
                } else {
                    q
                }
            }
            Some(Divisor::Magic { magic, shift, d }) => {
                let m = self.b.ins().iconst(types::I64, magic);
                let mut q = self.b.ins().smulhi(m, x);
                if d > 0 && magic < 0 {
                    q = self.b.ins().iadd(q, x);
                } else if d < 0 && magic > 0 {
                    q = self.b.ins().isub(q, x);
                }
                let q = self.b.ins().sshr_imm(q, i64::from(shift));
                let sign = self.b.ins().ushr_imm(q, 63);
                self.b.ins().iadd(q, sign)
            }
            None => {
                let k = self.b.ins().iconst(types::I64, k);
                self.b.ins().sdiv(x, k)
            }
        }
    }

    fn emit(mut self, code: &[Instr]) -> Result<(), String> {
        let regs = self.plan.regs;
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        self.b.switch_to_block(entry);
        let params = self.b.block_params(entry).to_vec();
        let [ctx, limit, entry] = params[..] else {
            return Err("the region's signature has three parameters".into());
        };
        let flags = MemFlags::trusted();
        let base = self.b.ins().load(types::I64, flags, ctx, at!(regs));
        if self.mem {
            self.start_frames(code, ctx, base)?;
        } else {
            for idx in 0..regs {
                let var = Variable::from_u32(idx as u32);
                self.b.declare_var(var, types::I64);
                let value = self.b.ins().load(types::I64, flags, base, (idx * 8) as i32);
                self.b.def_var(var, value);
            }
        }
        self.b.declare_var(self.left, types::I64);
        self.b.declare_var(self.next, types::I64);
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.def_var(self.left, limit);
        self.b.def_var(self.next, zero);

        let exit = self.b.create_block();
        let blocks: HashMap<usize, cranelift_codegen::ir::Block> = self
            .plan
            .segments
            .iter()
            .map(|seg| (seg.start, self.b.create_block()))
            .collect();
        // The entry's segment: the `entry`-th of the plan's entries. The first is the
        // region's first block; each other one enters a copy of its segment (going on
        // to the region's blocks), so that no block gains a predecessor: the hot paths
        // are compiled nearly as for a region with one entry (a block entered from the
        // entry too takes its values as block parameters on every way in, which cost fib
        // 11% more instructions run; the copies, 4% more than one entry).
        let first = self
            .plan
            .segments
            .first()
            .map(|seg| seg.start)
            .ok_or("a region has a segment")?;
        let others: Vec<Segment> = self
            .plan
            .entries
            .iter()
            .skip(1)
            .map(|&idx| self.plan.segments.get(idx).copied())
            .collect::<Option<_>>()
            .ok_or("an entry is a segment")?;
        let copies: Vec<_> = others.iter().map(|_| self.b.create_block()).collect();
        if copies.is_empty() {
            self.b.ins().jump(blocks[&first], &[]);
        } else {
            // Entry 0 and anything out of range go to the first.
            let mut switch = Switch::new();
            for (idx, block) in copies.iter().enumerate() {
                switch.set_entry(idx as u128 + 1, *block);
            }
            switch.emit(&mut self.b, entry, blocks[&first]);
        }

        for seg in &self.plan.segments {
            self.b.switch_to_block(blocks[&seg.start]);
            self.segment(code, *seg, exit, &blocks)?;
        }
        for (seg, block) in others.into_iter().zip(copies) {
            self.b.switch_to_block(block);
            self.segment(code, seg, exit, &blocks)?;
        }

        // The exit: registers back, the count (and the frames' top) out, the next
        // offset returned.
        self.b.switch_to_block(exit);
        if self.mem {
            let top = self.b.use_var(self.top);
            self.b.ins().store(flags, top, ctx, at!(top));
        } else {
            for idx in 0..regs {
                let value = self.get(idx as u16);
                self.b.ins().store(flags, value, base, (idx * 8) as i32);
            }
        }
        let left = self.b.use_var(self.left);
        let ran = self.b.ins().isub(limit, left);
        self.b.ins().store(flags, ran, ctx, at!(ran));
        let next = self.b.use_var(self.next);
        self.b.ins().return_(&[next]);
        self.b.seal_all_blocks();
        self.b.finalize();
        Ok(())
    }

    /// Leaves the region for the interpreter at `pc`, with `left` instructions left; `from`
    /// is the last instruction run, when this way out is reached from one instruction
    /// only (a jump out of the region, the end of a segment without a jump, a zero divisor
    /// after the first instruction of its segment). It is not known (`None`) where the
    /// region leaves at one of its own instructions reached from several (a segment's
    /// start for want of instructions before the next check, a zero divisor at a
    /// segment's start), an instruction of the region: a debugger's look at it does not
    /// depend on the one before (see `exec::jit`).
    fn leave(
        &mut self,
        pc: usize,
        from: Option<usize>,
        left: Value,
        exit: cranelift_codegen::ir::Block,
    ) {
        let from = from.map_or(UNKNOWN, |from| from as u32);
        let answer = u64::from(from) << 32 | pc as u32 as u64;
        let pc = self.b.ins().iconst(types::I64, answer as i64);
        self.b.def_var(self.next, pc);
        self.b.def_var(self.left, left);
        self.b.ins().jump(exit, &[]);
    }

    fn segment(
        &mut self,
        code: &[Instr],
        seg: Segment,
        exit: cranelift_codegen::ir::Block,
        blocks: &HashMap<usize, cranelift_codegen::ir::Block>,
    ) -> Result<(), String> {
        let left = self.b.use_var(self.left);
        let fits = self
            .b
            .ins()
            .icmp_imm(IntCC::UnsignedGreaterThan, left, seg.len() as i64);
        let body = self.b.create_block();
        let stop = self.b.create_block();
        self.b.ins().brif(fits, body, &[], stop, &[]);
        self.b.switch_to_block(stop);
        self.leave(seg.start, None, left, exit);
        self.b.switch_to_block(body);

        for (idx, ins) in code[seg.start..seg.end].iter().enumerate() {
            let (a, b, c) = (ins.a, ins.b, ins.c);
            let ins_pc = seg.start + idx;
            // Where it is a call or return ending the segment.
            let site = Site {
                at: ins_pc,
                idx,
                len: seg.len(),
                left,
            };
            match ins.op {
                Op::Nop => {}
                Op::Const => {
                    let v = self.b.ins().iconst(types::I64, ins.k as i64);
                    self.set(a, v);
                }
                Op::Mov => {
                    let v = self.get(b);
                    self.set(a, v);
                }
                Op::Mov2 => {
                    let v = self.get(b);
                    self.set(a, v);
                    let v = self.get(b + 1);
                    self.set(a + 1, v);
                }
                Op::AddI | Op::SubI | Op::MulI => {
                    let (x, y) = (self.get(b), self.get(c));
                    let v = match ins.op {
                        Op::AddI => self.b.ins().iadd(x, y),
                        Op::SubI => self.b.ins().isub(x, y),
                        _ => self.b.ins().imul(x, y),
                    };
                    self.set(a, v);
                }
                Op::DivI | Op::RemI => {
                    let (x, y) = (self.get(b), self.get(c));
                    // A zero divisor: the interpreter reports it, at this instruction.
                    let cont = self.b.create_block();
                    let fail = self.b.create_block();
                    self.b.ins().brif(y, cont, &[], fail, &[]);
                    self.b.switch_to_block(fail);
                    let before = spent(&mut self.b, left, idx);
                    self.leave(
                        ins_pc,
                        ins_pc.checked_sub(1).filter(|_| idx > 0),
                        before,
                        exit,
                    );
                    self.b.switch_to_block(cont);
                    // x / -1 wraps (i64::MIN / -1 is i64::MIN, i64::MIN % -1 is 0): the
                    // machine division would trap, so it divides by 1 there instead.
                    let minus_one = self.b.ins().icmp_imm(IntCC::Equal, y, -1);
                    let one = self.b.ins().iconst(types::I64, 1);
                    let safe = self.b.ins().select(minus_one, one, y);
                    let v = if ins.op == Op::DivI {
                        let q = self.b.ins().sdiv(x, safe);
                        let neg = self.b.ins().ineg(x);
                        self.b.ins().select(minus_one, neg, q)
                    } else {
                        let r = self.b.ins().srem(x, safe);
                        let zero = self.b.ins().iconst(types::I64, 0);
                        self.b.ins().select(minus_one, zero, r)
                    };
                    self.set(a, v);
                }
                Op::NegI => {
                    let x = self.get(b);
                    let v = self.b.ins().ineg(x);
                    self.set(a, v);
                }
                Op::AddIK => {
                    let x = self.get(b);
                    let v = self.b.ins().iadd_imm(x, ins.k as i64);
                    self.set(a, v);
                }
                Op::MulIK => {
                    let x = self.get(b);
                    let v = self.b.ins().imul_imm(x, ins.k as i64);
                    self.set(a, v);
                }
                Op::DivIK | Op::RemIK => {
                    let k = ins.k as i64;
                    let x = self.get(b);
                    let v = match (ins.op, k) {
                        (_, 0) => return Err("a division by a constant zero".into()),
                        (Op::DivIK, -1) => self.b.ins().ineg(x),
                        (Op::RemIK, -1) => self.b.ins().iconst(types::I64, 0),
                        (Op::DivIK, _) => self.div_const(x, k),
                        _ => {
                            // n - (n / k) * k, wrapping: the interpreter's wrapping_rem.
                            let q = self.div_const(x, k);
                            let qk = self.b.ins().imul_imm(q, k);
                            self.b.ins().isub(x, qk)
                        }
                    };
                    self.set(a, v);
                }
                Op::AddFK | Op::SubFK | Op::RSubFK | Op::MulFK | Op::DivFK => {
                    let x = self.getf(b);
                    let k = self.fconst(ins.k);
                    let v = match ins.op {
                        Op::AddFK => self.b.ins().fadd(x, k),
                        Op::SubFK => self.b.ins().fsub(x, k),
                        Op::RSubFK => self.b.ins().fsub(k, x),
                        Op::MulFK => self.b.ins().fmul(x, k),
                        _ => self.b.ins().fdiv(x, k),
                    };
                    self.setf(a, v);
                }
                Op::AddF | Op::SubF | Op::MulF | Op::DivF => {
                    let (x, y) = (self.getf(b), self.getf(c));
                    let v = match ins.op {
                        Op::AddF => self.b.ins().fadd(x, y),
                        Op::SubF => self.b.ins().fsub(x, y),
                        Op::MulF => self.b.ins().fmul(x, y),
                        _ => self.b.ins().fdiv(x, y),
                    };
                    self.setf(a, v);
                }
                Op::NegF => {
                    let x = self.getf(b);
                    let v = self.b.ins().fneg(x);
                    self.setf(a, v);
                }
                Op::EqI | Op::NeI | Op::LtI | Op::LeI => {
                    let (x, y) = (self.get(b), self.get(c));
                    let cc = match ins.op {
                        Op::EqI => IntCC::Equal,
                        Op::NeI => IntCC::NotEqual,
                        Op::LtI => IntCC::SignedLessThan,
                        _ => IntCC::SignedLessThanOrEqual,
                    };
                    let cond = self.b.ins().icmp(cc, x, y);
                    let v = self.flag(cond);
                    self.set(a, v);
                }
                Op::EqF | Op::NeF | Op::LtF | Op::LeF => {
                    let (x, y) = (self.getf(b), self.getf(c));
                    // As Rust's operators: only `!=` is true when either is NaN.
                    let cc = match ins.op {
                        Op::EqF => FloatCC::Equal,
                        Op::NeF => FloatCC::NotEqual,
                        Op::LtF => FloatCC::LessThan,
                        _ => FloatCC::LessThanOrEqual,
                    };
                    let cond = self.b.ins().fcmp(cc, x, y);
                    let v = self.flag(cond);
                    self.set(a, v);
                }
                Op::Not => {
                    let x = self.get(b);
                    let cond = self.b.ins().icmp_imm(IntCC::Equal, x, 0);
                    let v = self.flag(cond);
                    self.set(a, v);
                }
                Op::Call if self.plan.calls.is_some_and(|calls| calls.call(ins)) => {
                    return self.call(ins, site, exit, blocks);
                }
                Op::Ret if self.mem => return self.ret(code, ins, site, exit, blocks),
                op if super::is_jump(op) => {
                    let after = spent(&mut self.b, left, seg.len());
                    self.b.def_var(self.left, after);
                    self.jump(ins, ins_pc, after, exit, blocks);
                    return Ok(());
                }
                op => return Err(format!("{} is not compiled", op.name())),
            }
        }
        // The segment ends before an instruction the interpreter runs.
        let after = spent(&mut self.b, left, seg.len());
        self.leave(seg.end, seg.end.checked_sub(1), after, exit);
        Ok(())
    }

    /// The block that goes on at `pc` after the segment ending at `at`: the region's
    /// segment there, or a way out to the interpreter (`left` instructions left).
    fn go_on(
        &mut self,
        pc: usize,
        at: usize,
        left: Value,
        exit: cranelift_codegen::ir::Block,
        blocks: &HashMap<usize, cranelift_codegen::ir::Block>,
    ) -> cranelift_codegen::ir::Block {
        if let Some(block) = blocks.get(&pc) {
            return *block;
        }
        let here = self.b.current_block();
        let out = self.b.create_block();
        self.b.switch_to_block(out);
        self.leave(pc, Some(at), left, exit);
        if let Some(here) = here {
            self.b.switch_to_block(here);
        }
        out
    }

    /// A segment's terminating jump (at `at`), `left` instructions left after it.
    fn jump(
        &mut self,
        ins: &Instr,
        at: usize,
        left: Value,
        exit: cranelift_codegen::ir::Block,
        blocks: &HashMap<usize, cranelift_codegen::ir::Block>,
    ) {
        let to = targets(ins);
        // Each target: a segment of the region, or a way out to the interpreter (filled
        // in once this block ends with the jump).
        let mut outs = Vec::new();
        let mut dest = |b: &mut FunctionBuilder, pc: usize| match blocks.get(&pc) {
            Some(block) => *block,
            None => {
                let out = b.create_block();
                outs.push((out, pc));
                out
            }
        };
        let (a, b, c) = (ins.a, ins.b, ins.c);
        let cond = match ins.op {
            Op::Jmp => {
                let target = to.first().copied().unwrap_or(0);
                let block = dest(&mut self.b, target);
                self.b.ins().jump(block, &[]);
                self.fill_outs(outs, at, left, exit);
                return;
            }
            Op::Br => self.get(a),
            Op::BrLtI => {
                let (x, y) = (self.get(a), self.get(b));
                self.b.ins().icmp(IntCC::SignedLessThan, x, y)
            }
            Op::BrLtF => {
                let (x, y) = (self.getf(a), self.getf(b));
                self.b.ins().fcmp(FloatCC::LessThan, x, y)
            }
            Op::BrLtIK => {
                let x = self.get(a);
                self.b
                    .ins()
                    .icmp_imm(IntCC::SignedLessThan, x, c as i16 as i64)
            }
            Op::ForStep => {
                let x = self.get(a);
                let next = self.b.ins().iadd_imm(x, 1);
                self.set(a, next);
                let bound = self.get(b);
                self.b.ins().icmp(IntCC::SignedLessThan, next, bound)
            }
            _ => {
                // ForStepK
                let x = self.get(a);
                let next = self.b.ins().iadd_imm(x, 1);
                self.set(a, next);
                self.b
                    .ins()
                    .icmp_imm(IntCC::SignedLessThan, next, c as i16 as i64)
            }
        };
        let then = dest(&mut self.b, to.first().copied().unwrap_or(0));
        let otherwise = dest(&mut self.b, to.get(1).copied().unwrap_or(0));
        self.b.ins().brif(cond, then, &[], otherwise, &[]);
        self.fill_outs(outs, at, left, exit);
    }

    /// The ways out of the jump at `at` to the interpreter.
    fn fill_outs(
        &mut self,
        outs: Vec<(cranelift_codegen::ir::Block, usize)>,
        at: usize,
        left: Value,
        exit: cranelift_codegen::ir::Block,
    ) {
        for (block, pc) in outs {
            self.b.switch_to_block(block);
            self.leave(pc, Some(at), left, exit);
        }
    }
}
