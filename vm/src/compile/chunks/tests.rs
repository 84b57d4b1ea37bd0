//! Tests of code chunks: types as words, programs round trip, malformed chunks refused,
//! ids per function.

use super::*;
use crate::chunk::NodeId;

fn types() -> Vec<Type> {
    let arr = |elem: Type, len| Type::Array(Box::new(elem), len);
    let func = |params: Vec<Type>, ret: Type| Type::func(params, ret);
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
        words_of(&Type::func(vec![Type::Bool], Type::Unit)),
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
    let block_list = function.link(2).unwrap();
    let err = refuse(fid, &|chunk| chunk.set_link(5, block_list));
    assert_eq!(err.chunk, ids.blocks[0][0]);
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

/// The head of the block, the piece of it and the slot in that piece holding the
/// immediate of the first `op` of the program stored in `ids`.
fn immediate_of(store: &Store, ids: &CodeIds, op: Op) -> (ChunkId, ChunkId, usize) {
    let reader = Reader { store };
    for head in ids.blocks.iter().flatten() {
        let mut pieces = vec![*head];
        while let Some(next) = store.get(*pieces.last().unwrap()).unwrap().link(CONT) {
            pieces.push(next);
        }
        let slots = reader.stream(*head).unwrap();
        let header = slots[0].0;
        let links = ((header >> 32) & 0xff) as usize;
        let instrs = ((header >> 40) & 0xffff) as usize;
        let mut pos = 1 + links;
        for _ in 0..instrs {
            let word = slots[pos].0;
            let has_k = (word >> 56) & 1 == 1;
            if word as u8 == op as u8 {
                let at = pos + 1;
                return (*head, pieces[at / CONT], at % CONT);
            }
            pos += 1 + has_k as usize;
        }
    }
    panic!("no {} in the program", op.name())
}

#[test]
fn tables_that_name_what_the_program_lacks_are_refused() {
    let (program, store, ids) = stored();
    let refuse = |id: ChunkId, change: &dyn Fn(&mut Chunk)| {
        let store = damaged(&store, id, |chunk| change(chunk));
        load_program(&store, ids.root).unwrap_err()
    };
    // An immediate past its function's table, for each kind of table.
    for (op, what) in [
        (Op::Glob, "global"),
        (Op::Call, "callee"),
        (Op::MkClo, "callee"),
        (Op::Print, "type"),
    ] {
        let (head, piece, slot) = immediate_of(&store, &ids, op);
        let err = refuse(piece, &|chunk| chunk.set_scalar(slot, 40));
        assert_eq!(err.chunk, head);
        assert!(
            err.what
                .starts_with(&format!("{} names {what} 40 of the function's ", op.name())),
            "{err}"
        );
    }
    let (main, _) = program.function("main").unwrap();
    let fid = ids.functions[main as usize];
    let function = store.get(fid).unwrap().clone();
    // A callee that is no function of the program (a block).
    let blocks = function.link(2).unwrap();
    let err = refuse(fid, &|chunk| chunk.set_link(13, blocks));
    assert_eq!(err.chunk, fid);
    assert!(
        err.what.contains("which is no function of the program"),
        "{err}"
    );
    // A global the program lacks: its name list names a param (of the function).
    let params = function.link(5).unwrap();
    let err = refuse(fid, &|chunk| chunk.set_link(15, params));
    assert!(err.what.contains("which the program lacks"), "{err}");
    // A file the program lacks (the function's name as its file), and a file slot
    // that is neither a name nor 0.
    let name = function.link(0).unwrap();
    let err = refuse(fid, &|chunk| chunk.set_link(12, name));
    assert_eq!(err.what, "its file `main` is not in the program");
    let err = refuse(fid, &|chunk| chunk.set_scalar(12, 5));
    assert_eq!(err.what, "slot 12 (file) is neither a text nor 0");
    let err = refuse(fid, &|chunk| chunk.set_scalar(16, 3));
    assert_eq!(err.what, "slot 16 (name moved) is 3, not 0 or 1");
}

#[test]
fn closure_names_move_by_their_offsets_only_when_they_read_back() {
    use super::reloc::shift_name;
    assert_eq!(
        shift_name("lib.f::closure@120::closure@140", -100).as_deref(),
        Some("lib.f::closure@20::closure@40")
    );
    assert_eq!(
        shift_name("f::closure@20", 100).as_deref(),
        Some("f::closure@120")
    );
    assert_eq!(shift_name("a@b", 5).as_deref(), Some("a@b"));
    assert_eq!(shift_name("f::closure@20", -21), None);
    assert_eq!(shift_name("f::closure@007", 1), None);
    assert_eq!(shift_name("f@99999999999999999999999", 1), None);
}
