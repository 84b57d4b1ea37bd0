//! A compiled program as chunks, and back.
//!
//! Code chunks are immutable and named by content: every id is
//! `ChunkId::code(digest, n)` where `digest` hashes the whole compiled
//! program, so a node that already holds a program never fetches it again,
//! and the same source always compiles to the same ids.
//!
//! ```text
//! Program  [0] version  [1] -> function list  [2] -> program words  [3] #functions
//!          [4] -> string list  [5] -> name list (the globals')
//! Function [0] -> name text  [1] -> function words  [2] -> block list  [3] -> entry block
//!          [4] #blocks  [5] -> name list (the params', then the locals')  [6] #scalar registers
//!          [7] #reference registers  [8] #environment slots  [9] closure (0 or 1)
//!          [10] start of the definition  [11] its end (bytes)
//! Block    a stream of slots over a chain of chunks (slot 31 -> continuation):
//!          header (index | #links << 32 | #instrs << 40), links (successor blocks,
//!          then called functions), instruction words (op|a|b|c, then k when the op
//!          has an immediate), one source span per instruction (start | end << 32)
//! List     [0] count  [1..=30] links  [31] -> next piece
//! Words    [0] count  [1..=30] scalars  [31] -> next piece
//! ```
//!
//! Names are Text chunks; everything else a program or a function says of itself
//! is words (scalars), in this order:
//!
//! ```text
//! program words   #types, type..., #globals, (slot, type)..., #defaults, default...
//! function words  return type, #params, type..., one 0/1 per environment slot (1: a
//!                 link), #locals, (place, register, param 0/1, scope start, scope end,
//!                 type)...   place: 0 scalar, 1 reference, 2 environment
//! type            tag: 0 int, 1 float, 2 bool, 3 color, 4 image, 5 str, 6 (), 7 array,
//!                 8 fn, 9 {unknown}; an array then its length and element type, a fn
//!                 its #params, their types and its return type
//! ```

use super::ir::{unpack_targets, Block, Function, Global, Imm, Instr, Loc, LocalInfo, Op, Program};
use crate::chunk::{read_text, text_chunks, Chunk, ChunkId, Kind, Store, StoreError, SLOTS};
use crate::syntax::span::Span;
use crate::types::Type;
use std::fmt;

/// Version of the code chunk layout, in slot 0 of the Program chunk.
pub const CODE_VERSION: u64 = 2;

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

struct Namer {
    digest: [u8; 32],
    next: u32,
    out: Vec<(ChunkId, Chunk)>,
}

impl Namer {
    fn id(&mut self) -> ChunkId {
        let id = ChunkId::code(&self.digest, self.next);
        self.next += 1;
        id
    }

    fn text(&mut self, text: &str) -> ChunkId {
        let mut ids = Vec::new();
        let pieces = text_chunks(text, |_| {
            let id = ChunkId::code(&self.digest, self.next);
            self.next += 1;
            ids.push(id);
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

    /// A stream of slots (`true`: a link) over a chain of chunks of `kind`; returns the head.
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

/// The digest that names a program's chunks.
pub fn digest(program: &Program) -> [u8; 32] {
    let text = format!("chunkvm code v{CODE_VERSION} {program:?}");
    *blake3::hash(text.as_bytes()).as_bytes()
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
    let mut namer = Namer {
        digest: digest(program),
        next: 0,
        out: Vec::new(),
    };
    let root = namer.id();
    let function_ids: Vec<ChunkId> = program.functions.iter().map(|_| namer.id()).collect();
    let block_ids: Vec<Vec<ChunkId>> = program
        .functions
        .iter()
        .map(|func| func.blocks.iter().map(|_| namer.id()).collect())
        .collect();
    let string_ids: Vec<ChunkId> = program
        .strings
        .iter()
        .map(|text| namer.text(text))
        .collect();
    for (fidx, func) in program.functions.iter().enumerate() {
        let blocks = &block_ids[fidx];
        for (bidx, block) in func.blocks.iter().enumerate() {
            let mut links: Vec<ChunkId> = func
                .successors(bidx)
                .into_iter()
                .filter_map(|target| blocks.get(target as usize).copied())
                .collect();
            for instr in &block.instrs {
                if matches!(instr.op, Op::Call | Op::MkClo) {
                    if let Some(callee) = function_ids.get(instr.k as usize) {
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
            let header =
                bidx as u64 | (links.len() as u64) << 32 | (block.instrs.len() as u64) << 40;
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
        let words = namer.words(&function_words(func));
        let list = namer.list(blocks);
        let names: Vec<ChunkId> = func
            .params
            .iter()
            .map(|(name, _)| name.as_str())
            .chain(func.locals.iter().map(|local| local.name.as_str()))
            .map(|name| namer.text(name))
            .collect();
        let names = namer.list(&names);
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
        namer.out.push((function_ids[fidx], chunk));
    }
    let list = namer.list(&function_ids);
    let words = namer.words(&program_words(program));
    let strings = namer.list(&string_ids);
    let names: Vec<ChunkId> = program
        .globals
        .iter()
        .map(|global| namer.text(&global.name))
        .collect();
    let names = namer.list(&names);
    let mut chunk = Chunk::new(Kind::Program);
    chunk.set_scalar(0, CODE_VERSION);
    chunk.set_link(1, list);
    chunk.set_link(2, words);
    chunk.set_scalar(3, program.functions.len() as u64);
    chunk.set_link(4, strings);
    chunk.set_link(5, names);
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
        Type::Fn(params, ret) => {
            out.extend([8, params.len() as u64]);
            for param in params {
                encode_type(param, out);
            }
            encode_type(ret, out);
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
/// globals' default values.
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
                Type::Fn(params, Box::new(self.ty(what, depth + 1)?))
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

/// Decodes one block: its instructions (jump targets as block indices) and spans.
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
    words.end("the program's words")?;
    let mut block_ids = Vec::new();
    for fid in &function_ids {
        let (func, blocks) = load_function(&reader, *fid)?;
        program.functions.push(func);
        block_ids.push(blocks);
    }
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

/// Loads the function whose chunk is `fid`, and the ids of its blocks.
fn load_function(reader: &Reader<'_>, fid: ChunkId) -> Result<(Function, Vec<ChunkId>), CodeError> {
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
        let start = words.small::<usize>("a local's scope start")?;
        let end = words.small::<usize>("a local's scope end")?;
        let ty = words.ty("a local's type", 0)?;
        locals.push(LocalInfo {
            name: name_of("a local")?,
            ty,
            loc,
            is_param,
            scope: Span::new(start, end),
        });
    }
    words.end("the function's words")?;
    let left = names.len();
    if left > 0 {
        return Err(bad(
            fid,
            format!("{left} names more than params and locals"),
        ));
    }
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
        span: Span::new(
            small(chunk, fid, 10, "definition start")?,
            small(chunk, fid, 11, "definition end")?,
        ),
    };
    for (expected, bid) in blocks.iter().enumerate() {
        let (index, block, _) = load_block(reader.store, *bid)?;
        if index as usize != expected {
            return Err(bad(
                *bid,
                format!("block {index} where block {expected} was expected"),
            ));
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
mod tests {
    use super::*;
    use crate::chunk::NodeId;

    fn types() -> Vec<Type> {
        let arr = |elem: Type, len| Type::Array(Box::new(elem), len);
        let func = |params: Vec<Type>, ret: Type| Type::Fn(params, Box::new(ret));
        vec![
            Type::Int,
            Type::Float,
            Type::Bool,
            Type::Color,
            Type::Image,
            Type::Str,
            Type::Unit,
            Type::Error,
            arr(Type::Float, 3),
            arr(arr(Type::Int, 2), u32::MAX),
            func(vec![], Type::Unit),
            func(
                vec![Type::Int, arr(Type::Color, 2)],
                func(vec![], Type::Int),
            ),
            func(
                vec![func(vec![Type::Error], Type::Str)],
                arr(Type::Image, 0),
            ),
        ]
    }

    fn words_of(ty: &Type) -> Vec<u64> {
        let mut out = Vec::new();
        encode_type(ty, &mut out);
        out
    }

    #[test]
    fn types_round_trip_through_words() {
        for ty in types() {
            let words = words_of(&ty);
            assert_eq!(decode_type(&words, ChunkId::NIL), Ok(ty.clone()), "{ty}");
        }
        assert_eq!(words_of(&Type::Array(Box::new(Type::Int), 3)), [7, 3, 0]);
        assert_eq!(
            words_of(&Type::Fn(vec![Type::Bool], Box::new(Type::Unit))),
            [8, 1, 2, 6]
        );
    }

    #[test]
    fn malformed_type_words_are_refused() {
        let at = ChunkId::code(&[7; 32], 3);
        for ty in types() {
            let words = words_of(&ty);
            // Every strict prefix lacks something; one word more is left over.
            for len in 0..words.len() {
                let err = decode_type(&words[..len], at).unwrap_err();
                assert_eq!(err.chunk, at);
                assert!(
                    err.what.contains("end before") || err.what.contains("words left"),
                    "{ty} [..{len}]: {err}"
                );
            }
            let mut longer = words.clone();
            longer.push(0);
            let err = decode_type(&longer, at).unwrap_err();
            assert_eq!(err.what, "1 words left over after the type");
        }
        let err = decode_type(&[10], at).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("bad code chunk {at}: the type has the unknown tag 10")
        );
        let err = decode_type(&[7, 1 << 32, 0], at).unwrap_err();
        assert_eq!(err.what, "an array length is 4294967296: out of range");
        let err = decode_type(&[8, u64::MAX, 0], at).unwrap_err();
        assert!(err.what.contains("more than the 1 words left"), "{err}");
        // Deep nesting is refused, not recursed into until the stack ends.
        let mut deep = [7, 1].repeat(100_000);
        deep.push(0);
        let err = decode_type(&deep, at).unwrap_err();
        assert!(err.what.contains("nests deeper"), "{err}");
        // Any words at all: a type or an error, never a panic.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut words = Vec::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for idx in 0..(state % 12) {
                words.push((state >> (idx * 5)) % 12);
            }
            if let Ok(ty) = decode_type(&words, at) {
                assert_eq!(words_of(&ty), words);
            }
        }
    }

    const SRC: &str = "param amount: float = 0.5 in 0.0..1.0;\nparam tint: color = rgb(1.0, 0.5, 0.0);\n\
        fn make(step: int) -> fn() -> int {\n    var count = 0;\n    fn() -> int { count += step; count }\n}\n\
        fn main() {\n    let next = make(2);\n    let xs = [1, 2, 3];\n    print(next() + xs[1], amount, tint);\n}\n";

    fn stored() -> (Program, Store, CodeIds) {
        let (_, program) = crate::driver::build(SRC).unwrap();
        let mut store = Store::new(NodeId(1));
        let ids = store_program(&program, &mut store);
        (program, store, ids)
    }

    #[test]
    fn programs_round_trip_through_chunks() {
        let (program, store, ids) = stored();
        assert!(program.globals.len() == 2 && program.functions.iter().any(|f| f.is_closure));
        assert!(program
            .functions
            .iter()
            .any(|f| !f.locals.is_empty() && f.env_slots > 0));
        let (loaded, loaded_ids) = load_program(&store, ids.root).unwrap();
        assert_eq!(loaded, program);
        assert_eq!(loaded_ids, ids);
    }

    /// The store with the chunk `id` replaced by what `change` makes of it.
    fn damaged(store: &Store, id: ChunkId, change: impl Fn(&mut Chunk)) -> Store {
        let mut copy = Store::new(NodeId(1));
        for other in store.ids() {
            if let Some(chunk) = store.get(other) {
                let mut chunk = chunk.clone();
                if other == id {
                    change(&mut chunk);
                }
                copy.insert_code(other, chunk);
            }
        }
        copy
    }

    #[test]
    fn malformed_metadata_is_a_code_error_naming_the_chunk() {
        let (program, store, ids) = stored();
        let root = store.get(ids.root).unwrap();
        let program_words = root.link(2).unwrap();
        let fid = ids.functions[0];
        let function = store.get(fid).unwrap();
        let function_words = function.link(1).unwrap();
        let refuse = |id: ChunkId, change: &dyn Fn(&mut Chunk)| {
            let store = damaged(&store, id, |chunk| change(chunk));
            load_program(&store, ids.root).unwrap_err()
        };
        // The first type of the program's words gets an unknown tag.
        assert!(!program.types.is_empty());
        let err = refuse(program_words, &|chunk| chunk.set_scalar(2, 77));
        assert_eq!(err.chunk, program_words);
        assert_eq!(err.what, "a printed type has the unknown tag 77");
        let err = refuse(program_words, &|chunk| chunk.set_scalar(0, 31));
        assert_eq!(err.what, "words piece claims 31 words");
        let err = refuse(program_words, &|chunk| chunk.set_link(1, fid));
        assert_eq!(err.what, "slot 1 of a words piece is a link");
        let err = refuse(program_words, &|chunk| chunk.set_link(CONT, program_words));
        assert_eq!(
            (err.chunk, err.what.as_str()),
            (program_words, "words chain loops")
        );
        let err = refuse(function_words, &|chunk| {
            chunk.set_scalar(0, chunk.get(0) - 1);
        });
        assert_eq!(err.chunk, function_words);
        assert!(err.what.contains("end before"), "{err}");
        let err = refuse(fid, &|chunk| chunk.set_scalar(6, 1 << 16));
        assert_eq!(
            (err.chunk, err.what.as_str()),
            (fid, "slot 6 (scalar registers) is 65536: out of range")
        );
        let err = refuse(fid, &|chunk| chunk.set_link(7, fid));
        assert_eq!(err.what, "slot 7 (reference registers) is a link");
        let err = refuse(fid, &|chunk| chunk.set_scalar(9, 2));
        assert_eq!(err.what, "slot 9 (closure flag) is 2, not 0 or 1");
        // A name list whose links are no text.
        let err = refuse(fid, &|chunk| chunk.set_link(5, ids.root));
        assert_eq!(err.chunk, root.link(1).unwrap());
        assert!(err.what.contains("expected a text chunk"), "{err}");
        let err = refuse(fid, &|chunk| chunk.set_scalar(1, 0));
        assert_eq!(err.what, "no function words");
        // Fewer names than params and locals.
        let names = function.link(5).unwrap();
        let err = refuse(names, &|chunk| chunk.set_scalar(0, 0));
        assert_eq!(err.chunk, fid);
        assert!(err.what.starts_with("no name for "), "{err}");
        // An old layout is refused by its version.
        let err = refuse(ids.root, &|chunk| chunk.set_scalar(0, 1));
        assert_eq!(
            err.what,
            format!("code version 1 (this build reads {CODE_VERSION})")
        );
    }
}
