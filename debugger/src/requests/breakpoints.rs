//! `setBreakpoints` (lines, with conditions, hit conditions and log messages),
//! `setFunctionBreakpoints` (the first line of a function or filter),
//! `setInstructionBreakpoints` (an instruction, `f<function>:<offset>`) and
//! `setExceptionBreakpoints` (the `runtime` filter: stop where the program fails).

use super::disassemble::parse_reference;
use crate::protocol::{
    arguments, DapError, FunctionBreakpoint, Reply, Request, SetBreakpointsArgs,
    SetExceptionBreakpointsArgs, SetFunctionBreakpointsArgs, SetInstructionBreakpointsArgs,
    SourceBreakpoint,
};
use crate::session::{Breakpoint, Shared};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

fn same_file(a: &Path, b: &Path) -> bool {
    let a = std::fs::canonicalize(a).unwrap_or_else(|_| a.to_path_buf());
    let b = std::fs::canonicalize(b).unwrap_or_else(|_| b.to_path_buf());
    a == b
}

/// `setBreakpoints`: the source's breakpoints, each moved to the first line with code
/// at or after it.
pub fn set_breakpoints(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: SetBreakpointsArgs = arguments(request)?;
    let mut asked: Vec<SourceBreakpoint> = args.breakpoints.clone();
    if asked.is_empty() {
        asked = args
            .lines
            .iter()
            .map(|line| SourceBreakpoint {
                line: *line,
                condition: None,
                hit_condition: None,
                log_message: None,
            })
            .collect();
    }
    let mut session = shared.lock();
    let Some(program) = session.program.as_ref() else {
        return Err(DapError::user(
            "setBreakpoints before launch: launch the program first",
        ));
    };
    let path = args.source.path.clone().unwrap_or_default();
    if !same_file(Path::new(&path), &program.path) {
        let message = format!(
            "{path} is not the program being debugged ({})",
            program.path.display()
        );
        let list: Vec<Json> = asked
            .iter()
            .map(|bp| json!({ "verified": false, "line": bp.line, "message": message }))
            .collect();
        return Ok(json!({ "breakpoints": list }));
    }
    let placed: Vec<Option<u32>> = asked
        .iter()
        .map(|bp| program.code_line_at(bp.line))
        .collect();
    let mut table: BTreeMap<u32, Vec<Breakpoint>> = BTreeMap::new();
    let mut list = Vec::new();
    for (bp, at) in asked.iter().zip(placed) {
        let id = session.new_id();
        match at {
            Some(line) => {
                table.entry(line).or_default().push(Breakpoint {
                    id,
                    condition: bp.condition.clone(),
                    hit_condition: bp.hit_condition.clone(),
                    log_message: bp.log_message.clone(),
                    hits: 0,
                });
                list.push(json!({ "id": id, "verified": true, "line": line }));
            }
            None => list.push(json!({
                "id": id,
                "verified": false,
                "line": bp.line,
                "message": format!("no code at or after line {}", bp.line),
            })),
        }
    }
    session.breakpoints = table;
    session.apply_breakpoints();
    Ok(json!({ "breakpoints": list }))
}

/// `setFunctionBreakpoints`: each function or filter by name, at its first line.
pub fn set_function_breakpoints(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: SetFunctionBreakpointsArgs = arguments(request)?;
    let mut session = shared.lock();
    let Some(program) = session.program.as_ref() else {
        return Err(DapError::user(
            "setFunctionBreakpoints before launch: launch the program first",
        ));
    };
    let found: Vec<(FunctionBreakpoint, Option<u32>)> = args
        .breakpoints
        .iter()
        .map(|bp| {
            let line = program
                .function_lines
                .iter()
                .find(|(name, _)| *name == bp.name)
                .map(|(_, line)| *line);
            (bp.clone(), line)
        })
        .collect();
    let names: Vec<String> = program
        .function_lines
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    let mut table: BTreeMap<u32, Vec<Breakpoint>> = BTreeMap::new();
    let mut list = Vec::new();
    for (bp, line) in found {
        let id = session.new_id();
        match line {
            Some(line) => {
                table.entry(line).or_default().push(Breakpoint {
                    id,
                    condition: bp.condition.clone(),
                    hit_condition: bp.hit_condition.clone(),
                    log_message: None,
                    hits: 0,
                });
                list.push(json!({ "id": id, "verified": true, "line": line }));
            }
            None => list.push(json!({
                "id": id,
                "verified": false,
                "message": format!("no function or filter `{}` (there are: {})", bp.name, names.join(", ")),
            })),
        }
    }
    session.function_breakpoints = table;
    session.apply_breakpoints();
    Ok(json!({ "breakpoints": list }))
}

/// `setInstructionBreakpoints`: breakpoints on instructions, named as the
/// `disassemble` request and the frames name them (`f<function>:<offset>`, plus
/// `offset` instructions), with conditions and hit counts.
pub fn set_instruction_breakpoints(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: SetInstructionBreakpointsArgs = arguments(request)?;
    let mut session = shared.lock();
    let Some(program) = session.program.as_ref() else {
        return Err(DapError::user(
            "setInstructionBreakpoints before launch: launch the program first",
        ));
    };
    let placed: Vec<Result<(u32, u32), String>> = args
        .breakpoints
        .iter()
        .map(|bp| {
            let reference = &bp.instruction_reference;
            let (func, pc) = parse_reference(reference).ok_or_else(|| {
                format!("{reference:?} is not an instruction: write f<function>:<offset>")
            })?;
            let size = program
                .code_sizes
                .get(func as usize)
                .ok_or_else(|| format!("no function {func}"))?;
            let at = pc.saturating_add(bp.offset);
            u32::try_from(at)
                .ok()
                .filter(|at| at < size)
                .map(|at| (func, at))
                .ok_or_else(|| format!("function {func} has no instruction {at} (it has {size})"))
        })
        .collect();
    let mut table: BTreeMap<(u32, u32), Vec<Breakpoint>> = BTreeMap::new();
    let mut list = Vec::new();
    for (bp, at) in args.breakpoints.iter().zip(placed) {
        let id = session.new_id();
        match at {
            Ok((func, pc)) => {
                table.entry((func, pc)).or_default().push(Breakpoint {
                    id,
                    condition: bp.condition.clone(),
                    hit_condition: bp.hit_condition.clone(),
                    log_message: None,
                    hits: 0,
                });
                list.push(json!({
                    "id": id,
                    "verified": true,
                    "instructionReference": format!("f{func}:{pc}"),
                }));
            }
            Err(message) => list.push(json!({ "id": id, "verified": false, "message": message })),
        }
    }
    session.instruction_breakpoints = table;
    session.apply_breakpoints();
    Ok(json!({ "breakpoints": list }))
}

/// `setExceptionBreakpoints`: `runtime` stops where the program fails.
pub fn set_exception_breakpoints(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: SetExceptionBreakpointsArgs = arguments(request)?;
    if let Some(unknown) = args.filters.iter().find(|f| f.as_str() != "runtime") {
        return Err(DapError::user(format!(
            "no exception filter `{unknown}` (there is `runtime`)"
        )));
    }
    shared.lock().stop_on_errors = !args.filters.is_empty();
    let list: Vec<Json> = args
        .filters
        .iter()
        .map(|_| json!({ "verified": true }))
        .collect();
    Ok(json!({ "breakpoints": list }))
}
