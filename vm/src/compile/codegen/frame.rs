//! A function being compiled: allocating its registers like a stack, its
//! blocks, emitting instructions, moves between registers, and the depth of
//! the environment that holds a captured binding.

use super::{class, Class, EnvLayout, FnCx, Val};
use crate::check::Owner;
use crate::compile::ir::{Block, Instr, Loc, LocalInfo, Op};
use crate::syntax::ast::{Binding, BindingId};
use crate::syntax::span::Span;
use crate::types::Type;
use std::collections::HashMap;

impl FnCx {
    pub(super) fn new(owner: Owner, chain: Vec<Owner>, span: Span) -> FnCx {
        FnCx {
            owner,
            chain,
            blocks: vec![Block::default()],
            cur: 0,
            next_s: 0,
            next_r: 0,
            max_s: 0,
            max_r: 0,
            locals: HashMap::new(),
            local_infos: Vec::new(),
            loops: Vec::new(),
            cur_span: span,
        }
    }

    pub(super) fn alloc(&mut self, ty: &Type) -> Val {
        match class(ty) {
            Class::S(width) => Val::S(self.alloc_s(width)),
            Class::R => Val::R(self.alloc_r()),
            Class::Unit => Val::Unit,
        }
    }

    pub(super) fn alloc_s(&mut self, width: u16) -> u16 {
        let reg = self.next_s;
        self.next_s += width;
        self.max_s = self.max_s.max(self.next_s);
        reg
    }

    pub(super) fn alloc_r(&mut self) -> u16 {
        let reg = self.next_r;
        self.next_r += 1;
        self.max_r = self.max_r.max(self.next_r);
        reg
    }

    pub(super) fn mark(&self) -> (u16, u16) {
        (self.next_s, self.next_r)
    }

    pub(super) fn release(&mut self, mark: (u16, u16)) {
        self.next_s = mark.0;
        self.next_r = mark.1;
    }

    pub(super) fn bind_reg(
        &mut self,
        binding: &Binding,
        val: Val,
        ty: &Type,
        is_param: bool,
        scope: Span,
    ) {
        let loc = match val {
            Val::S(reg) => Loc::S(reg),
            Val::R(reg) => Loc::R(reg),
            Val::Unit => return,
        };
        self.locals.insert(binding.id, loc);
        self.local_infos.push(LocalInfo {
            name: binding.name.name.clone(),
            ty: ty.clone(),
            loc,
            is_param,
            scope,
        });
    }

    pub(super) fn loc(&self, binding: BindingId) -> Option<Loc> {
        self.locals.get(&binding).copied()
    }

    pub(super) fn val_of(&self, binding: BindingId) -> Val {
        match self.locals.get(&binding) {
            Some(Loc::S(reg)) => Val::S(*reg),
            Some(Loc::R(reg)) => Val::R(*reg),
            _ => Val::Unit,
        }
    }

    pub(super) fn emit(&mut self, instr: Instr) {
        if self.terminated() {
            // Code after a jump or return is unreachable: give it a block of its own,
            // which nothing jumps to.
            let block = self.new_block();
            self.cur = block;
        }
        let span = self.cur_span;
        let block = &mut self.blocks[self.cur as usize];
        block.instrs.push(instr);
        block.spans.push(span);
    }

    pub(super) fn terminated(&self) -> bool {
        self.blocks[self.cur as usize]
            .instrs
            .last()
            .is_some_and(|last| last.op.ends_block())
    }

    pub(super) fn new_block(&mut self) -> u32 {
        self.blocks.push(Block::default());
        self.blocks.len() as u32 - 1
    }

    /// Ends the current block with a jump to `block` (unless it already ended) and goes on there.
    pub(super) fn switch_to(&mut self, block: u32) {
        if !self.terminated() {
            self.emit(Instr::with_k(Op::Jmp, 0, 0, 0, block as u64));
        }
        self.cur = block;
    }

    /// Makes the instruction that just computed `src` write to `dest` instead, when
    /// `src` is a temporary that nothing else has read: saves a move.
    pub(super) fn retarget(
        &mut self,
        dest: Val,
        src: Val,
        ty: &Type,
        temp_floor: (u16, u16),
    ) -> bool {
        let (d, s, floor) = match (dest, src) {
            (Val::S(d), Val::S(s)) => (d, s, temp_floor.0),
            (Val::R(d), Val::R(s)) => (d, s, temp_floor.1),
            _ => return false,
        };
        if s < floor {
            return false;
        }
        // A colour of constants: two `Const`s, both retargeted.
        let instrs = &mut self.blocks[self.cur as usize].instrs;
        if let [.., first, second] = instrs.as_mut_slice() {
            if ty.width() == 2
                && first.op == Op::Const
                && second.op == Op::Const
                && first.a == s
                && second.a == s + 1
                && matches!(dest, Val::S(_))
            {
                first.a = d;
                second.a = d + 1;
                return true;
            }
        }
        let Some(last) = self.blocks[self.cur as usize].instrs.last_mut() else {
            return false;
        };
        if !last.op.writes_a() || last.a != s {
            return false;
        }
        let is_ref = matches!(last.op.shape().0, crate::compile::ir::Operand::R);
        if is_ref != matches!(dest, Val::R(_)) {
            return false;
        }
        last.a = d;
        true
    }

    pub(super) fn mov(&mut self, dest: Val, src: Val) {
        match (dest, src) {
            (Val::S(d), Val::S(s)) if d != s => self.emit(Instr::new(Op::Mov, d, s, 0)),
            (Val::R(d), Val::R(s)) if d != s => self.emit(Instr::new(Op::MovR, d, s, 0)),
            _ => {}
        }
    }

    pub(super) fn mov_ty(&mut self, dest: Val, src: Val, ty: &Type) {
        match (dest, src, class(ty)) {
            (Val::S(d), Val::S(s), Class::S(2)) if d != s => {
                self.emit(Instr::new(Op::Mov2, d, s, 0))
            }
            _ => self.mov(dest, src),
        }
    }

    /// Environment depth from this function to the environment of `owner`.
    pub(super) fn depth_to(&self, owner: Owner, env: &EnvLayout) -> Option<u16> {
        let mut depth = 0u16;
        for link in &self.chain {
            if *link == owner {
                return Some(depth);
            }
            if env.count.get(link).copied().unwrap_or(0) > 0 {
                depth += 1;
            }
        }
        None
    }

    pub(super) fn env_store(&mut self, depth: u16, slot: u16, val: Val, ty: &Type) {
        match (val, class(ty)) {
            (Val::S(reg), Class::S(2)) => self.emit(Instr::new(Op::EnvSet2, depth, slot, reg)),
            (Val::S(reg), _) => self.emit(Instr::new(Op::EnvSet, depth, slot, reg)),
            (Val::R(reg), _) => self.emit(Instr::new(Op::EnvSetR, depth, slot, reg)),
            (Val::Unit, _) => {}
        }
    }
}
