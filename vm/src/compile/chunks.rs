//! A compiled program as chunks, and back.
//!
//! Code chunks are immutable and named by content: every id is
//! `ChunkId::code(digest, n)` where `digest` hashes the whole compiled
//! program, so a node that already holds a program never fetches it again,
//! and the same source always compiles to the same ids.
//!
//! ```text
//! Program  [0] version  [1] -> function list  [2] -> metadata text  [3] #functions  [4] -> string list
//! Function [0] -> name text  [1] -> metadata text  [2] -> block list  [3] -> entry block  [4] #blocks
//! Block    a stream of slots over a chain of chunks (slot 31 -> continuation):
//!          header (index | #links << 32 | #instrs << 40), links (successor blocks,
//!          then called functions), instruction words (op|a|b|c, then k when the op
//!          has an immediate), one source span per instruction (start | end << 32)
//! List     [0] count  [1..=30] links  [31] -> next piece
//! ```

use super::ir::{unpack_targets, Block, Function, Global, Imm, Instr, Loc, LocalInfo, Op, Program};
use crate::chunk::{read_text, text_chunks, Chunk, ChunkId, Kind, Store, StoreError, SLOTS};
use crate::syntax::span::Span;
use crate::types::Type;
use serde_json::{json, Value as Json};
use std::fmt;

/// Version of the code chunk layout, in slot 0 of the Program chunk.
pub const CODE_VERSION: u64 = 1;

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
        CodeError {
            chunk: ChunkId::NIL,
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
        let pieces: Vec<&[ChunkId]> = if links.is_empty() {
            vec![&[]]
        } else {
            links.chunks(LIST_CAP).collect()
        };
        let ids: Vec<ChunkId> = pieces.iter().map(|_| self.id()).collect();
        for (idx, piece) in pieces.iter().enumerate() {
            let mut chunk = Chunk::new(Kind::ArrayLeaf);
            chunk.set_scalar(0, piece.len() as u64);
            for (pos, link) in piece.iter().enumerate() {
                chunk.set_link(1 + pos, *link);
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
        let meta = namer.text(&function_meta(func).to_string());
        let list = namer.list(blocks);
        let mut chunk = Chunk::new(Kind::Function);
        chunk.set_link(0, name);
        chunk.set_link(1, meta);
        chunk.set_link(2, list);
        chunk.set_link(3, blocks.first().copied().unwrap_or(ChunkId::NIL));
        chunk.set_scalar(4, blocks.len() as u64);
        namer.out.push((function_ids[fidx], chunk));
    }
    let list = namer.list(&function_ids);
    let meta = namer.text(&program_meta(program).to_string());
    let strings = namer.list(&string_ids);
    let mut chunk = Chunk::new(Kind::Program);
    chunk.set_scalar(0, CODE_VERSION);
    chunk.set_link(1, list);
    chunk.set_link(2, meta);
    chunk.set_scalar(3, program.functions.len() as u64);
    chunk.set_link(4, strings);
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

fn function_meta(func: &Function) -> Json {
    json!({
        "params": func.params.iter().map(|(name, ty)| json!([name, ty.to_string()])).collect::<Vec<_>>(),
        "ret": func.ret.to_string(),
        "nregs": func.nregs,
        "nrefs": func.nrefs,
        "env_slots": func.env_slots,
        "env_links": func.env_links,
        "is_closure": func.is_closure,
        "span": [func.span.start, func.span.end],
        "locals": func.locals.iter().map(|local| json!({
            "name": local.name,
            "ty": local.ty.to_string(),
            "loc": match local.loc { Loc::S(r) => json!(["s", r]), Loc::R(r) => json!(["r", r]), Loc::Env(r) => json!(["env", r]) },
            "param": local.is_param,
            "scope": [local.scope.start, local.scope.end],
        })).collect::<Vec<_>>(),
    })
}

fn program_meta(program: &Program) -> Json {
    json!({
        "types": program.types.iter().map(Type::to_string).collect::<Vec<_>>(),
        "globals": program.globals.iter().map(|g| json!([g.name, g.ty.to_string(), g.slot])).collect::<Vec<_>>(),
        "defaults": program.global_defaults,
    })
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

    fn json(&self, id: ChunkId) -> Result<Json, CodeError> {
        let text = read_text(self.store, id)?;
        serde_json::from_str(&text).map_err(|err| bad(id, format!("metadata: {err}")))
    }
}

fn ty(value: &Json, chunk: ChunkId) -> Result<Type, CodeError> {
    let text = value
        .as_str()
        .ok_or_else(|| bad(chunk, "type is not a string"))?;
    parse_type(text).ok_or_else(|| bad(chunk, format!("unknown type `{text}`")))
}

fn num(value: &Json, chunk: ChunkId, what: &str) -> Result<u64, CodeError> {
    value
        .as_u64()
        .ok_or_else(|| bad(chunk, format!("metadata field `{what}` is not a number")))
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
    let meta = reader.json(chunk.link(2).ok_or_else(|| bad(root, "no metadata"))?)?;
    let string_ids = reader.list(chunk.link(4).ok_or_else(|| bad(root, "no string list"))?)?;
    let mut program = Program::default();
    for id in &string_ids {
        program.strings.push(read_text(store, *id)?);
    }
    for value in meta["types"].as_array().into_iter().flatten() {
        program.types.push(ty(value, root)?);
    }
    for value in meta["globals"].as_array().into_iter().flatten() {
        program.globals.push(Global {
            name: value[0].as_str().unwrap_or_default().to_string(),
            ty: ty(&value[1], root)?,
            slot: num(&value[2], root, "slot")? as u16,
        });
    }
    for value in meta["defaults"].as_array().into_iter().flatten() {
        program.global_defaults.push(num(value, root, "defaults")?);
    }
    let mut block_ids = Vec::new();
    for fid in &function_ids {
        let fchunk = reader.chunk(*fid)?;
        if fchunk.kind != Kind::Function {
            return Err(bad(*fid, "not a function chunk"));
        }
        let name = read_text(store, fchunk.link(0).ok_or_else(|| bad(*fid, "no name"))?)?;
        let meta = reader.json(fchunk.link(1).ok_or_else(|| bad(*fid, "no metadata"))?)?;
        let blocks = reader.list(fchunk.link(2).ok_or_else(|| bad(*fid, "no block list"))?)?;
        let mut func = Function {
            name,
            params: Vec::new(),
            ret: ty(&meta["ret"], *fid)?,
            nregs: num(&meta["nregs"], *fid, "nregs")? as u16,
            nrefs: num(&meta["nrefs"], *fid, "nrefs")? as u16,
            env_slots: num(&meta["env_slots"], *fid, "env_slots")? as u16,
            env_links: meta["env_links"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|it| it.as_bool().unwrap_or(false))
                .collect(),
            is_closure: meta["is_closure"].as_bool().unwrap_or(false),
            blocks: Vec::new(),
            locals: Vec::new(),
            span: Span::new(
                num(&meta["span"][0], *fid, "span")? as usize,
                num(&meta["span"][1], *fid, "span")? as usize,
            ),
        };
        for param in meta["params"].as_array().into_iter().flatten() {
            func.params.push((
                param[0].as_str().unwrap_or_default().to_string(),
                ty(&param[1], *fid)?,
            ));
        }
        for local in meta["locals"].as_array().into_iter().flatten() {
            let reg = num(&local["loc"][1], *fid, "loc")? as u16;
            let loc = match local["loc"][0].as_str() {
                Some("s") => Loc::S(reg),
                Some("r") => Loc::R(reg),
                Some("env") => Loc::Env(reg),
                _ => return Err(bad(*fid, "bad local location")),
            };
            func.locals.push(LocalInfo {
                name: local["name"].as_str().unwrap_or_default().to_string(),
                ty: ty(&local["ty"], *fid)?,
                loc,
                is_param: local["param"].as_bool().unwrap_or(false),
                scope: Span::new(
                    num(&local["scope"][0], *fid, "scope")? as usize,
                    num(&local["scope"][1], *fid, "scope")? as usize,
                ),
            });
        }
        for (expected, bid) in blocks.iter().enumerate() {
            let (index, block, _) = load_block(store, *bid)?;
            if index as usize != expected {
                return Err(bad(
                    *bid,
                    format!("block {index} where block {expected} was expected"),
                ));
            }
            func.blocks.push(block);
        }
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

/// Parses a type as [`Type`]'s `Display` writes it.
pub fn parse_type(text: &str) -> Option<Type> {
    let mut parser = TypeParser {
        text: text.trim(),
        pos: 0,
    };
    let ty = parser.ty()?;
    parser.skip();
    (parser.pos == parser.text.len()).then_some(ty)
}

struct TypeParser<'t> {
    text: &'t str,
    pos: usize,
}

impl TypeParser<'_> {
    fn skip(&mut self) {
        while self.text[self.pos..].starts_with(' ') {
            self.pos += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip();
        if self.text[self.pos..].starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> &str {
        self.skip();
        let rest = &self.text[self.pos..];
        let len = rest
            .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
            .unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    fn ty(&mut self) -> Option<Type> {
        if self.eat("[") {
            let elem = self.ty()?;
            if !self.eat(";") {
                return None;
            }
            let len = self.word().parse().ok()?;
            self.eat("]").then(|| Type::Array(Box::new(elem), len))
        } else if self.eat("()") {
            Some(Type::Unit)
        } else if self.eat("{unknown}") {
            Some(Type::Error)
        } else if self.eat("fn(") {
            let mut params = Vec::new();
            if !self.eat(")") {
                loop {
                    params.push(self.ty()?);
                    if self.eat(")") {
                        break;
                    }
                    if !self.eat(",") {
                        return None;
                    }
                }
            }
            let ret = if self.eat("->") {
                self.ty()?
            } else {
                Type::Unit
            };
            Some(Type::Fn(params, Box::new(ret)))
        } else {
            Type::from_name(self.word())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip_through_text() {
        for text in [
            "int",
            "[float; 3]",
            "fn(int, [color; 2]) -> fn() -> int",
            "fn()",
            "()",
            "[[int; 2]; 3]",
        ] {
            let ty = parse_type(text).unwrap();
            assert_eq!(ty.to_string(), text);
        }
        assert_eq!(parse_type("fn(int"), None);
        assert_eq!(parse_type("nope"), None);
    }
}
