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
    let Some(file) = program.file_named(Path::new(&path)) else {
        let names: Vec<String> = program
            .files
            .iter()
            .map(|file| file.path.display().to_string())
            .collect();
        let message = format!(
            "{path} is not a file of the program being debugged ({})",
            names.join(", ")
        );
        let list: Vec<Json> = asked
            .iter()
            .map(|bp| json!({ "verified": false, "line": bp.line, "message": message }))
            .collect();
        return Ok(json!({ "breakpoints": list }));
    };
    // The file's lines in the program's text: its breakpoints are replaced, the other
    // files' stay.
    let (first, end) = program
        .files
        .get(file)
        .map_or((0, 0), |f| (f.first_line, f.first_line + f.line_count));
    let placed: Vec<Option<u32>> = asked
        .iter()
        .map(|bp| program.code_line_at(file, bp.line))
        .collect();
    let mut table: BTreeMap<u32, Vec<Breakpoint>> = std::mem::take(&mut session.breakpoints);
    table.retain(|line, _| *line < first || *line >= end);
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
                let local = line + 1 - first;
                list.push(json!({ "id": id, "verified": true, "line": local }));
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

/// The function or filter a function breakpoint names: by its name in the program
/// (`sepia.sepia` for a used file's), else the one whose name in its file it is
/// (`sepia`, as the program that uses it writes it).
fn function_named<'a>(
    functions: &'a [(String, u32)],
    asked: &str,
) -> Result<&'a (String, u32), String> {
    if let Some(found) = functions.iter().find(|(name, _)| name == asked) {
        return Ok(found);
    }
    let suffix = format!(".{asked}");
    let matches: Vec<&(String, u32)> = functions
        .iter()
        .filter(|(name, _)| name.ends_with(&suffix))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "no function or filter `{asked}` (there are: {})",
            functions
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        several => Err(format!(
            "`{asked}` names several functions: write one of {}",
            several
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Where a function breakpoint is: its line in the program's text, its file's source
/// and its line there; or why it is nowhere.
type Placed = Result<(u32, Json, u32), String>;

/// `setFunctionBreakpoints`: each function or filter by name, at its first line.
pub fn set_function_breakpoints(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: SetFunctionBreakpointsArgs = arguments(request)?;
    let mut session = shared.lock();
    let Some(program) = session.program.as_ref() else {
        return Err(DapError::user(
            "setFunctionBreakpoints before launch: launch the program first",
        ));
    };
    // Each breakpoint's line in the program's text, and its file and line there.
    let found: Vec<(FunctionBreakpoint, Placed)> = args
        .breakpoints
        .iter()
        .map(|bp| {
            let at = function_named(&program.function_lines, &bp.name).map(|(_, line)| {
                let (file, local) = program.local_line(*line);
                (*line, program.source_of(file), local)
            });
            (bp.clone(), at)
        })
        .collect();
    let mut table: BTreeMap<u32, Vec<Breakpoint>> = BTreeMap::new();
    let mut list = Vec::new();
    for (bp, at) in found {
        let id = session.new_id();
        match at {
            Ok((line, source, local)) => {
                table.entry(line).or_default().push(Breakpoint {
                    id,
                    condition: bp.condition.clone(),
                    hit_condition: bp.hit_condition.clone(),
                    log_message: None,
                    hits: 0,
                });
                list.push(json!({ "id": id, "verified": true, "line": local, "source": source }));
            }
            Err(message) => list.push(json!({
                "id": id,
                "verified": false,
                "message": message,
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
