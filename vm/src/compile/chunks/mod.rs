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

mod reloc;

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
/// The deepest nesting of types a decoder follows: deeper is refused, not recursed into.
const TYPE_DEPTH: usize = 256;

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

/// Reads a type from exactly `words`, as [`encode_type`] writes them; `chunk` is the
/// chunk named when they do not hold one type.
pub fn decode_type(words: &[u64], chunk: ChunkId) -> Result<Type, CodeError> {
    let mut reader = Words {
        words,
        pos: 0,
        chunk,
    };
    let ty = reader.ty("the type", 0)?;
    reader.end("the type")?;
    Ok(ty)
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

/// A reader of decoded words that refuses, naming `chunk`, what does not fit.
struct Words<'w> {
    words: &'w [u64],
    pos: usize,
    chunk: ChunkId,
}

impl Words<'_> {
    fn next(&mut self, what: &str) -> Result<u64, CodeError> {
        let word = self
            .words
            .get(self.pos)
            .copied()
            .ok_or_else(|| bad(self.chunk, format!("the words end before {what}")))?;
        self.pos += 1;
        Ok(word)
    }

    /// A word that must fit in `T`.
    fn small<T: TryFrom<u64>>(&mut self, what: &str) -> Result<T, CodeError> {
        let word = self.next(what)?;
        T::try_from(word).map_err(|_| bad(self.chunk, format!("{what} is {word}: out of range")))
    }

    fn flag(&mut self, what: &str) -> Result<bool, CodeError> {
        match self.next(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(bad(self.chunk, format!("{what} is {other}, not 0 or 1"))),
        }
    }

    /// A count of things of at least one word each: never more than the words left.
    fn count(&mut self, what: &str) -> Result<usize, CodeError> {
        let word = self.next(what)?;
        let left = self.words.len().saturating_sub(self.pos);
        usize::try_from(word)
            .ok()
            .filter(|count| *count <= left)
            .ok_or_else(|| {
                bad(
                    self.chunk,
                    format!("{what} is {word}, more than the {left} words left"),
                )
            })
    }

    fn ty(&mut self, what: &str, depth: usize) -> Result<Type, CodeError> {
        if depth > TYPE_DEPTH {
            return Err(bad(
                self.chunk,
                format!("{what} nests deeper than {TYPE_DEPTH} types"),
            ));
        }
        Ok(match self.next(what)? {
            0 => Type::Int,
            1 => Type::Float,
            2 => Type::Bool,
            3 => Type::Color,
            4 => Type::Image,
            5 => Type::Str,
            6 => Type::Unit,
            7 => {
                let len = self.small::<u32>("an array length")?;
                Type::Array(Box::new(self.ty(what, depth + 1)?), len)
            }
            8 => {
                let count = self.count("a function type's parameter count")?;
                let mut params = Vec::with_capacity(count);
                for _ in 0..count {
                    params.push(self.ty(what, depth + 1)?);
                }
                Type::func(params, self.ty(what, depth + 1)?)
            }
            9 => Type::Error,
            tag => return Err(bad(self.chunk, format!("{what} has the unknown tag {tag}"))),
        })
    }

    fn end(&self, what: &str) -> Result<(), CodeError> {
        match self.words.len().saturating_sub(self.pos) {
            0 => Ok(()),
            left => Err(bad(
                self.chunk,
                format!("{left} words left over after {what}"),
            )),
        }
    }
}

struct Reader<'s> {
    store: &'s Store,
}

fn bad(chunk: ChunkId, what: impl Into<String>) -> CodeError {
    CodeError {
        chunk,
        what: what.into(),
    }
}

impl Reader<'_> {
    fn chunk(&self, id: ChunkId) -> Result<&Chunk, CodeError> {
        self.store
            .get(id)
            .ok_or_else(|| bad(id, "not in the store"))
    }

    fn list(&self, head: ChunkId) -> Result<Vec<ChunkId>, CodeError> {
        let mut out = Vec::new();
        let mut next = Some(head);
        let mut pieces = 0;
        while let Some(id) = next {
            pieces += 1;
            if pieces > 1 << 20 {
                return Err(bad(head, "list does not end"));
            }
            let chunk = self.chunk(id)?;
            let count = chunk.get(0) as usize;
            if count > LIST_CAP {
                return Err(bad(id, format!("list piece claims {count} links")));
            }
            for pos in 0..count {
                out.push(
                    chunk
                        .link(1 + pos)
                        .ok_or_else(|| bad(id, "list slot is not a link"))?,
                );
            }
            next = chunk.link(CONT);
        }
        Ok(out)
    }

    fn stream(&self, head: ChunkId) -> Result<Vec<(u64, bool)>, CodeError> {
        let mut out = Vec::new();
        let mut next = Some(head);
        let mut pieces = 0;
        while let Some(id) = next {
            pieces += 1;
            if pieces > 1 << 16 {
                return Err(bad(head, "block does not end"));
            }
            let chunk = self.chunk(id)?;
            if chunk.kind != Kind::Block {
                return Err(bad(
                    id,
                    format!("a {} chunk where a block was expected", chunk.kind.name()),
                ));
            }
            for pos in 0..CONT {
                out.push((chunk.get(pos), chunk.is_link(pos)));
            }
            next = chunk.link(CONT);
        }
        Ok(out)
    }

    /// The words of a words chain.
    fn words(&self, head: ChunkId) -> Result<Vec<u64>, CodeError> {
        let mut out = Vec::new();
        let mut next = Some(head);
        // A chain longer than the store has chunks must loop.
        for _ in 0..=self.store.len() {
            let Some(id) = next else {
                return Ok(out);
            };
            let chunk = self.chunk(id)?;
            if chunk.kind != Kind::ArrayLeaf {
                return Err(bad(
                    id,
                    format!("a {} chunk where words were expected", chunk.kind.name()),
                ));
            }
            let count = chunk.get(0);
            if count > LIST_CAP as u64 || chunk.is_link(0) {
                return Err(bad(id, format!("words piece claims {count} words")));
            }
            for pos in 1..=count as usize {
                if chunk.is_link(pos) {
                    return Err(bad(id, format!("slot {pos} of a words piece is a link")));
                }
                out.push(chunk.get(pos));
            }
            next = chunk.link(CONT);
        }
        Err(bad(head, "words chain loops"))
    }

    /// The names of a name list.
    fn names(&self, head: ChunkId) -> Result<Vec<String>, CodeError> {
        let mut out = Vec::new();
        for id in self.list(head)? {
            out.push(read_text(self.store, id)?);
        }
        Ok(out)
    }
}

/// Scalar slot `slot` of the chunk `id`, refused when it holds a link.
fn scalar(chunk: &Chunk, id: ChunkId, slot: usize, what: &str) -> Result<u64, CodeError> {
    if chunk.is_link(slot) {
        return Err(bad(id, format!("slot {slot} ({what}) is a link")));
    }
    Ok(chunk.get(slot))
}

/// Scalar slot `slot` of the chunk `id`, which must fit in `T`.
fn small<T: TryFrom<u64>>(
    chunk: &Chunk,
    id: ChunkId,
    slot: usize,
    what: &str,
) -> Result<T, CodeError> {
    let value = scalar(chunk, id, slot, what)?;
    T::try_from(value)
        .map_err(|_| bad(id, format!("slot {slot} ({what}) is {value}: out of range")))
}

/// Decodes one block as stored: its instructions (jump targets as block indices; the
/// immediates naming functions, strings, types and globals as indices into its
/// function's tables) and spans (in its function's file); with its index and links.
pub fn load_block(store: &Store, head: ChunkId) -> Result<(u32, Block, Vec<ChunkId>), CodeError> {
    let reader = Reader { store };
    let slots = reader.stream(head)?;
    let header = slots.first().map(|slot| slot.0).unwrap_or(0);
    let index = header as u32;
    let n_links = ((header >> 32) & 0xff) as usize;
    let n_instrs = ((header >> 40) & 0xffff) as usize;
    let mut pos = 1;
    let mut links = Vec::new();
    for _ in 0..n_links {
        match slots.get(pos) {
            Some((value, true)) => links.push(ChunkId(*value)),
            _ => return Err(bad(head, "expected a link")),
        }
        pos += 1;
    }
    let mut block = Block::default();
    for _ in 0..n_instrs {
        let (word, _) = *slots
            .get(pos)
            .ok_or_else(|| bad(head, "truncated instructions"))?;
        pos += 1;
        let op = Op::from_u8(word as u8)
            .ok_or_else(|| bad(head, format!("unknown opcode {}", word as u8)))?;
        let has_k = (word >> 56) & 1 == 1;
        if has_k != (op.shape().3 != Imm::None) {
            return Err(bad(
                head,
                format!("{} with a wrong immediate flag", op.name()),
            ));
        }
        let k = if has_k {
            let (k, _) = *slots
                .get(pos)
                .ok_or_else(|| bad(head, "truncated immediate"))?;
            pos += 1;
            k
        } else {
            0
        };
        block.instrs.push(Instr {
            op,
            a: (word >> 8) as u16,
            b: (word >> 24) as u16,
            c: (word >> 40) as u16,
            k,
        });
    }
    for _ in 0..n_instrs {
        let (word, _) = *slots.get(pos).ok_or_else(|| bad(head, "truncated spans"))?;
        pos += 1;
        block
            .spans
            .push(Span::new(word as u32 as usize, (word >> 32) as usize));
    }
    Ok((index, block, links))
}

/// Loads a program from its chunks, verifying every instruction against its function.
pub fn load_program(store: &Store, root: ChunkId) -> Result<(Program, CodeIds), CodeError> {
    let reader = Reader { store };
    let chunk = reader.chunk(root)?;
    if chunk.kind != Kind::Program {
        return Err(bad(root, "not a program chunk"));
    }
    if chunk.get(0) != CODE_VERSION {
        return Err(bad(
            root,
            format!(
                "code version {} (this build reads {CODE_VERSION})",
                chunk.get(0)
            ),
        ));
    }
    let function_ids = reader.list(chunk.link(1).ok_or_else(|| bad(root, "no function list"))?)?;
    let words_id = chunk.link(2).ok_or_else(|| bad(root, "no program words"))?;
    let string_ids = reader.list(chunk.link(4).ok_or_else(|| bad(root, "no string list"))?)?;
    let names = reader.names(chunk.link(5).ok_or_else(|| bad(root, "no name list"))?)?;
    let file_names = reader.names(chunk.link(6).ok_or_else(|| bad(root, "no file list"))?)?;
    let mut program = Program::default();
    for id in &string_ids {
        program.strings.push(read_text(store, *id)?);
    }
    let words = reader.words(words_id)?;
    let mut words = Words {
        words: &words,
        pos: 0,
        chunk: words_id,
    };
    for _ in 0..words.count("the number of types")? {
        program.types.push(words.ty("a printed type", 0)?);
    }
    let globals = words.count("the number of globals")?;
    if globals != names.len() {
        return Err(bad(
            root,
            format!("{globals} globals but {} names", names.len()),
        ));
    }
    for name in names {
        let slot = words.small::<u16>("a global's slot")?;
        let ty = words.ty("a global's type", 0)?;
        program.globals.push(Global { name, ty, slot });
    }
    for _ in 0..words.count("the number of global slots")? {
        program
            .global_defaults
            .push(words.next("a global's default")?);
    }
    let files = words.count("the number of files")?;
    if files != file_names.len() {
        return Err(bad(
            root,
            format!("{files} files but {} names", file_names.len()),
        ));
    }
    for name in file_names {
        let base = words.small::<u32>("a file's base")? as usize;
        let len = words.small::<u32>("a file's length")? as usize;
        program.files.push(CodeFile { name, base, len });
    }
    words.end("the program's words")?;
    let program_at = ProgramAt::new(&program, &function_ids, &string_ids);
    let mut functions = Vec::new();
    let mut block_ids = Vec::new();
    for fid in &function_ids {
        let (func, blocks) = load_function(&reader, *fid, &program_at)?;
        functions.push(func);
        block_ids.push(blocks);
    }
    program.functions = functions;
    verify(&program)
        .map_err(|(fidx, what)| bad(function_ids.get(fidx).copied().unwrap_or(root), what))?;
    Ok((
        program,
        CodeIds {
            root,
            functions: function_ids,
            blocks: block_ids,
            strings: string_ids,
        },
    ))
}

/// What a function's tables are read against: the program's functions, strings,
/// types, globals and files.
struct ProgramAt<'p> {
    program: &'p Program,
    files: Vec<CodeFile>,
    functions: HashMap<ChunkId, u32>,
    strings: HashMap<ChunkId, u32>,
}

impl<'p> ProgramAt<'p> {
    fn new(program: &'p Program, functions: &[ChunkId], strings: &[ChunkId]) -> ProgramAt<'p> {
        let index = |ids: &[ChunkId]| {
            let mut map = HashMap::new();
            for (idx, id) in ids.iter().enumerate() {
                map.entry(*id).or_insert(idx as u32);
            }
            map
        };
        ProgramAt {
            program,
            files: reloc::files(program),
            functions: index(functions),
            strings: index(strings),
        }
    }
}

/// A function's tables, as program-wide indices.
struct Tables {
    callees: Vec<u64>,
    strings: Vec<u64>,
    types: Vec<u64>,
    globals: Vec<u64>,
}

impl Tables {
    /// The program-wide immediate for the table index `k` of `instr`, refused (naming
    /// the block `bid`) when the index lies outside its table.
    fn program_k(&self, instr: &Instr, bid: ChunkId) -> Result<u64, CodeError> {
        let (table, what) = match instr.op.shape().3 {
            Imm::Func => (&self.callees, "callee"),
            Imm::Str => (&self.strings, "string"),
            Imm::Type => (&self.types, "type"),
            Imm::Global => (&self.globals, "global"),
            _ => return Ok(instr.k),
        };
        usize::try_from(instr.k)
            .ok()
            .and_then(|idx| table.get(idx))
            .copied()
            .ok_or_else(|| {
                bad(
                    bid,
                    format!(
                        "{} names {what} {} of the function's {}",
                        instr.op.name(),
                        instr.k,
                        table.len()
                    ),
                )
            })
    }
}

/// Loads the function whose chunk is `fid`, and the ids of its blocks, its tables and
/// spans mapped back to `at`'s program.
fn load_function(
    reader: &Reader<'_>,
    fid: ChunkId,
    at: &ProgramAt<'_>,
) -> Result<(Function, Vec<ChunkId>), CodeError> {
    let chunk = reader.chunk(fid)?;
    if chunk.kind != Kind::Function {
        return Err(bad(fid, "not a function chunk"));
    }
    let name = read_text(
        reader.store,
        chunk.link(0).ok_or_else(|| bad(fid, "no name"))?,
    )?;
    let words_id = chunk.link(1).ok_or_else(|| bad(fid, "no function words"))?;
    let blocks = reader.list(chunk.link(2).ok_or_else(|| bad(fid, "no block list"))?)?;
    let mut names = reader
        .names(chunk.link(5).ok_or_else(|| bad(fid, "no name list"))?)?
        .into_iter();
    let base = match chunk.link(12) {
        Some(file) => {
            let file = read_text(reader.store, file)?;
            at.files
                .iter()
                .find(|it| it.name == file)
                .map(|it| it.base)
                .ok_or_else(|| bad(fid, format!("its file `{file}` is not in the program")))?
        }
        None if scalar(chunk, fid, 12, "file")? == 0 => 0,
        None => return Err(bad(fid, "slot 12 (file) is neither a text nor 0")),
    };
    let callees = reader
        .list(chunk.link(13).ok_or_else(|| bad(fid, "no callee list"))?)?
        .into_iter()
        .map(|id| {
            at.functions.get(&id).map(|idx| *idx as u64).ok_or_else(|| {
                bad(
                    fid,
                    format!("it calls {id}, which is no function of the program"),
                )
            })
        })
        .collect::<Result<Vec<u64>, CodeError>>()?;
    let strings = reader
        .list(chunk.link(14).ok_or_else(|| bad(fid, "no string list"))?)?
        .into_iter()
        .map(|id| {
            at.strings
                .get(&id)
                .map(|idx| *idx as u64)
                .ok_or_else(|| bad(fid, format!("its string {id} is no string of the program")))
        })
        .collect::<Result<Vec<u64>, CodeError>>()?;
    let global_names = reader.names(chunk.link(15).ok_or_else(|| bad(fid, "no global list"))?)?;
    let name_moved = match scalar(chunk, fid, 16, "name moved")? {
        0 => false,
        1 => true,
        other => {
            return Err(bad(
                fid,
                format!("slot 16 (name moved) is {other}, not 0 or 1"),
            ))
        }
    };
    let words = reader.words(words_id)?;
    let mut words = Words {
        words: &words,
        pos: 0,
        chunk: words_id,
    };
    let ret = words.ty("the return type", 0)?;
    let mut name_of = |what: &str| {
        names
            .next()
            .ok_or_else(|| bad(fid, format!("no name for {what}")))
    };
    let mut params = Vec::new();
    for _ in 0..words.count("the number of parameters")? {
        let ty = words.ty("a parameter's type", 0)?;
        params.push((name_of("a parameter")?, ty));
    }
    let mut env_links = Vec::new();
    for _ in 0..words.count("the number of environment slots")? {
        env_links.push(words.flag("an environment slot's link flag")?);
    }
    let moved = |span: Span| Span::new(span.start + base, span.end + base);
    let mut locals = Vec::new();
    for _ in 0..words.count("the number of locals")? {
        let place = words.next("a local's place")?;
        let reg = words.small::<u16>("a local's register")?;
        let loc = match place {
            0 => Loc::S(reg),
            1 => Loc::R(reg),
            2 => Loc::Env(reg),
            other => {
                return Err(bad(
                    words_id,
                    format!("a local's place is {other}, not 0, 1 or 2"),
                ))
            }
        };
        let is_param = words.flag("a local's parameter flag")?;
        let start = words.small::<u32>("a local's scope start")? as usize;
        let end = words.small::<u32>("a local's scope end")? as usize;
        let ty = words.ty("a local's type", 0)?;
        locals.push(LocalInfo {
            name: name_of("a local")?,
            ty,
            loc,
            is_param,
            scope: moved(Span::new(start, end)),
        });
    }
    let mut types = Vec::new();
    for _ in 0..words.count("the number of printed types")? {
        let ty = words.ty("a printed type", 0)?;
        let idx = at.program.types.iter().position(|it| *it == ty);
        types.push(idx.ok_or_else(|| {
            bad(
                words_id,
                format!("it prints the type {ty}, which the program lacks"),
            )
        })? as u64);
    }
    if words.count("the number of globals")? != global_names.len() {
        return Err(bad(
            words_id,
            format!(
                "not one type for each of its {} globals",
                global_names.len()
            ),
        ));
    }
    let mut globals = Vec::new();
    for global in &global_names {
        let ty = words.ty("a global's type", 0)?;
        let found = at.program.globals.iter().find(|it| it.name == *global);
        match found {
            Some(found) if found.ty == ty => globals.push(found.slot as u64),
            Some(found) => {
                return Err(bad(
                    fid,
                    format!(
                        "it reads the global `{global}` as {ty}, which the program has as {}",
                        found.ty
                    ),
                ))
            }
            None => {
                return Err(bad(
                    fid,
                    format!("it reads the global `{global}`, which the program lacks"),
                ))
            }
        }
    }
    words.end("the function's words")?;
    let left = names.len();
    if left > 0 {
        return Err(bad(
            fid,
            format!("{left} names more than params and locals"),
        ));
    }
    let name = if name_moved {
        reloc::shift_name(&name, base as isize)
            .ok_or_else(|| bad(fid, format!("its name `{name}` does not move to its file")))?
    } else {
        name
    };
    let tables = Tables {
        callees,
        strings,
        types,
        globals,
    };
    let mut func = Function {
        name,
        params,
        ret,
        nregs: small(chunk, fid, 6, "scalar registers")?,
        nrefs: small(chunk, fid, 7, "reference registers")?,
        env_slots: small(chunk, fid, 8, "environment slots")?,
        env_links,
        is_closure: match scalar(chunk, fid, 9, "closure flag")? {
            0 => false,
            1 => true,
            other => {
                return Err(bad(
                    fid,
                    format!("slot 9 (closure flag) is {other}, not 0 or 1"),
                ))
            }
        },
        blocks: Vec::new(),
        locals,
        span: moved(Span::new(
            small::<u32>(chunk, fid, 10, "definition start")? as usize,
            small::<u32>(chunk, fid, 11, "definition end")? as usize,
        )),
    };
    for (expected, bid) in blocks.iter().enumerate() {
        let (index, mut block, _) = load_block(reader.store, *bid)?;
        if index as usize != expected {
            return Err(bad(
                *bid,
                format!("block {index} where block {expected} was expected"),
            ));
        }
        for instr in &mut block.instrs {
            instr.k = tables.program_k(instr, *bid)?;
        }
        for span in &mut block.spans {
            *span = moved(*span);
        }
        func.blocks.push(block);
    }
    Ok((func, blocks))
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
