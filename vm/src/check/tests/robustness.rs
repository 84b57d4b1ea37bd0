//! Robustness: random and mutated inputs never panic, and lowering and
//! checking again after an edit equal doing everything afresh.

use super::*;

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const CORPUS: &[&str] = &[
    "param strength: float = 0.5 in 0.0..1.0;\nfilter vignette(src: image, x: int, y: int) -> color {\n    let cx = float(src.width) / 2.0;\n    src.at(x, y) * (1.0 - strength * cx)\n}\npipeline p = vignette(strength: 0.8);\n",
    "fn fact(n: int) -> int { if n <= 1 { return 1; } n * fact(n - 1) }\nfn main() { print(\"4! =\", fact(4)); }\n",
    "fn main() {\n    var a = [1.0, 2.0, 1.0];\n    for i in 0..len(a) { a[i] *= 2.0; }\n    var g = 2.0;\n    let f = fn(v: float) -> float { v * g };\n    while g < 10.0 { g += 1.0; if g > 5.0 { break; } else { continue; } }\n    print(f(1.0), a[0], [0; 3]);\n}\n",
    "/// Doc.\nfilter warm(c: color) -> color { rgba(c.r * 1.1, c.g, c.b * 0.9, c.a) }\nparam t: color = rgb(1.0, 0.5, -0.0);\nfn k(f: fn(int, int) -> color) -> image { render(2, 2, f) }\n",
    "fn main() { let x = { let y = 1; y + 2 }; let z = if x > 2 { x } else { -x }; print(!(z == 3) && true || false, z % 2); }\n",
];

const TOKENS: &[&str] = &[
    "fn",
    "filter",
    "param",
    "pipeline",
    "let",
    "var",
    "if",
    "else",
    "while",
    "for",
    "in",
    "return",
    "break",
    "continue",
    "true",
    "false",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ";",
    ":",
    ",",
    ".",
    "..",
    "->",
    "|>",
    "=",
    "+=",
    "==",
    "!",
    "-",
    "*",
    "/",
    "%",
    "&&",
    "||",
    "<",
    "x",
    "main",
    "print",
    "len",
    "int",
    "float",
    "color",
    "image",
    "str",
    "1",
    "2.5",
    "99999999999999999999",
    "\"s\\q\"",
    "\"",
    "//",
    "///",
    "//!",
    "\n",
    "é",
    "@",
    "\u{1F600}",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut bytes: Vec<u8> = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len();
        let at = rng.below(len + 1);
        let span = rng.below(12).min(len - at.min(len));
        match rng.below(5) {
            0 => {
                bytes.drain(at..at + span);
            }
            1 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                bytes.splice(at..at, token.bytes());
            }
            2 => {
                let copy: Vec<u8> = bytes[at..at + span].to_vec();
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, copy);
            }
            3 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                bytes.splice(at..at + span, token.bytes());
            }
            _ => {
                let byte = (rng.next() & 0xff) as u8;
                bytes.insert(at, byte);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn random_tokens(rng: &mut Rng) -> String {
    let count = rng.below(60);
    let mut out = String::new();
    for _ in 0..count {
        out.push_str(TOKENS[rng.below(TOKENS.len())]);
        if rng.below(3) > 0 {
            out.push(' ');
        }
    }
    out
}

/// Every expression id of the file, in walking order.
fn expr_ids(file: &crate::syntax::ast::SourceFile) -> Vec<u32> {
    let mut ids = Vec::new();
    for_each_expr(file, |expr| ids.push(expr.id.0));
    ids
}

#[test]
fn random_and_mutated_inputs_never_panic() {
    let mut corpus: Vec<String> = CORPUS.iter().map(|text| text.to_string()).collect();
    let lang = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lang");
    let mut dirs = vec![lang];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries.flatten().map(|entry| entry.path()).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "chop") {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    corpus.push(text);
                }
            }
        }
    }
    // `CHOP_FUZZ_ROUNDS` and `CHOP_FUZZ_SEED` run it longer or differently.
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let rounds = env("CHOP_FUZZ_ROUNDS").unwrap_or(3000);
    let mut rng = Rng(env("CHOP_FUZZ_SEED").unwrap_or(0x9e37_79b9_7f4a_7c15) | 1);
    for round in 0..rounds {
        let text = if round % 5 == 4 {
            random_tokens(&mut rng)
        } else {
            let base = &corpus[rng.below(corpus.len())];
            mutate(&mut rng, base)
        };
        let parsed = parse(&text);
        let mut ids = expr_ids(&parsed.file);
        ids.sort_unstable();
        let dense: Vec<u32> = (0..parsed.file.expr_count).collect();
        assert_eq!(
            ids, dense,
            "round {round}: expression ids not dense\n{text}"
        );
        let analysis = check(&parsed.file);
        assert_eq!(analysis.expr_types.len(), parsed.file.expr_count as usize);
        assert_eq!(
            analysis.binding_types.len(),
            parsed.file.binding_count as usize
        );
        for diag in parsed.diagnostics.iter().chain(&analysis.diagnostics) {
            let Span { start, end } = diag.span;
            assert!(
                start <= end && end <= text.len(),
                "round {round}: span {start}..{end} outside {} bytes: {diag:?}\n{text}",
                text.len()
            );
            assert!(
                text.is_char_boundary(start) && text.is_char_boundary(end),
                "round {round}: span {start}..{end} not on char boundaries: {diag:?}\n{text}"
            );
        }
        let starts: Vec<usize> = analysis.diagnostics.iter().map(|d| d.span.start).collect();
        assert!(
            starts.windows(2).all(|w| w[0] <= w[1]),
            "round {round}: unsorted"
        );
    }
}

/// An analysis as text, its sets and maps in a fixed order.
fn canonical(an: &Analysis) -> String {
    let mut captured: Vec<_> = an.captured.iter().collect();
    captured.sort();
    let mut params: Vec<_> = an
        .params
        .iter()
        .map(|(id, info)| format!("{id:?} {info:?}"))
        .collect();
    params.sort();
    let mut stages: Vec<_> = an
        .stages
        .iter()
        .map(|(at, info)| format!("{at:?} {info:?}"))
        .collect();
    stages.sort();
    let bodies: Vec<_> = an
        .bodies
        .iter()
        .map(|body| body.as_ref().map(|body| (&body.diags, body.broken)))
        .collect();
    format!(
        "{:#?}\n{:?}\n{:?}\n{:?}\n{:?}\n{captured:?}\n{:?}\n{:?}\n{:?}\n{params:?}\n{stages:?}\n{:?}",
        an.diagnostics,
        an.expr_types,
        an.binding_types,
        an.binding_mutable,
        an.binding_owner,
        an.names,
        an.calls,
        an.item_types,
        bodies,
    )
}

/// The tree-sitter edit that turns `old` into `new` (their common prefix
/// and suffix kept).
fn input_edit(old: &str, new: &str) -> tree_sitter::InputEdit {
    let (a, b) = (old.as_bytes(), new.as_bytes());
    let mut start = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    while !old.is_char_boundary(start) || !new.is_char_boundary(start) {
        start -= 1;
    }
    let room = a.len().min(b.len()) - start;
    let mut tail = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    while !old.is_char_boundary(a.len() - tail) || !new.is_char_boundary(b.len() - tail) {
        tail -= 1;
    }
    let point = |text: &str, at: usize| {
        let before = &text[..at];
        let row = before.matches('\n').count();
        let column = at - before.rfind('\n').map_or(0, |nl| nl + 1);
        tree_sitter::Point::new(row, column)
    };
    tree_sitter::InputEdit {
        start_byte: start,
        old_end_byte: a.len() - tail,
        new_end_byte: b.len() - tail,
        start_position: point(old, start),
        old_end_position: point(old, a.len() - tail),
        new_end_position: point(new, b.len() - tail),
    }
}

#[test]
fn lowering_again_after_an_edit_equals_lowering_everything() {
    use crate::syntax::lower::{lower, new_parser, parse_reusing};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters");
    let mut corpus: Vec<String> = CORPUS.iter().map(|text| text.to_string()).collect();
    for dir in [root.clone(), root.join("pipelines")] {
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "chop"))
            .collect();
        paths.sort();
        corpus.extend(
            paths
                .iter()
                .map(|path| std::fs::read_to_string(path).unwrap()),
        );
    }
    // Many items, so that edits land before, between and after reused ones.
    corpus.push(corpus.join("\n"));
    let rounds = std::env::var("CHOP_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(300);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut shared, mut moved, mut reused_bodies) = (0, 0, 0);
    for round in 0..rounds {
        let mut parser = new_parser();
        let mut text = corpus[rng.below(corpus.len())].clone();
        let mut tree = parser.parse(&text, None).unwrap();
        let mut last = parse(&text);
        let mut last_analysis = check(&last.file);
        // A chain of edits, each parsed incrementally and lowered reusing the
        // last, then checked reusing the last analysis.
        for step in 0..6 {
            let new = mutate(&mut rng, &text);
            tree.edit(&input_edit(&text, &new));
            let parsed = parse_reusing(&mut parser, &new, Some(&tree), Some((&text, &last)));
            let (file, diags) = lower(&parsed.tree, &new);
            assert_eq!(
                format!("{:?}", (&parsed.file, &parsed.diagnostics)),
                format!("{:?}", (&file, &diags)),
                "round {round}, step {step}: reusing differs from lowering all of\n{new}\nafter\n{text}"
            );
            for item in &parsed.file.items {
                if last
                    .file
                    .items
                    .iter()
                    .any(|old| std::sync::Arc::ptr_eq(old, item))
                {
                    shared += 1;
                } else if last.file.items.iter().any(|old| {
                    old.name.name == item.name.name
                        && old.span.len() == item.span.len()
                        && old.span.start != item.span.start
                }) {
                    moved += 1;
                }
            }
            let analysis = check_reusing(
                &parsed.file,
                &parsed.memo,
                Some((&last.file, &last.memo, &last_analysis)),
            );
            assert_eq!(
                canonical(&analysis),
                canonical(&check(&parsed.file)),
                "round {round}, step {step}: checking reusing bodies differs from checking all of\n{new}\nafter\n{text}"
            );
            reused_bodies += analysis.bodies_reused().0;
            tree = parsed.tree.clone();
            text = new;
            last = parsed;
            last_analysis = analysis;
        }
    }
    // The test means something only if items were reused, both ways.
    eprintln!("items shared {shared}, moved {moved}; bodies reused {reused_bodies}");
    assert!(
        shared > 1000 && moved > 500 && reused_bodies > 800,
        "shared {shared}, moved {moved}, bodies {reused_bodies}"
    );
}

/// Edits, each checked reusing the last analysis, against checking afresh: bodies
/// taken over while their ids move (a closure capturing a variable, a local read
/// in a nested block, a call), and a signature edited that an unchanged body uses
/// (that body must be checked again, not taken over with its old diagnostics).
#[test]
fn reused_bodies_move_and_follow_the_signatures_they_use() {
    let start = "fn top(a: int) -> int {\n    a + 1\n}\n\n\
        fn user() -> int {\n    var g = 2;\n    let f = fn(v: int) -> int { v * g };\n    { let h = f(top(g)); h }\n}\n\n\
        fn other() -> float {\n    let unused = 3;\n    1.5\n}\n\n\
        fn caller() -> int { top(1) + user() }\n";
    let edits: &[(&str, &str)] = &[
        // More expressions and bindings in the first body: every later id moves.
        ("    a + 1\n", "    let b = a * 2;\n    b + a + 1\n"),
        // A digit typed: nothing moves but the bytes after it.
        ("a * 2", "a * 22"),
        // A signature that `user` and `caller` use, their text unchanged.
        ("fn top(a: int) -> int", "fn top(a: int) -> float"),
        // The callers' errors stay while only `top`'s body changes.
        ("let b = a * 22;\n    b + a + 1\n", "1.5\n"),
        ("fn top(a: int) -> float", "fn top(a: float) -> int"),
        ("1.5\n", "a + 1\n"),
        // Fewer expressions before the others: their ids move back.
        (
            "fn top(a: float) -> int {\n    a + 1\n}",
            "fn top(a: int) -> int { a }",
        ),
    ];
    let mut reused_moved = 0;
    for (step, (from, reused, moved)) in checked_again(start, edits).into_iter().enumerate() {
        if from.starts_with("fn top") {
            // `user` and `caller` call `top`: checked again with its new type.
            assert_eq!(reused, 0, "step {step}");
        } else {
            assert!(reused >= 3, "step {step}: {reused} reused");
            if moved {
                reused_moved += reused;
            }
        }
    }
    assert!(reused_moved >= 6, "{reused_moved}");
}

/// Applies `edits` (each the first `from` replaced by `to`) to `start` one after
/// the other, each lowered and checked reusing the last, and asserts that each
/// equals checking afresh; for each edit, its `from`, the bodies reused, and
/// whether expression ids moved.
fn checked_again<'e>(start: &str, edits: &[(&'e str, &str)]) -> Vec<(&'e str, usize, bool)> {
    use crate::syntax::lower::{new_parser, parse_reusing};
    let mut parser = new_parser();
    let mut text = start.to_string();
    let mut last = parse(&text);
    let mut tree = last.tree.clone();
    let mut last_analysis = check(&last.file);
    let mut out = Vec::new();
    for (step, (from, to)) in edits.iter().enumerate() {
        let new = text.replacen(from, to, 1);
        assert_ne!(new, text, "step {step}");
        tree.edit(&input_edit(&text, &new));
        let parsed = parse_reusing(&mut parser, &new, Some(&tree), Some((&text, &last)));
        let analysis = check_reusing(
            &parsed.file,
            &parsed.memo,
            Some((&last.file, &last.memo, &last_analysis)),
        );
        let fresh = check(&parsed.file);
        assert_eq!(
            canonical(&analysis),
            canonical(&fresh),
            "step {step}: reusing differs from checking afresh\n{new}"
        );
        let moved = parsed.file.expr_count != last.file.expr_count;
        out.push((*from, analysis.bodies_reused().0, moved));
        tree = parsed.tree.clone();
        text = new;
        last = parsed;
        last_analysis = analysis;
    }
    out
}

/// A param's value and range are not what bodies see of it (they read a value of
/// its type): editing them leaves every body to be reused, while the pipeline
/// that overrides it is checked against the new range. Its type is: every body is
/// checked again.
#[test]
fn a_params_value_and_range_leave_the_bodies_to_be_reused() {
    let start = "param amount: float = 0.5 in 0.0..1.0;\n\n\
        filter dim(c: color) -> color {\n    c * (1.0 - amount)\n}\n\n\
        fn twice() -> float {\n    let unused = 1;\n    amount * 2.0\n}\n\n\
        pipeline p = dim(amount: 0.8);\n";
    let edits: &[(&str, &str)] = &[
        ("= 0.5", "= 0.75"),
        // The pipeline's 0.8 is out of the new range: an error there.
        ("0.0..1.0", "0.0..0.6"),
        ("= 0.75", "= 0.25"),
        ("0.0..0.6", "0.0..1.0"),
        ("param amount: float", "param amount: int"),
    ];
    let steps = checked_again(start, edits);
    for (step, &(from, reused, _)) in steps.iter().enumerate() {
        if from.starts_with("param") {
            assert_eq!(reused, 0, "step {step}: a new type");
        } else {
            assert_eq!(reused, 2, "step {step}: {from}");
        }
    }
}
