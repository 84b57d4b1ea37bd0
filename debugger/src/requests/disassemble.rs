//! `disassemble`: a function's instructions around a frame's
//! `instructionPointerReference` (`f<function>:<offset>`), each with its text, its
//! source position, and at each block's start the block and its chunk id.

use crate::protocol::{arguments, DapError, DisassembleArgs, Reply, Request};
use crate::session::Shared;
use chunkvm::compile::disasm::instr_text;
use serde_json::{json, Value as Json};
use std::sync::Arc;

/// The most instructions one request may ask for.
const MAX_COUNT: i64 = 100_000;

/// Reads `f<function>:<offset>`.
pub fn parse_reference(text: &str) -> Option<(u32, i64)> {
    let (func, pc) = text.strip_prefix('f')?.split_once(':')?;
    Some((func.parse().ok()?, pc.parse().ok()?))
}

/// `disassemble`.
pub fn disassemble(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: DisassembleArgs = arguments(request)?;
    let mut session = shared.lock();
    session.first_stopped()?;
    let program = session
        .program
        .as_ref()
        .ok_or_else(|| DapError::internal("a VM without its program"))?;
    let (func, pc) = parse_reference(&args.memory_reference).ok_or_else(|| {
        DapError::user(format!(
            "memory reference {:?}: write f<function>:<offset>, as a frame's instructionPointerReference",
            args.memory_reference
        ))
    })?;
    if args.offset != 0 {
        return Err(DapError::user(
            "byte offsets mean nothing here: instructions are counted, use instructionOffset",
        ));
    }
    if !(0..=MAX_COUNT).contains(&args.instruction_count) {
        return Err(DapError::user(format!(
            "instructionCount {} is not between 0 and {MAX_COUNT}",
            args.instruction_count
        )));
    }
    // Every thread runs the same code.
    let vm = session
        .threads
        .iter()
        .find_map(|band| band.thread.as_ref())
        .ok_or_else(|| DapError::internal("a stopped session without its thread"))?;
    let loaded = vm.local()?.loaded();
    let (Some(code), Some(function)) = (
        loaded.funcs.get(func as usize),
        loaded.program.functions.get(func as usize),
    ) else {
        return Err(DapError::user(format!("no function {func}")));
    };
    let first = pc.saturating_add(args.instruction_offset);
    let list: Vec<Json> = (first..first.saturating_add(args.instruction_count))
        .map(|at| {
            let address = format!("f{func}:{at}");
            let Some(instr) = usize::try_from(at).ok().and_then(|at| code.code.get(at)) else {
                return json!({ "address": address, "instruction": "", "presentationHint": "invalid" });
            };
            let at = at as u32;
            let span = code.spans.get(at as usize).copied().unwrap_or_default();
            let (line, column) = program.position(span);
            let mut item = json!({
                "address": address,
                "instruction": instr_text(&loaded.program, instr),
                "location": program.source_at(span),
                "line": line,
                "column": column,
            });
            let (block, index) = code.block_of(at);
            if index == 0 {
                let chunk = loaded
                    .ids
                    .blocks
                    .get(func as usize)
                    .and_then(|blocks| blocks.get(block as usize))
                    .map(|id| id.to_string())
                    .unwrap_or_default();
                item["symbol"] = Json::from(format!("{} b{block} {chunk}", function.name));
            }
            item
        })
        .collect();
    Ok(json!({ "instructions": list }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_references() {
        assert_eq!(parse_reference("f2:17"), Some((2, 17)));
        assert_eq!(parse_reference("2:17"), None);
        assert_eq!(parse_reference("f2"), None);
    }
}
