//! Register copies folded away: a pass over compiled code.
//!
//! The code generator puts each value in a fresh temporary and moves it to where it
//! is wanted: `rgba(..)` into a temporary, then into the result register; a colour
//! argument copied before a builtin reads it. Each such `Mov`/`Mov2` is an instruction
//! dispatched per pixel, and tile-wide a copy of a whole register of lanes. This pass
//! removes a move next to the instruction it copies for:
//!
//! - *into*: `t := op(..); d := t` becomes `d := op(..)` when `t` is dead after the
//!   move and `d` is none of what `op` reads;
//! - *from*: `t := s; x := op(.., t, ..)` becomes `x := op(.., s, ..)` when `t` is dead
//!   after `op` (or `op` writes it again), and `s` overlaps `op`'s result only as the
//!   very same registers (an operation in place, as the generator makes).
//!
//! `t` is never a local variable's register (a debugger shows locals from their
//! registers), and every rewrite is checked against what the instruction reads and
//! writes ([`super::defined`]'s `access`): the instruction reads and writes the same
//! registers as before, `t` renamed, or the rewrite is not made. Jumps and block
//! boundaries (the safe points) stay where they are.

use super::defined::{access, overlap, successors, Run};
use super::ir::{Function, Instr, Loc, Op, Program};

/// A set of scalar registers.
#[derive(Clone, PartialEq, Eq)]
struct Regs(Vec<u64>);

impl Regs {
    fn new(n: usize) -> Regs {
        Regs(vec![0; n.div_ceil(64)])
    }

    fn has(&self, reg: u32) -> bool {
        self.0
            .get(reg as usize / 64)
            .is_some_and(|word| word >> (reg % 64) & 1 == 1)
    }

    fn set(&mut self, reg: u32, on: bool) {
        if let Some(word) = self.0.get_mut(reg as usize / 64) {
            if on {
                *word |= 1 << (reg % 64);
            } else {
                *word &= !(1 << (reg % 64));
            }
        }
    }

    fn union(&mut self, other: &Regs) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }
}

/// The registers an instruction reads and writes, as runs `(from, width)`: as
/// [`access`] says, but a closure's call reads every register from its window up
/// (its parameters are not known here).
fn runs(program: &Program, func: &Function, ins: &Instr) -> (Vec<Run>, Vec<Run>) {
    let acc = access(program, ins);
    let mut reads = acc.reads;
    if ins.op == Op::CallV {
        let from = ins.a as u32;
        reads.push((from, (func.nregs as u32).saturating_sub(from)));
    }
    (reads, acc.writes)
}

/// `live` before the instruction, from `live` after it.
fn step_back(live: &mut Regs, reads: &[Run], writes: &[Run]) {
    for &(from, width) in writes {
        for reg in from..from + width {
            live.set(reg, false);
        }
    }
    for &(from, width) in reads {
        for reg in from..from + width {
            live.set(reg, true);
        }
    }
}

/// The registers live at the end of each block of `func`.
fn live_out(program: &Program, func: &Function) -> Vec<Regs> {
    let n = func.nregs as usize;
    let nblocks = func.blocks.len();
    let succ: Vec<Vec<usize>> = func
        .blocks
        .iter()
        .map(|block| successors(block.instrs.last()))
        .collect();
    let mut live_in = vec![Regs::new(n); nblocks];
    let mut out = vec![Regs::new(n); nblocks];
    let mut changed = true;
    while changed {
        changed = false;
        for bidx in (0..nblocks).rev() {
            let mut live = Regs::new(n);
            for &next in &succ[bidx] {
                if let Some(regs) = live_in.get(next) {
                    live.union(regs);
                }
            }
            out[bidx] = live.clone();
            for ins in func.blocks[bidx].instrs.iter().rev() {
                let (reads, writes) = runs(program, func, ins);
                step_back(&mut live, &reads, &writes);
            }
            if live != live_in[bidx] {
                live_in[bidx] = live;
                changed = true;
            }
        }
    }
    out
}

/// The width of a move (`Mov` 1, `Mov2` 2), `None` for other instructions.
fn move_width(ins: &Instr) -> Option<u32> {
    match ins.op {
        Op::Mov => Some(1),
        Op::Mov2 => Some(2),
        _ => None,
    }
}

/// Folds the copies of every function of `program`; the number of moves removed.
pub fn fold(program: &mut Program) -> usize {
    let mut removed = 0;
    for fidx in 0..program.functions.len() {
        loop {
            let done = fold_once(program, fidx);
            if done == 0 {
                break;
            }
            removed += done;
        }
    }
    removed
}

/// One sweep over function `fidx`'s blocks; the moves it removed.
fn fold_once(program: &mut Program, fidx: usize) -> usize {
    let func = &program.functions[fidx];
    let n = func.nregs as u32;
    let mut locals = Regs::new(n as usize);
    for local in &func.locals {
        if let Loc::S(reg) = local.loc {
            for r in reg as u32..reg as u32 + local.ty.width().max(1) {
                locals.set(r, true);
            }
        }
    }
    let out = live_out(program, func);
    // (block, index of the move to remove, the rewritten neighbour and its index)
    let mut rewrites: Vec<(usize, usize, usize, Instr)> = Vec::new();
    for (bidx, block) in func.blocks.iter().enumerate() {
        // What each instruction reads and writes, and what is live after it.
        let len = block.instrs.len();
        let access: Vec<(Vec<Run>, Vec<Run>)> = block
            .instrs
            .iter()
            .map(|ins| runs(program, func, ins))
            .collect();
        let mut after = vec![Regs::new(n as usize); len];
        let mut live = out[bidx].clone();
        for idx in (0..len).rev() {
            after[idx] = live.clone();
            step_back(&mut live, &access[idx].0, &access[idx].1);
        }
        // Registers of the frame that no local lives in, and not read before written
        // again after instruction `idx`.
        let temporary = |t: Run| t.0 + t.1 <= n && (t.0..t.0 + t.1).all(|r| !locals.has(r));
        let dead = |t: Run, idx: usize| (t.0..t.0 + t.1).all(|r| !after[idx].has(r));
        let mut idx = 0;
        while idx + 1 < len {
            let (first, second) = (block.instrs[idx], block.instrs[idx + 1]);
            // Into: `t := op(..); d := t`.
            if let Some(width) = move_width(&second) {
                let (t, d) = ((second.b as u32, width), (second.a as u32, width));
                let (reads, writes) = &access[idx];
                if *writes == [t]
                    && !overlap(t, d)
                    && temporary(t)
                    && dead(t, idx + 1)
                    && reads.iter().all(|&r| !overlap(r, d))
                    && first.op.writes_a()
                    && first.a as u32 == t.0
                {
                    let mut new = first;
                    new.a = d.0 as u16;
                    let (new_reads, new_writes) = runs(program, func, &new);
                    if new_reads == *reads && new_writes == [d] {
                        rewrites.push((bidx, idx + 1, idx, new));
                        idx += 2;
                        continue;
                    }
                }
            }
            // From: `t := s; x := op(.., t, ..)`.
            if let Some(width) = move_width(&first) {
                let (t, s) = ((first.a as u32, width), (first.b as u32, width));
                let (reads, writes) = &access[idx + 1];
                let unread = writes.contains(&t) || dead(t, idx + 1);
                if unread && temporary(t) && !overlap(t, s) && reads.contains(&t) {
                    let mut new = second;
                    if second.b as u32 == t.0 {
                        new.b = s.0 as u16;
                    }
                    if second.c as u32 == t.0 {
                        new.c = s.0 as u16;
                    }
                    let (new_reads, new_writes) = runs(program, func, &new);
                    let renamed: Vec<Run> =
                        reads.iter().map(|&r| if r == t { s } else { r }).collect();
                    let in_place = new_writes.iter().all(|&w| w == s || !overlap(w, s));
                    if new_reads == renamed
                        && new_writes == *writes
                        && in_place
                        && reads.iter().all(|&r| r == t || !overlap(r, t))
                    {
                        rewrites.push((bidx, idx, idx + 1, new));
                        idx += 2;
                        continue;
                    }
                }
            }
            idx += 1;
        }
    }
    let count = rewrites.len();
    // Removed back to front within each block, so earlier indices stay right.
    rewrites.sort_by_key(|&(bidx, drop, _, _)| (bidx, std::cmp::Reverse(drop)));
    let func = &mut program.functions[fidx];
    for (bidx, drop, keep, new) in rewrites {
        // The instruction kept keeps its source position (where its errors are).
        let block = &mut func.blocks[bidx];
        block.instrs[keep] = new;
        block.instrs.remove(drop);
        block.spans.remove(drop);
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::defined::tests::program;
    use crate::compile::ir::pack_targets;

    fn code(program: &Program) -> Vec<Vec<Instr>> {
        program.functions[0]
            .blocks
            .iter()
            .map(|block| block.instrs.clone())
            .collect()
    }

    #[test]
    fn a_value_made_to_be_moved_is_made_where_it_goes() {
        // s0 := 1; s1 := s0; s2 := s1 + s1; return s2: the constant goes to s1 at
        // once; s1 is read twice, so the add reads it (not s0).
        let mut p = program(
            vec![vec![
                Instr::with_k(Op::Const, 0, 0, 0, 1),
                Instr::new(Op::Mov, 1, 0, 0),
                Instr::new(Op::AddI, 2, 1, 1),
                Instr::new(Op::Ret, 2, 0, 0),
            ]],
            3,
        );
        assert_eq!(fold(&mut p), 1);
        assert_eq!(
            code(&p),
            vec![vec![
                Instr::with_k(Op::Const, 1, 0, 0, 1),
                Instr::new(Op::AddI, 2, 1, 1),
                Instr::new(Op::Ret, 2, 0, 0),
            ]]
        );
        assert_eq!(fold(&mut p), 0, "nothing left to fold");
    }

    #[test]
    fn a_copy_read_once_is_read_from_where_it_came() {
        // s0 := 1; s1 := 2; s2 := s0; s3 := s2 - s1; return s3.
        let mut p = program(
            vec![vec![
                Instr::with_k(Op::Const, 0, 0, 0, 1),
                Instr::with_k(Op::Const, 1, 0, 0, 2),
                Instr::new(Op::Mov, 2, 0, 0),
                Instr::new(Op::SubI, 3, 2, 1),
                Instr::new(Op::Ret, 3, 0, 0),
            ]],
            4,
        );
        assert_eq!(fold(&mut p), 1);
        assert_eq!(code(&p)[0][2], Instr::new(Op::SubI, 3, 0, 1));
    }

    #[test]
    fn moves_whose_temporary_is_read_later_or_elsewhere_stay() {
        // b0: s0 := 1; s1 := s0 (s0 read again in b1); if s1 then b1 else b2.
        // b1: return s0. b2: s2 := s1 (s1 read again: returned); return s1.
        let blocks = vec![
            vec![
                Instr::with_k(Op::Const, 0, 0, 0, 1),
                Instr::new(Op::Mov, 1, 0, 0),
                Instr::with_k(Op::Br, 1, 0, 0, pack_targets(1, 2)),
            ],
            vec![Instr::new(Op::Ret, 0, 0, 0)],
            vec![Instr::new(Op::Mov, 2, 1, 0), Instr::new(Op::Ret, 1, 0, 0)],
        ];
        let mut p = program(blocks.clone(), 3);
        // The branch reads s1: it could read s0, but s1 is not the branch's temporary
        // alone (b2 reads it), and s0 is live into b1: nothing moves.
        assert_eq!(fold(&mut p), 0);
        assert_eq!(code(&p), blocks);
    }

    #[test]
    fn a_move_into_what_the_instruction_reads_stays() {
        // s2:3 := rgba(s0..s3); s0:1 := s2:3: writing s0:1 at once would change
        // what the rgba reads (s0..s3).
        let blocks = vec![vec![
            Instr::with_k(Op::Const, 0, 0, 0, 0),
            Instr::with_k(Op::Const, 1, 0, 0, 0),
            Instr::with_k(Op::Const, 2, 0, 0, 0),
            Instr::with_k(Op::Const, 3, 0, 0, 0),
            Instr::new(Op::Rgba, 4, 0, 0),
            Instr::new(Op::Mov2, 0, 4, 0),
            Instr::new(Op::Ret2, 0, 0, 0),
        ]];
        let mut p = program(blocks, 6);
        assert_eq!(fold(&mut p), 0);
    }

    #[test]
    fn a_locals_register_is_never_folded_away() {
        // `let a = x + 1; a` keeps `a`'s register written (a debugger shows it).
        let source =
            "fn main() {\n    let x = 2;\n    let a = x + 1;\n    let b = a;\n    print(b);\n}\n";
        let (_, program) = crate::driver::build(source).expect("compiles");
        let main = &program.functions[0];
        for local in &main.locals {
            let Loc::S(reg) = local.loc else { continue };
            let written = main
                .blocks
                .iter()
                .flat_map(|block| &block.instrs)
                .any(|ins| {
                    access(&program, ins)
                        .writes
                        .iter()
                        .any(|w| w.0 == reg as u32)
                });
            assert!(
                written || local.is_param,
                "`{}` is never written",
                local.name
            );
        }
    }

    #[test]
    fn the_library_compiles_with_fewer_moves_and_nothing_left_to_fold() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters");
        let text = std::fs::read_to_string(dir.join("threshold.chop")).expect("the filter");
        let (_, mut program) = crate::driver::build(&text).expect("compiles");
        let moves = |program: &Program| {
            program
                .functions
                .iter()
                .flat_map(|func| &func.blocks)
                .flat_map(|block| &block.instrs)
                .filter(|ins| move_width(ins).is_some())
                .count()
        };
        // `rgba(..)` made in the result register, `luma(c)` reading `c` itself.
        assert_eq!(moves(&program), 0);
        assert_eq!(fold(&mut program), 0);
    }
}
