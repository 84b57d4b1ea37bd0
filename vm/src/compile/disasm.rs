//! The disassembler: block chunks as people read them.

use super::chunks::CodeIds;
use super::ir::{unpack_shape, unpack_targets, Function, Imm, Instr, Op, Operand, Program};
use crate::chunk::{write_chunk, ChunkId, Store};
use crate::syntax::span::LineIndex;
use std::fmt::Write;

fn operand(out: &mut String, kind: Operand, value: u16) {
    match kind {
        Operand::None => {}
        Operand::S => {
            let _ = write!(out, " s{value}");
        }
        Operand::S2 => {
            let _ = write!(out, " s{value}:{}", value as u32 + 1);
        }
        Operand::R => {
            let _ = write!(out, " r{value}");
        }
        Operand::N => {
            let _ = write!(out, " {value}");
        }
    }
}

/// One instruction: mnemonic, operands, immediate.
pub fn instr_text(program: &Program, instr: &Instr) -> String {
    let (a, b, c, k) = instr.op.shape();
    let mut out = instr.op.name().to_string();
    operand(&mut out, a, instr.a);
    operand(&mut out, b, instr.b);
    operand(&mut out, c, instr.c);
    let _ = match k {
        Imm::None => Ok(()),
        Imm::Bits => write!(out, " #{:#x}", instr.k),
        Imm::Int => write!(out, " #{}", instr.k as i64),
        Imm::Block => write!(out, " -> b{}", instr.k),
        Imm::Block2 => {
            let (then, otherwise) = unpack_targets(instr.k);
            write!(out, " -> b{then} else b{otherwise}")
        }
        Imm::Func => write!(
            out,
            " {}",
            program
                .functions
                .get(instr.k as usize)
                .map_or("?", |f| f.name.as_str())
        ),
        Imm::Str => write!(
            out,
            " {:?}",
            program
                .strings
                .get(instr.k as usize)
                .map_or("?", |s| s.as_str())
        ),
        Imm::Type => write!(
            out,
            " : {}",
            program
                .types
                .get(instr.k as usize)
                .map_or("?".to_string(), |t| t.to_string())
        ),
        Imm::Global => write!(
            out,
            " {}",
            program
                .globals
                .iter()
                .find(|g| g.slot as u64 == instr.k)
                .map_or("?", |g| g.name.as_str())
        ),
        Imm::Builtin => write!(
            out,
            " {:?}",
            super::ir::builtin_of_code(instr.k).map_or("?".to_string(), |op| format!("{op:?}"))
        ),
        Imm::Regs4 => {
            let reg = |idx: u32| (instr.k >> (16 * idx)) as u16;
            write!(
                out,
                " (s{} + s{}, s{} + s{})",
                reg(0),
                reg(1),
                reg(2),
                reg(3)
            )
        }
        Imm::Shape => {
            let (len, width, link) = unpack_shape(instr.k);
            write!(
                out,
                " [len {len}, width {width}{}]",
                if link { ", links" } else { "" }
            )
        }
    };
    if instr.op == Op::Const {
        // Consts are untyped bits: show them as the int or the float they most likely are.
        let int = instr.k as i64;
        if int.unsigned_abs() < 1 << 40 {
            let _ = write!(out, " ({int})");
        } else {
            let _ = write!(
                out,
                " ({})",
                crate::exec::value::format_float(f64::from_bits(instr.k))
            );
        }
    }
    out
}

/// Disassembles one function: each block with its chunk id, links and instructions,
/// each instruction with its source line.
pub fn function_text(
    program: &Program,
    ids: Option<&CodeIds>,
    fidx: usize,
    func: &Function,
    source: Option<&str>,
) -> String {
    let lines = source.map(LineIndex::new);
    let mut out = String::new();
    let params: Vec<String> = func
        .params
        .iter()
        .map(|(n, t)| format!("{n}: {t}"))
        .collect();
    let _ = writeln!(
        out,
        "fn {}({}) -> {}   [{} scalar, {} reference registers, {} environment slots]",
        func.name,
        params.join(", "),
        func.ret,
        func.nregs,
        func.nrefs,
        func.env_slots
    );
    for (bidx, block) in func.blocks.iter().enumerate() {
        let id = ids
            .and_then(|ids| ids.blocks.get(fidx))
            .and_then(|blocks| blocks.get(bidx))
            .map(|id| format!(" chunk {id}"))
            .unwrap_or_default();
        let succ: Vec<String> = func
            .successors(bidx)
            .iter()
            .map(|b| format!("b{b}"))
            .collect();
        let _ = writeln!(
            out,
            "  b{bidx}:{id}{}",
            if succ.is_empty() {
                String::new()
            } else {
                format!("  -> {}", succ.join(", "))
            }
        );
        let mut last_line = 0;
        for (idx, (instr, span)) in block.instrs.iter().zip(&block.spans).enumerate() {
            let text = instr_text(program, instr);
            let line_note = match (&lines, source) {
                (Some(index), Some(src)) => {
                    let pos = index.line_col(src, span.start);
                    if pos.line != last_line {
                        last_line = pos.line;
                        format!(
                            "; line {}: {}",
                            pos.line,
                            index.line_text(src, span.start).trim()
                        )
                    } else {
                        String::new()
                    }
                }
                _ => format!("; bytes {}..{}", span.start, span.end),
            };
            let row = format!("    {idx:>3}  {text:<44} {line_note}");
            let _ = writeln!(out, "{}", row.trim_end());
        }
    }
    out
}

/// The whole listing: each function, then the raw code chunks of the selected ones.
pub fn program_text(
    program: &Program,
    ids: &CodeIds,
    store: &Store,
    only: Option<usize>,
    source: Option<&str>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "program chunk {}", ids.root);
    for (fidx, func) in program.functions.iter().enumerate() {
        if only.is_some_and(|only| only != fidx) {
            continue;
        }
        let _ = writeln!(out, "\nfunction chunk {}", ids.functions[fidx]);
        out.push_str(&function_text(program, Some(ids), fidx, func, source));
        let _ = writeln!(out, "  chunks:");
        let mut chunk_ids: Vec<ChunkId> = vec![ids.functions[fidx]];
        for head in &ids.blocks[fidx] {
            let mut next = Some(*head);
            while let Some(id) = next {
                chunk_ids.push(id);
                next = store.get(id).and_then(|chunk| chunk.link(31));
            }
        }
        for id in chunk_ids {
            if let Some(chunk) = store.get(id) {
                let mut text = String::new();
                let _ = write_chunk(&mut text, id, chunk);
                for line in text.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    }
    out
}
