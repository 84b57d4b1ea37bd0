//! Registers written before they are read: a check of compiled code.
//!
//! Tile-wide runs (`exec::vm::tile`) do not clear a function's scalar registers
//! between spans of pixels, nor does the interpreter between pixels: what a register
//! held for the last pixel stays there. That is only right when compiled code writes
//! each scalar register on every path from the function's entry before it reads it
//! (the parameters are written by the call). [`read_before_written`] finds a read
//! that breaks the rule, so that a compiler change that makes one fails a test.

use super::ir::{builtin_of_code, math_widths, unpack_targets, Function, Instr, Op, Program};
use crate::types::Type;

/// A run of scalar registers: `from..from + n`.
pub(crate) type Run = (u32, u32);

/// Whether runs `a` and `b` share a register.
pub(crate) fn overlap(a: Run, b: Run) -> bool {
    a.0 < b.0 + b.1 && b.0 < a.0 + a.1
}

/// The scalar registers an instruction reads and writes.
#[derive(Debug, Default)]
pub(crate) struct Access {
    pub(crate) reads: Vec<Run>,
    pub(crate) writes: Vec<Run>,
}

/// The scalar slots of a list of parameter types (references take none).
fn scalar_width<'t>(types: impl IntoIterator<Item = &'t Type>) -> u32 {
    types
        .into_iter()
        .filter(|ty| !ty.is_ref())
        .map(Type::width)
        .sum()
}

/// What instruction `ins` of a function of `program` reads and writes of its frame's
/// scalar registers.
pub(crate) fn access(program: &Program, ins: &Instr) -> Access {
    let (a, b, c) = (ins.a as u32, ins.b as u32, ins.c as u32);
    let one = |r: u32| (r, 1);
    let two = |r: u32| (r, 2);
    let (reads, writes): (Vec<Run>, Vec<Run>) = match ins.op {
        Op::Nop | Op::Jmp | Op::RetU | Op::PrintEnd => (vec![], vec![]),
        Op::Const | Op::Glob => (vec![], vec![one(a)]),
        Op::Const2 | Op::Glob2 => (vec![], vec![two(a)]),
        Op::Mov
        | Op::NegI
        | Op::AddIK
        | Op::MulIK
        | Op::DivIK
        | Op::RemIK
        | Op::AddFK
        | Op::SubFK
        | Op::RSubFK
        | Op::MulFK
        | Op::DivFK
        | Op::NegF
        | Op::Not => (vec![one(b)], vec![one(a)]),
        Op::Mov2 | Op::MulCFK | Op::DivCFK | Op::NegC => (vec![two(b)], vec![two(a)]),
        Op::AddI
        | Op::SubI
        | Op::MulI
        | Op::DivI
        | Op::RemI
        | Op::AddF
        | Op::SubF
        | Op::MulF
        | Op::DivF
        | Op::RemF
        | Op::EqI
        | Op::NeI
        | Op::LtI
        | Op::LeI
        | Op::EqF
        | Op::NeF
        | Op::LtF
        | Op::LeF => (vec![one(b), one(c)], vec![one(a)]),
        Op::AddC | Op::SubC | Op::MulC => (vec![two(b), two(c)], vec![two(a)]),
        Op::MulCF | Op::DivCF => (vec![two(b), one(c)], vec![two(a)]),
        Op::EqC | Op::NeC => (vec![two(b), two(c)], vec![one(a)]),
        Op::Br | Op::BrLtIK | Op::Ret => (vec![one(a)], vec![]),
        Op::BrLtI | Op::BrLtF => (vec![one(a), one(b)], vec![]),
        Op::ForStep => (vec![one(a), one(b)], vec![one(a)]),
        Op::ForStepK => (vec![one(a)], vec![one(a)]),
        Op::Ret2 => (vec![two(a)], vec![]),
        Op::RetR | Op::Str | Op::MkClo | Op::NewArr | Op::ArrCopy | Op::MovR => (vec![], vec![]),
        Op::Call => match program.functions.get(ins.k as usize) {
            // The arguments from `a`, the result back at `a`.
            Some(callee) => {
                let args = scalar_width(callee.params.iter().map(|(_, ty)| ty));
                let ret = if callee.ret.is_ref() {
                    0
                } else {
                    callee.ret.width()
                };
                (vec![(a, args)], vec![(a, ret)])
            }
            None => (vec![], vec![]),
        },
        // A closure's parameters are not known here (closures never run tile-wide):
        // the result may be a colour.
        Op::CallV => (vec![], vec![two(a)]),
        Op::Rgb => (vec![(b, 3)], vec![two(a)]),
        Op::Rgba => (vec![(b, 4)], vec![two(a)]),
        Op::Chan => (vec![two(b)], vec![one(a)]),
        Op::At => (vec![two(c)], vec![two(a)]),
        Op::AtOff | Op::AtOffAcc | Op::AtOffMulAcc => {
            let mut reads: Vec<Run> = (0..4)
                .map(|idx| one(((ins.k >> (16 * idx)) as u16) as u32))
                .collect();
            if ins.op != Op::AtOff {
                reads.push(two(a));
            }
            if ins.op == Op::AtOffMulAcc {
                reads.push(one(c));
            }
            (reads, vec![two(a)])
        }
        Op::ImgW | Op::ImgH | Op::ArrLen => (vec![], vec![one(a)]),
        Op::Math => match builtin_of_code(ins.k).map(math_widths) {
            Some((inputs, outputs)) => (vec![(b, inputs)], vec![(a, outputs)]),
            None => (vec![], vec![]),
        },
        Op::Print => {
            let width = program.types.get(ins.k as usize).map_or(1, Type::width);
            (vec![(a, width)], vec![])
        }
        Op::PrintR => (vec![], vec![]),
        Op::ArrGet => (vec![one(c)], vec![one(a)]),
        Op::ArrGet2 => (vec![one(c)], vec![two(a)]),
        Op::ArrGetR => (vec![one(c)], vec![]),
        Op::ArrSet => (vec![one(b), one(c)], vec![]),
        Op::ArrSet2 => (vec![one(b), two(c)], vec![]),
        Op::ArrSetR => (vec![one(b)], vec![]),
        Op::EnvGet => (vec![], vec![one(a)]),
        Op::EnvGet2 => (vec![], vec![two(a)]),
        Op::EnvGetR => (vec![], vec![]),
        Op::EnvSet => (vec![one(c)], vec![]),
        Op::EnvSet2 => (vec![two(c)], vec![]),
        Op::EnvSetR => (vec![], vec![]),
        Op::Blank => (vec![(b, 4)], vec![]),
        Op::ImgNew => (vec![two(b)], vec![]),
        Op::ImgSet => (vec![two(b), two(c)], vec![]),
    };
    Access { reads, writes }
}

/// The blocks a block's last instruction goes to.
pub(crate) fn successors(last: Option<&Instr>) -> Vec<usize> {
    match last {
        Some(ins) if ins.op == Op::Jmp => vec![ins.k as usize],
        Some(ins)
            if matches!(
                ins.op,
                Op::Br | Op::BrLtI | Op::BrLtF | Op::BrLtIK | Op::ForStep | Op::ForStepK
            ) =>
        {
            let (then, otherwise) = unpack_targets(ins.k);
            vec![then as usize, otherwise as usize]
        }
        _ => vec![],
    }
}

/// The first read, on some path from the entry of function `fidx` of `program`, of a
/// scalar register that the path has not written (its parameters are written at
/// entry): where it is, as a sentence, or `None` when every read follows a write.
pub fn read_before_written(program: &Program, fidx: usize) -> Option<String> {
    let func: &Function = program.functions.get(fidx)?;
    let n = func.nregs as usize;
    let nblocks = func.blocks.len();
    // Per block: the registers written on every path to its start (`None`: no path
    // reaches it yet).
    let mut at_start: Vec<Option<Vec<bool>>> = vec![None; nblocks];
    let mut entry = vec![false; n];
    let params = scalar_width(func.params.iter().map(|(_, ty)| ty)) as usize;
    for flag in entry.iter_mut().take(params) {
        *flag = true;
    }
    *at_start.first_mut()? = Some(entry);
    let mut work = vec![0usize];
    while let Some(bidx) = work.pop() {
        let Some(mut written) = at_start[bidx].clone() else {
            continue;
        };
        let block = &func.blocks[bidx];
        for (idx, ins) in block.instrs.iter().enumerate() {
            let acc = access(program, ins);
            for &(from, width) in &acc.reads {
                for reg in from..from + width {
                    if !written.get(reg as usize).copied().unwrap_or(false) {
                        return Some(format!(
                            "`{}`: {} (instruction {idx} of block {bidx}) reads s{reg} before \
                             any write of it on some path from the entry",
                            func.name,
                            ins.op.name()
                        ));
                    }
                }
            }
            for &(from, width) in &acc.writes {
                for reg in from..from + width {
                    if let Some(flag) = written.get_mut(reg as usize) {
                        *flag = true;
                    }
                }
            }
        }
        for next in successors(block.instrs.last()) {
            let Some(slot) = at_start.get_mut(next) else {
                continue;
            };
            // What every path writes: the meet of the paths that reach the block.
            let changed = match slot {
                None => {
                    *slot = Some(written.clone());
                    true
                }
                Some(known) => {
                    let mut changed = false;
                    for (k, w) in known.iter_mut().zip(&written) {
                        if *k && !*w {
                            *k = false;
                            changed = true;
                        }
                    }
                    changed
                }
            };
            if changed {
                work.push(next);
            }
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A program whose `main` is `instrs`, block by block, with `nregs` scalar
    /// registers (for tests of passes over compiled code).
    pub(crate) fn program(instrs: Vec<Vec<Instr>>, nregs: u16) -> Program {
        let (_, mut program) = crate::driver::build("fn main() { }").expect("compiles");
        let main = &mut program.functions[0];
        main.nregs = nregs;
        main.blocks = instrs
            .into_iter()
            .map(|instrs| super::super::ir::Block {
                spans: vec![Default::default(); instrs.len()],
                instrs,
            })
            .collect();
        program
    }

    #[test]
    fn a_read_on_one_path_without_a_write_is_found() {
        use super::super::ir::pack_targets;
        // b0: s0 := 1; if s0 then b1 else b2. b1 writes s1, b2 does not; b3 reads it.
        let ok = |b2: Vec<Instr>| {
            program(
                vec![
                    vec![
                        Instr::with_k(Op::Const, 0, 0, 0, 1),
                        Instr::with_k(Op::Br, 0, 0, 0, pack_targets(1, 2)),
                    ],
                    vec![
                        Instr::with_k(Op::Const, 1, 0, 0, 2),
                        Instr::with_k(Op::Jmp, 0, 0, 0, 3),
                    ],
                    b2,
                    vec![Instr::new(Op::Ret, 1, 0, 0)],
                ],
                2,
            )
        };
        let bad = ok(vec![Instr::with_k(Op::Jmp, 0, 0, 0, 3)]);
        let found = read_before_written(&bad, 0).expect("the read of s1 is found");
        assert!(found.contains("reads s1"), "{found}");
        let good = ok(vec![
            Instr::new(Op::Mov, 1, 0, 0),
            Instr::with_k(Op::Jmp, 0, 0, 0, 3),
        ]);
        assert_eq!(read_before_written(&good, 0), None);
    }

    #[test]
    fn a_loop_that_writes_late_is_found() {
        use super::super::ir::pack_targets;
        // b0: s0 := 0; go to b1. b1 reads s1 and writes it: the first pass reads it
        // unwritten.
        let bad = program(
            vec![
                vec![
                    Instr::with_k(Op::Const, 0, 0, 0, 0),
                    Instr::with_k(Op::Jmp, 0, 0, 0, 1),
                ],
                vec![
                    Instr::new(Op::AddI, 1, 1, 0),
                    Instr::with_k(Op::ForStepK, 0, 0, 4, pack_targets(1, 2)),
                ],
                vec![Instr::new(Op::Ret, 1, 0, 0)],
            ],
            2,
        );
        assert!(read_before_written(&bad, 0).is_some());
    }
}
