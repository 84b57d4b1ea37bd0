//! Recomputations found: an analysis of compiled code for tile-wide execution.
//!
//! The code generator computes every use of an expression afresh, into temporaries it
//! takes again from one statement to the next: sepia's three lines
//! `0.393 * c.r + 0.769 * c.g + 0.189 * c.b`, `0.349 * c.r + ...` each extract `c.r`,
//! `c.g` and `c.b` into the same three registers. An instruction that has no effect
//! but its result, and would write its register with what that register holds already
//! (the very same instruction ran before it in the block, and nothing has written its
//! operands or its result since), changes nothing.
//!
//! Tile-wide execution skips such instructions, still counting them
//! (`exec::vm::tile`). The code itself keeps them: a debugger stopped between the two
//! (at a line of its own) may set the variable the first one read, and the thread then
//! runs in the interpreter, which runs every instruction as written. Tile-wide spans
//! never run under a debugger.

use super::defined::{access, overlap, Run};
use super::ir::{Function, Instr, Op, Program};

/// Whether any run of `a` shares a register with any run of `b`.
fn any_overlap(a: &[Run], b: &[Run]) -> bool {
    a.iter().any(|&x| b.iter().any(|&y| overlap(x, y)))
}

/// A result some registers hold: the instruction that made it and what it read.
struct Held {
    ins: Instr,
    reads: Vec<Run>,
    writes: Vec<Run>,
}

/// For each instruction of `func`, its blocks end to end (as the interpreter lays its
/// code out), whether it recomputes what its registers hold.
pub(crate) fn recomputations(program: &Program, func: &Function) -> Vec<bool> {
    let mut out = Vec::with_capacity(func.blocks.iter().map(|b| b.instrs.len()).sum());
    for block in &func.blocks {
        let mut held: Vec<Held> = Vec::new();
        for ins in &block.instrs {
            let pure = ins.op.pure();
            // Writes what the registers hold: nothing changes, nothing to forget.
            let again = pure && held.iter().any(|h| h.ins == *ins);
            out.push(again);
            if again {
                continue;
            }
            let acc = access(program, ins);
            if matches!(ins.op, Op::Call | Op::CallV) {
                // A callee's frame starts at its arguments and may use every register
                // above them.
                held.clear();
            } else {
                held.retain(|h| {
                    !any_overlap(&h.reads, &acc.writes) && !any_overlap(&h.writes, &acc.writes)
                });
            }
            // An instruction that writes what it reads (`s1 := s1 + 1`) is not the same
            // computation when it runs again.
            if pure && !acc.writes.is_empty() && !any_overlap(&acc.reads, &acc.writes) {
                held.push(Held {
                    ins: *ins,
                    reads: acc.reads,
                    writes: acc.writes,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::defined::tests::program;

    /// The instructions of a one-function program made of `blocks`, each marked.
    fn marks(blocks: Vec<Vec<Instr>>) -> Vec<bool> {
        let p = program(blocks, 5);
        recomputations(&p, &p.functions[0])
    }

    #[test]
    fn a_channel_extracted_again_into_the_same_register_is_a_recomputation() {
        // s2 := c.r; s3 := s2 * 2; s2 := c.r (again); s4 := s2 * 3; return s4.
        let found = marks(vec![vec![
            Instr::new(Op::Chan, 2, 0, 0),
            Instr::with_k(Op::MulFK, 3, 2, 0, 2f64.to_bits()),
            Instr::new(Op::Chan, 2, 0, 0),
            Instr::with_k(Op::MulFK, 4, 2, 0, 3f64.to_bits()),
            Instr::new(Op::Ret, 4, 0, 0),
        ]]);
        assert_eq!(found, [false, false, true, false, false]);
    }

    #[test]
    fn a_result_or_operand_written_since_is_computed_again() {
        let kept = [
            // The result register was written in between.
            vec![
                Instr::new(Op::Chan, 2, 0, 0),
                Instr::with_k(Op::Const, 2, 0, 0, 7),
                Instr::new(Op::Chan, 2, 0, 0),
                Instr::new(Op::Ret, 2, 0, 0),
            ],
            // An operand (the colour's second slot) was written in between.
            vec![
                Instr::new(Op::Chan, 2, 0, 1),
                Instr::with_k(Op::Const, 1, 0, 0, 7),
                Instr::new(Op::Chan, 2, 0, 1),
                Instr::new(Op::Ret, 2, 0, 0),
            ],
            // In place: `s2 := s2 + 1` twice adds two.
            vec![
                Instr::with_k(Op::Const, 2, 0, 0, 1),
                Instr::with_k(Op::AddIK, 2, 2, 0, 1),
                Instr::with_k(Op::AddIK, 2, 2, 0, 1),
                Instr::new(Op::Ret, 2, 0, 0),
            ],
            // Another channel, another register.
            vec![
                Instr::new(Op::Chan, 2, 0, 0),
                Instr::new(Op::Chan, 2, 0, 1),
                Instr::new(Op::Chan, 3, 0, 1),
                Instr::new(Op::Ret, 2, 0, 0),
            ],
        ];
        for instrs in kept {
            assert!(
                marks(vec![instrs.clone()]).iter().all(|again| !again),
                "{instrs:?}"
            );
        }
    }

    #[test]
    fn blocks_calls_and_effects_end_what_is_known() {
        // The same constant in the next block (another way may lead there), after a
        // call (a callee may use every register from its arguments up), and an array
        // read twice (the array may change in between: not pure) all run again; the
        // constant written twice in one block does not.
        let found = marks(vec![
            vec![
                Instr::with_k(Op::Const, 3, 0, 0, 1),
                Instr::with_k(Op::Const, 3, 0, 0, 1),
                Instr::with_k(Op::Jmp, 0, 0, 0, 1),
            ],
            vec![
                Instr::with_k(Op::Const, 3, 0, 0, 1),
                Instr::with_k(Op::Call, 2, 0, 0, 0),
                Instr::with_k(Op::Const, 3, 0, 0, 1),
                Instr::new(Op::ArrGet, 4, 0, 3),
                Instr::new(Op::ArrGet, 4, 0, 3),
                Instr::new(Op::Ret, 4, 0, 0),
            ],
        ]);
        assert_eq!(
            found,
            [false, true, false, false, false, false, false, false, false]
        );
    }
}
