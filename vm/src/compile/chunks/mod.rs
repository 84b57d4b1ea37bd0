//! A compiled program as chunks, and back.
//!
//! Code chunks are immutable and named by content, per function: the chunks of a
//! function (its Function chunk, its blocks, its lists, words and names) are
//! `ChunkId::code(digest, n)` where `digest` is the function's own (see [`reloc`]):
//! a hash of its relocatable encoding and of those of every function it may reach
//! through calls and closures. A function says nothing of the program around it, so
//! the same filter used by two pipelines is the same chunks in both, and a node that
//! holds them for one never fetches them for the other. String literals are Text
//! chunks named by their text alone. The Program chunk and its own lists and words
//! are named by a digest of the whole program; the same source always compiles to the
//! same ids.
//!
//! What makes a function relocatable ([`reloc`]): an instruction's immediate that
//! names a function (`Call`, `MkClo`), a string (`Str`), a printed type (`Print`,
//! `PrintR`) or a global (`Glob`, `Glob2`) is an index into a table of the function's
//! own (callees by chunk, strings by their Text chunk, types by value, globals by their
//! name in the program, `NS.name` for a used file's param); its spans (instructions',
//! locals' scopes, the definition's) are relative to its file's start, and its Function
//! chunk names that file (its namespace in the program: `grayscale`, or empty for the
//! main file); a closure's name (`f::closure@OFFSET`) has its offsets moved the same
//! way. The decoder maps all of it back through the Program chunk's lists, so the
//! decoded program is the program stored, with its program-wide indices and spans
//! (what the debugger's `locate` reads). A function with a span outside its own file
//! keeps the program's spans (no file named): correct, only not shared.
//!
//! ```text
//! Program  [0] version  [1] -> function list  [2] -> program words  [3] #functions
//!          [4] -> string list  [5] -> name list (the globals')  [6] -> name list (the files')
//! Function [0] -> name text  [1] -> function words  [2] -> block list  [3] -> entry block
//!          [4] #blocks  [5] -> name list (the params', then the locals')  [6] #scalar registers
//!          [7] #reference registers  [8] #environment slots  [9] closure (0 or 1)
//!          [10] start of the definition  [11] its end (bytes, in its file)
//!          [12] -> its file's name (text), or 0: its spans are the program's
//!          [13] -> callee list (functions)  [14] -> string list (texts)
//!          [15] -> name list (the globals it reads)  [16] name's offsets moved (0 or 1)
//! Block    a stream of slots over a chain of chunks (slot 31 -> continuation):
//!          header (index | #links << 32 | #instrs << 40), links (successor blocks,
//!          then called functions), instruction words (op|a|b|c, then k when the op
//!          has an immediate: a table index for functions, strings, types and globals),
//!          one source span per instruction (start | end << 32, in the function's file)
//! List     [0] count  [1..=30] links  [31] -> next piece
//! Words    [0] count  [1..=30] scalars  [31] -> next piece
//! ```
//!
//! Names are Text chunks; everything else a program or a function says of itself
//! is words (scalars), in this order:
//!
//! ```text
//! program words   #types, type..., #globals, (slot, type)..., #defaults, default...,
//!                 #files, (base, length)...
//! function words  return type, #params, type..., one 0/1 per environment slot (1: a
//!                 link), #locals, (place, register, param 0/1, scope start, scope end,
//!                 type)..., #types, type... (its type table), #globals, type... (the
//!                 types of the globals it reads)
//!                 place: 0 scalar, 1 reference, 2 environment
//! type            tag: 0 int, 1 float, 2 bool, 3 color, 4 image, 5 str, 6 (), 7 array,
//!                 8 fn, 9 {unknown}; an array then its length and element type, a fn
//!                 its #params, their types and its return type
//! ```
//!
//! Storing a program is here, and [`verify`]; reading one back from its chunks is in
//! `load`.

mod load;
mod reloc;

#[cfg(test)]
use load::Reader;
pub use load::{decode_type, load_block, load_program};

use super::ir::{
    unpack_targets, Block, CodeFile, Function, Global, Imm, Instr, Loc, LocalInfo, Op, Program,
};
use crate::chunk::{read_text, text_chunks, Chunk, ChunkId, Kind, Store, StoreError, SLOTS};
use crate::syntax::span::Span;
use crate::types::Type;
use reloc::Relocated;
use std::collections::HashMap;
use std::fmt;

/// Version of the code chunk layout, in slot 0 of the Program chunk.
pub const CODE_VERSION: u64 = 3;

const CONT: usize = SLOTS - 1;
const LIST_CAP: usize = SLOTS - 2;

/// Where each function and block of a program lives in a store.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeIds {
    /// The Program chunk.
    pub root: ChunkId,
    /// The Function chunk of each function.
    pub functions: Vec<ChunkId>,
    /// The (first) Block chunk of each block of each function.
    pub blocks: Vec<Vec<ChunkId>>,
    /// The Text chunk of each string literal.
    pub strings: Vec<ChunkId>,
}

/// A program whose chunks did not decode.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeError {
    /// The chunk at fault.
    pub chunk: ChunkId,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad code chunk {}: {}", self.chunk, self.what)
    }
}

impl std::error::Error for CodeError {}

impl From<StoreError> for CodeError {
    fn from(err: StoreError) -> CodeError {
        let chunk = match &err {
            StoreError::Missing(id)
            | StoreError::Immutable(id)
            | StoreError::WrongKind { id, .. }
            | StoreError::BadShape(id, _)
            | StoreError::OutOfBounds { id, .. } => *id,
            StoreError::Invalid(_) => ChunkId::NIL,
        };
        CodeError {
            chunk,
            what: err.to_string(),
        }
    }
}

/// Names the chunks made under one digest (a function's or the program's), in order.
struct Namer {
    digest: [u8; 32],
    next: u32,
    out: Vec<(ChunkId, Chunk)>,
}

impl Namer {
    fn new(digest: [u8; 32]) -> Namer {
        Namer {
            digest,
            next: 0,
            out: Vec::new(),
        }
    }

    fn id(&mut self) -> ChunkId {
        let id = ChunkId::code(&self.digest, self.next);
        self.next += 1;
        id
    }

    fn text(&mut self, text: &str) -> ChunkId {
        let pieces = text_chunks(text, |_| {
            let id = ChunkId::code(&self.digest, self.next);
            self.next += 1;
            id
        });
        let head = pieces.first().map(|(id, _)| *id).unwrap_or(ChunkId::NIL);
        self.out.extend(pieces);
        head
    }

    /// A chain of list chunks holding `links`.
    fn list(&mut self, links: &[ChunkId]) -> ChunkId {
        let slots: Vec<(u64, bool)> = links.iter().map(|id| (id.0, true)).collect();
        self.pieces(&slots)
    }

    /// A chain of words chunks holding `words`.
    fn words(&mut self, words: &[u64]) -> ChunkId {
        let slots: Vec<(u64, bool)> = words.iter().map(|word| (*word, false)).collect();
        self.pieces(&slots)
    }

    /// A chain of counted pieces (a list or words) holding `slots` (`true`: a link).
    fn pieces(&mut self, slots: &[(u64, bool)]) -> ChunkId {
        let pieces: Vec<&[(u64, bool)]> = if slots.is_empty() {
            vec![&[]]
        } else {
            slots.chunks(LIST_CAP).collect()
        };
        let ids: Vec<ChunkId> = pieces.iter().map(|_| self.id()).collect();
        for (idx, piece) in pieces.iter().enumerate() {
            let mut chunk = Chunk::new(Kind::ArrayLeaf);
            chunk.set_scalar(0, piece.len() as u64);
            for (pos, (value, is_link)) in piece.iter().enumerate() {
                if *is_link {
                    chunk.set_link(1 + pos, ChunkId(*value));
                } else {
                    chunk.set_scalar(1 + pos, *value);
                }
            }
            chunk.set_link(CONT, ids.get(idx + 1).copied().unwrap_or(ChunkId::NIL));
            self.out.push((ids[idx], chunk));
        }
        ids[0]
    }

    /// A stream of slots (`true`: a link) over a chain of chunks of `kind` from `head`.
    fn stream(&mut self, kind: Kind, head: ChunkId, slots: &[(u64, bool)]) {
        let pieces: Vec<&[(u64, bool)]> = slots.chunks(SLOTS - 1).collect();
        let mut ids = vec![head];
        for _ in 1..pieces.len() {
            ids.push(self.id());
        }
        for (idx, piece) in pieces.iter().enumerate() {
            let mut chunk = Chunk::new(kind);
            for (pos, (value, is_link)) in piece.iter().enumerate() {
                if *is_link {
                    chunk.set_link(pos, ChunkId(*value));
                } else {
                    chunk.set_scalar(pos, *value);
                }
            }
            chunk.set_link(CONT, ids.get(idx + 1).copied().unwrap_or(ChunkId::NIL));
            self.out.push((ids[idx], chunk));
        }
    }
}

/// The digest that names a program's own chunks (the Program chunk, its lists and
/// words); its functions' chunks are named by their own digests.
pub fn digest(program: &Program) -> [u8; 32] {
    let text = format!("chunkvm code v{CODE_VERSION} {program:?}");
    *blake3::hash(text.as_bytes()).as_bytes()
}

/// The Text chunks of a string named by its content alone, the head first.
fn content_text(text: &str) -> Vec<(ChunkId, Chunk)> {
    let digest = blake3::hash(format!("chunkvm text v{CODE_VERSION}\0{text}").as_bytes());
    text_chunks(text, |idx| ChunkId::code(digest.as_bytes(), idx as u32))
}

/// The head of a content-named text's chunks.
fn content_text_id(text: &str) -> ChunkId {
    content_text(text)
        .first()
        .map(|(id, _)| *id)
        .unwrap_or(ChunkId::NIL)
}

/// Encodes an instruction as one or two words.
pub fn encode_instr(instr: &Instr, out: &mut Vec<u64>) {
    let has_k = instr.op.shape().3 != Imm::None;
    out.push(
        instr.op as u64
            | (instr.a as u64) << 8
            | (instr.b as u64) << 24
            | (instr.c as u64) << 40
            | (has_k as u64) << 56,
    );
    if has_k {
        out.push(instr.k);
    }
}

/// Stores a program as code chunks; returns where everything is.
pub fn store_program(program: &Program, store: &mut Store) -> CodeIds {
    let files = reloc::files(program);
    let relocated: Vec<Relocated> = program
        .functions
        .iter()
        .map(|func| reloc::relocate(program, &files, func))
        .collect();
    let digests = reloc::function_digests(&relocated);
    let function_ids: Vec<ChunkId> = digests
        .iter()
        .map(|digest| ChunkId::code(digest, 0))
        .collect();
    let mut string_ids = Vec::new();
    for text in &program.strings {
        let pieces = content_text(text);
        string_ids.push(pieces.first().map(|(id, _)| *id).unwrap_or(ChunkId::NIL));
        for (id, chunk) in pieces {
            store.insert_code(id, chunk);
        }
    }
    let mut block_ids = Vec::new();
    for (reloc, digest) in relocated.iter().zip(&digests) {
        let mut namer = Namer::new(*digest);
        let fid = namer.id();
        let blocks = store_function(program, &files, reloc, &function_ids, &mut namer, fid);
        block_ids.push(blocks);
        for (id, chunk) in namer.out {
            store.insert_code(id, chunk);
        }
    }
    let mut namer = Namer::new(digest(program));
    let root = namer.id();
    let list = namer.list(&function_ids);
    let words = namer.words(&program_words(program));
    let strings = namer.list(&string_ids);
    let names: Vec<ChunkId> = program
        .globals
        .iter()
        .map(|global| namer.text(&global.name))
        .collect();
    let names = namer.list(&names);
    let file_names: Vec<ChunkId> = program
        .files
        .iter()
        .map(|file| namer.text(&file.name))
        .collect();
    let file_names = namer.list(&file_names);
    let mut chunk = Chunk::new(Kind::Program);
    chunk.set_scalar(0, CODE_VERSION);
    chunk.set_link(1, list);
    chunk.set_link(2, words);
    chunk.set_scalar(3, program.functions.len() as u64);
    chunk.set_link(4, strings);
    chunk.set_link(5, names);
    chunk.set_link(6, file_names);
    namer.out.push((root, chunk));
    for (id, chunk) in namer.out {
        store.insert_code(id, chunk);
    }
    CodeIds {
        root,
        functions: function_ids,
        blocks: block_ids,
        strings: string_ids,
    }
}

/// Makes the chunks of one relocated function, its Function chunk `fid`, in `namer`;
/// returns the ids of its blocks.
fn store_function(
    program: &Program,
    files: &[CodeFile],
    reloc: &Relocated,
    function_ids: &[ChunkId],
    namer: &mut Namer,
    fid: ChunkId,
) -> Vec<ChunkId> {
    let func = &reloc.func;
    let callee_ids: Vec<ChunkId> = reloc
        .callees
        .iter()
        .filter_map(|callee| function_ids.get(*callee as usize).copied())
        .collect();
    let blocks: Vec<ChunkId> = func.blocks.iter().map(|_| namer.id()).collect();
    for (bidx, block) in func.blocks.iter().enumerate() {
        let mut links: Vec<ChunkId> = func
            .successors(bidx)
            .into_iter()
            .filter_map(|target| blocks.get(target as usize).copied())
            .collect();
        for instr in &block.instrs {
            if matches!(instr.op, Op::Call | Op::MkClo) {
                if let Some(callee) = callee_ids.get(instr.k as usize) {
                    if !links.contains(callee) {
                        links.push(*callee);
                    }
                }
            }
        }
        let mut words = Vec::new();
        for instr in &block.instrs {
            encode_instr(instr, &mut words);
        }
        let header = bidx as u64 | (links.len() as u64) << 32 | (block.instrs.len() as u64) << 40;
        let mut slots = vec![(header, false)];
        slots.extend(links.iter().map(|id| (id.0, true)));
        slots.extend(words.iter().map(|word| (*word, false)));
        slots.extend(
            block
                .spans
                .iter()
                .map(|span| (span.start as u64 | (span.end as u64) << 32, false)),
        );
        namer.stream(Kind::Block, blocks[bidx], &slots);
    }
    let name = namer.text(&func.name);
    let mut words = function_words(func);
    words.push(reloc.types.len() as u64);
    for ty in &reloc.types {
        if let Some(ty) = program.types.get(*ty as usize) {
            encode_type(ty, &mut words);
        }
    }
    words.push(reloc.globals.len() as u64);
    for global in &reloc.globals {
        if let Some(global) = program.globals.get(*global as usize) {
            encode_type(&global.ty, &mut words);
        }
    }
    let words = namer.words(&words);
    let list = namer.list(&blocks);
    let names: Vec<ChunkId> = func
        .params
        .iter()
        .map(|(name, _)| name.as_str())
        .chain(func.locals.iter().map(|local| local.name.as_str()))
        .map(|name| namer.text(name))
        .collect();
    let names = namer.list(&names);
    let file = reloc
        .file
        .and_then(|idx| files.get(idx))
        .map(|file| namer.text(&file.name));
    let callees = namer.list(&callee_ids);
    let string_ids: Vec<ChunkId> = reloc
        .strings
        .iter()
        .filter_map(|idx| program.strings.get(*idx as usize))
        .map(|text| content_text_id(text))
        .collect();
    let strings = namer.list(&string_ids);
    let global_names: Vec<ChunkId> = reloc
        .globals
        .iter()
        .filter_map(|idx| program.globals.get(*idx as usize))
        .map(|global| namer.text(&global.name))
        .collect();
    let globals = namer.list(&global_names);
    let mut chunk = Chunk::new(Kind::Function);
    chunk.set_link(0, name);
    chunk.set_link(1, words);
    chunk.set_link(2, list);
    chunk.set_link(3, blocks.first().copied().unwrap_or(ChunkId::NIL));
    chunk.set_scalar(4, blocks.len() as u64);
    chunk.set_link(5, names);
    chunk.set_scalar(6, func.nregs as u64);
    chunk.set_scalar(7, func.nrefs as u64);
    chunk.set_scalar(8, func.env_slots as u64);
    chunk.set_scalar(9, func.is_closure as u64);
    chunk.set_scalar(10, func.span.start as u64);
    chunk.set_scalar(11, func.span.end as u64);
    match file {
        Some(file) => chunk.set_link(12, file),
        None => chunk.set_scalar(12, 0),
    }
    chunk.set_link(13, callees);
    chunk.set_link(14, strings);
    chunk.set_link(15, globals);
    chunk.set_scalar(16, reloc.name_moved as u64);
    namer.out.push((fid, chunk));
    blocks
}

/// Appends the words of `ty` to `out`: its tag, then, for an array, its length and
/// element type, for a function, the number of its parameters, their types and its
/// return type.
pub fn encode_type(ty: &Type, out: &mut Vec<u64>) {
    match ty {
        Type::Int => out.push(0),
        Type::Float => out.push(1),
        Type::Bool => out.push(2),
        Type::Color => out.push(3),
        Type::Image => out.push(4),
        Type::Str => out.push(5),
        Type::Unit => out.push(6),
        Type::Array(elem, len) => {
            out.extend([7, *len as u64]);
            encode_type(elem, out);
        }
        Type::Fn(f) => {
            out.extend([8, f.params.len() as u64]);
            for param in &f.params {
                encode_type(param, out);
            }
            encode_type(&f.ret, out);
        }
        Type::Error => out.push(9),
    }
}

/// A function's words: return type, parameter types, environment link flags, locals.
fn function_words(func: &Function) -> Vec<u64> {
    let mut out = Vec::new();
    encode_type(&func.ret, &mut out);
    out.push(func.params.len() as u64);
    for (_, ty) in &func.params {
        encode_type(ty, &mut out);
    }
    out.push(func.env_links.len() as u64);
    out.extend(func.env_links.iter().map(|link| *link as u64));
    out.push(func.locals.len() as u64);
    for local in &func.locals {
        let (place, reg) = match local.loc {
            Loc::S(reg) => (0, reg),
            Loc::R(reg) => (1, reg),
            Loc::Env(reg) => (2, reg),
        };
        out.extend([
            place,
            reg as u64,
            local.is_param as u64,
            local.scope.start as u64,
            local.scope.end as u64,
        ]);
        encode_type(&local.ty, &mut out);
    }
    out
}

/// A program's words: the types `Print` names, the globals' slots and types, the
/// globals' default values, the files' bases and lengths.
fn program_words(program: &Program) -> Vec<u64> {
    let mut out = vec![program.types.len() as u64];
    for ty in &program.types {
        encode_type(ty, &mut out);
    }
    out.push(program.globals.len() as u64);
    for global in &program.globals {
        out.push(global.slot as u64);
        encode_type(&global.ty, &mut out);
    }
    out.push(program.global_defaults.len() as u64);
    out.extend(&program.global_defaults);
    out.push(program.files.len() as u64);
    for file in &program.files {
        out.extend([file.base as u64, file.len as u64]);
    }
    out
}

/// Checks that every instruction's operands lie inside its function's
/// registers, jump targets, functions, strings and types: decoded code never
/// makes the interpreter index out of bounds.
pub fn verify(program: &Program) -> Result<(), (usize, String)> {
    use super::ir::Operand;
    for (fidx, func) in program.functions.iter().enumerate() {
        if func.blocks.is_empty() {
            return Err((fidx, format!("function `{}` has no blocks", func.name)));
        }
        for (bidx, block) in func.blocks.iter().enumerate() {
            if !block.instrs.last().is_some_and(|it| it.op.ends_block()) {
                return Err((
                    fidx,
                    format!(
                        "block {bidx} of `{}` does not end with a jump or return",
                        func.name
                    ),
                ));
            }
            if block.instrs[..block.instrs.len() - 1]
                .iter()
                .any(|it| it.op.ends_block())
            {
                return Err((
                    fidx,
                    format!("block {bidx} of `{}` jumps before its end", func.name),
                ));
            }
            for instr in &block.instrs {
                let (a, b, c, k) = instr.op.shape();
                let fail = |what: &str| {
                    Err((
                        fidx,
                        format!(
                            "{} in block {bidx} of `{}`: {what}",
                            instr.op.name(),
                            func.name
                        ),
                    ))
                };
                for (operand, value) in [(a, instr.a), (b, instr.b), (c, instr.c)] {
                    let ok = match operand {
                        Operand::None | Operand::N => true,
                        Operand::S => value < func.nregs,
                        Operand::S2 => (value as u32 + 1) < func.nregs as u32,
                        Operand::R => value < func.nrefs,
                    };
                    if !ok {
                        return fail("register out of range");
                    }
                }
                // Instructions that read a run of registers from their operand.
                let run = match instr.op {
                    Op::At => Some(instr.c as u32 + 2),
                    Op::ImgNew => Some(instr.b as u32 + 2),
                    Op::ImgSet => Some(instr.b as u32 + 2),
                    Op::Rgb => Some(instr.b as u32 + 3),
                    Op::Rgba | Op::Blank => Some(instr.b as u32 + 4),
                    Op::Math => super::ir::builtin_of_code(instr.k)
                        .map(|op| instr.b as u32 + super::ir::math_widths(op).0),
                    _ => None,
                };
                let out = match instr.op {
                    Op::Math => super::ir::builtin_of_code(instr.k)
                        .map(|op| instr.a as u32 + super::ir::math_widths(op).1),
                    _ => None,
                };
                for end in [run, out].into_iter().flatten() {
                    if end > func.nregs as u32 {
                        return fail("argument registers out of range");
                    }
                }
                if matches!(instr.op, Op::Math) && super::ir::builtin_of_code(instr.k).is_none() {
                    return fail("unknown builtin");
                }
                if matches!(instr.op, Op::DivIK | Op::RemIK) && instr.k == 0 {
                    return fail("a constant divisor of 0");
                }
                let ok = match k {
                    Imm::Block => instr.k < func.blocks.len() as u64,
                    Imm::Block2 => {
                        let (then, otherwise) = unpack_targets(instr.k);
                        (then as usize) < func.blocks.len()
                            && (otherwise as usize) < func.blocks.len()
                    }
                    Imm::Regs4 => (0..4).all(|idx| ((instr.k >> (16 * idx)) as u16) < func.nregs),
                    Imm::Func => instr.k < program.functions.len() as u64,
                    Imm::Str => instr.k < program.strings.len() as u64,
                    Imm::Type => instr.k < program.types.len() as u64,
                    Imm::Global => {
                        let width = if instr.op == Op::Glob2 { 2 } else { 1 };
                        instr.k + width <= program.global_defaults.len() as u64
                    }
                    _ => true,
                };
                if !ok {
                    return fail("immediate out of range");
                }
            }
            if block.spans.len() != block.instrs.len() {
                return Err((
                    fidx,
                    format!("block {bidx} of `{}` lacks source spans", func.name),
                ));
            }
        }
        if func.env_links.len() != func.env_slots as usize {
            return Err((
                fidx,
                format!("`{}` has a malformed environment layout", func.name),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
