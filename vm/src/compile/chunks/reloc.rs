//! Functions made relocatable: what a function's chunks say of it, without its program.
//!
//! In the IR an instruction names program-wide things: a function to call or make a
//! closure of (`Imm::Func`), a string (`Imm::Str`), a printed type (`Imm::Type`), a
//! global's slot (`Imm::Global`), and its span is a place in the linked program, whose
//! files sit one after the other. [`relocate`] rewrites a function so that it says none
//! of that: each of those immediates becomes an index into a table of the function's
//! own (the functions it calls, by chunk; the strings, by content; the types, by value;
//! the globals, by their name in the program, `NS.name`), and every span is made
//! relative to the start of the function's own file. The decoder undoes both through
//! the Program chunk, which lists the program's functions, strings, types, globals and
//! files.
//!
//! A function's digest ([`function_digests`]) hashes its own relocated form and, in a
//! fixed order, the own forms of every function reachable from it by calls and closures
//! (a breadth-first numbering from it, each with the numbers of its callees): two
//! functions get one digest exactly when they are the same code calling the same code,
//! whatever program they are in, and recursion is a back edge in that numbering, not a
//! cycle in the hashing.

use super::CODE_VERSION;
use crate::compile::ir::{CodeFile, Function, Imm, Program};
use crate::syntax::span::Span;
use std::collections::HashMap;

/// The table index written for a reference to nothing (a function, string, type or
/// global the program does not have): the decoder refuses it.
pub(super) const MISSING: u64 = u32::MAX as u64;

/// A function as its chunks store it.
pub(super) struct Relocated {
    /// The function with its immediates as indices into the tables below, its spans
    /// relative to its file and, when `name_moved`, its name's offsets too.
    pub func: Function,
    /// Its file, an index into [`files`] of the program; `None` when some span of it
    /// lies outside the file of its definition (its spans are then the program's own).
    pub file: Option<usize>,
    /// Whether the `@offset`s of its name (a closure's) were made relative to the file.
    pub name_moved: bool,
    /// The functions it calls or makes closures of (program indices), in first-use order.
    pub callees: Vec<u32>,
    /// The strings it makes (program indices).
    pub strings: Vec<u32>,
    /// The types it prints (program indices).
    pub types: Vec<u32>,
    /// The globals it reads (indices into the program's globals).
    pub globals: Vec<u32>,
    /// The hash of all of the above except which functions the callees are.
    pub own: [u8; 32],
}

/// The files of `program` as its spans see them: its own list, or, for a program that
/// leaves it empty, one nameless file from 0 holding every span.
pub(super) fn files(program: &Program) -> Vec<CodeFile> {
    if program.files.is_empty() {
        vec![CodeFile {
            name: String::new(),
            base: 0,
            len: usize::MAX,
        }]
    } else {
        program.files.clone()
    }
}

/// The position of `value` in `table`, added at its end when new.
fn index_in(table: &mut Vec<u32>, value: u32) -> u64 {
    match table.iter().position(|it| *it == value) {
        Some(pos) => pos as u64,
        None => {
            table.push(value);
            table.len() as u64 - 1
        }
    }
}

/// `name` with every `@digits` shifted by `by`; `None` when a number does not read back
/// the same (leading zeros, too large) or would leave the range of offsets.
pub(super) fn shift_name(name: &str, by: isize) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            continue;
        }
        let text = &rest[..digits];
        if digits > 1 && text.starts_with('0') {
            return None;
        }
        let offset: usize = text.parse().ok()?;
        let moved = offset.checked_add_signed(by)?;
        if moved > u32::MAX as usize {
            return None;
        }
        out.push_str(&moved.to_string());
        rest = &rest[digits..];
    }
    out.push_str(rest);
    Some(out)
}

/// The file of `files` that the definition starting at `start` is in.
fn file_at(files: &[CodeFile], start: usize) -> Option<usize> {
    files.iter().rposition(|file| file.base <= start)
}

/// Every span a function carries: its definition, its instructions', its locals'.
fn spans(func: &Function) -> impl Iterator<Item = &Span> {
    std::iter::once(&func.span)
        .chain(func.blocks.iter().flat_map(|block| block.spans.iter()))
        .chain(func.locals.iter().map(|local| &local.scope))
}

/// `func` of `program` made relocatable (see the module's documentation).
pub(super) fn relocate(program: &Program, files: &[CodeFile], func: &Function) -> Relocated {
    let mut out = func.clone();
    let (mut callees, mut strings, mut types, mut globals) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for block in &mut out.blocks {
        for instr in &mut block.instrs {
            let in_range = |len: usize| instr.k < len as u64;
            instr.k = match instr.op.shape().3 {
                Imm::Func if in_range(program.functions.len()) => {
                    index_in(&mut callees, instr.k as u32)
                }
                Imm::Str if in_range(program.strings.len()) => {
                    index_in(&mut strings, instr.k as u32)
                }
                Imm::Type if in_range(program.types.len()) => index_in(&mut types, instr.k as u32),
                Imm::Global => match program
                    .globals
                    .iter()
                    .position(|global| global.slot as u64 == instr.k)
                {
                    Some(global) => index_in(&mut globals, global as u32),
                    None => MISSING,
                },
                Imm::Func | Imm::Str | Imm::Type => MISSING,
                _ => instr.k,
            };
        }
    }
    let file = file_at(files, func.span.start).filter(|&idx| {
        let (base, end) = (
            files[idx].base,
            files[idx].base.saturating_add(files[idx].len),
        );
        spans(func).all(|span| base <= span.start && span.start <= span.end && span.end <= end)
    });
    let mut name_moved = false;
    if let Some(idx) = file {
        let base = files[idx].base;
        let local = |span: &mut Span| *span = Span::new(span.start - base, span.end - base);
        local(&mut out.span);
        for block in &mut out.blocks {
            block.spans.iter_mut().for_each(local);
        }
        for info in &mut out.locals {
            local(&mut info.scope);
        }
        if func.is_closure {
            let by = base as isize;
            if let Some(moved) = shift_name(&func.name, -by) {
                if shift_name(&moved, by).as_deref() == Some(func.name.as_str()) {
                    out.name = moved;
                    name_moved = true;
                }
            }
        }
    }
    let own_text = format!(
        "chunkvm function v{CODE_VERSION} {:?} file {:?} moved {name_moved} callees {} \
         strings {:?} types {:?} globals {:?}",
        out,
        file.map(|idx| files[idx].name.as_str()),
        callees.len(),
        strings
            .iter()
            .map(|idx| &program.strings[*idx as usize])
            .collect::<Vec<_>>(),
        types
            .iter()
            .map(|idx| &program.types[*idx as usize])
            .collect::<Vec<_>>(),
        globals
            .iter()
            .map(|idx| {
                let global = &program.globals[*idx as usize];
                (&global.name, &global.ty)
            })
            .collect::<Vec<_>>(),
    );
    Relocated {
        func: out,
        file,
        name_moved,
        callees,
        strings,
        types,
        globals,
        own: *blake3::hash(own_text.as_bytes()).as_bytes(),
    }
}

/// The digest of each function: its own hash and those of the functions reachable from
/// it, numbered breadth first from it, each with the numbers of its callees.
pub(super) fn function_digests(functions: &[Relocated]) -> Vec<[u8; 32]> {
    (0..functions.len())
        .map(|start| {
            let mut order = vec![start as u32];
            let mut number: HashMap<u32, u64> = HashMap::from([(start as u32, 0)]);
            let mut hasher = blake3::Hasher::new();
            hasher.update(format!("chunkvm function graph v{CODE_VERSION}").as_bytes());
            let mut next = 0;
            while let Some(&func) = order.get(next) {
                next += 1;
                let Some(reloc) = functions.get(func as usize) else {
                    continue;
                };
                hasher.update(&reloc.own);
                hasher.update(&(reloc.callees.len() as u64).to_le_bytes());
                for callee in &reloc.callees {
                    let seen = number.len() as u64;
                    let at = *number.entry(*callee).or_insert_with(|| {
                        order.push(*callee);
                        seen
                    });
                    hasher.update(&at.to_le_bytes());
                }
            }
            *hasher.finalize().as_bytes()
        })
        .collect()
}
