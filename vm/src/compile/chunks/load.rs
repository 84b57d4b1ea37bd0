//! The decoder: a program read back from its code chunks, every slot and word checked,
//! so that a malformed chunk is refused with a [`CodeError`] naming it.

use super::*;

/// The deepest nesting of types a decoder follows: deeper is refused, not recursed into.
const TYPE_DEPTH: usize = 256;

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

pub(super) struct Reader<'s> {
    pub(super) store: &'s Store,
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

    pub(super) fn stream(&self, head: ChunkId) -> Result<Vec<(u64, bool)>, CodeError> {
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
