//! Tests of parsing and checking: diagnostics as snapshots, the analysis
//! tables, the `.chop` diagnostic files, and a robustness run on mutated input.
//!
//! Here: the helpers, valid code, the `.chop` files and the type look-ups;
//! `codes` has one test per diagnostic code, `tables` the scoping and the
//! analysis tables, `robustness` the runs on random and edited input.

use super::*;
use crate::diag::Code;
use crate::syntax::ast::{ExprKind, ItemKind, StmtKind};
use crate::syntax::lower::parse;
use crate::syntax::span::{LineIndex, Span};
use crate::syntax::walk::{for_each_binding, for_each_expr};

mod codes;
mod robustness;
mod tables;

/// Parses and checks `src`; renders every diagnostic as `line:col code message`
/// (and its help on the next line).
fn diags(src: &str) -> String {
    let parsed = parse(src);
    let analysis = check(&parsed.file);
    let lines = LineIndex::new(src);
    let mut all: Vec<&Diagnostic> = parsed
        .diagnostics
        .iter()
        .chain(analysis.diagnostics.iter())
        .collect();
    all.sort_by_key(|diag| diag.span.start);
    let mut out = String::new();
    for diag in all {
        let at = lines.line_col(src, diag.span.start);
        out.push_str(&format!(
            "{}:{} {} {}\n",
            at.line,
            at.col,
            diag.code.as_str(),
            diag.message
        ));
        if let Some(help) = &diag.help {
            out.push_str(&format!("    help: {help}\n"));
        }
    }
    if out.is_empty() {
        out.push_str("ok\n");
    }
    out
}

fn analyze(src: &str) -> (crate::syntax::ast::SourceFile, Analysis) {
    let parsed = parse(src);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let analysis = check(&parsed.file);
    (parsed.file, analysis)
}

// ---------------------------------------------------------------- valid code

#[test]
fn the_language_doc_example_is_clean() {
    let src = r#"//! A soft vignette with a tunable strength.

/// How dark the corners get.
param strength: float = 0.5 in 0.0..1.0;

/// Darkens the image towards its corners.
filter vignette(src: image, x: int, y: int) -> color {
    let cx = float(src.width) / 2.0;
    let cy = float(src.height) / 2.0;
    let d = sqrt(pow(float(x) - cx, 2.0) + pow(float(y) - cy, 2.0)) / sqrt(cx * cx + cy * cy);
    src.at(x, y) * (1.0 - strength * smoothstep(0.3, 1.0, d))
}

filter grayscale(c: color) -> color { gray(luma(c)) }

fn factorial(n: int) -> int {
    if n <= 1 { return 1; }
    n * factorial(n - 1)
}

pipeline dark_corners = grayscale |> vignette(strength: 0.8);

fn main() {
    print("4! =", factorial(4));
}
"#;
    insta::assert_snapshot!(diags(src), @"ok");
    let (file, analysis) = analyze(src);
    assert_eq!(
        file.doc.as_deref(),
        Some("A soft vignette with a tunable strength.")
    );
    assert_eq!(
        file.items[0].doc.as_deref(),
        Some("How dark the corners get.")
    );
    assert_eq!(
        file.items[1].doc.as_deref(),
        Some("Darkens the image towards its corners.")
    );
    assert_eq!(file.items[2].doc, None);
    assert_eq!(
        analysis.params.get(&ItemId(0)),
        Some(&ParamInfo {
            default: Const::Float(0.5),
            range: Some((Const::Float(0.0), Const::Float(1.0))),
        })
    );
    assert_eq!(
        analysis.stages.get(&(ItemId(4), 1)),
        Some(&StageInfo {
            filter: ItemId(1),
            overrides: vec![(ItemId(0), Const::Float(0.8))],
        })
    );
    assert_eq!(
        analysis.stages.get(&(ItemId(4), 0)),
        Some(&StageInfo {
            filter: ItemId(2),
            overrides: vec![],
        })
    );
    assert_eq!(analysis.item_types[3].to_string(), "fn(int) -> int");
    assert_eq!(analysis.item_types[4], Type::Unit);
    assert_eq!(analysis.item_types[0], Type::Float);
    assert_eq!(analysis.expr_types.len(), file.expr_count as usize);
    assert_eq!(analysis.binding_types.len(), file.binding_count as usize);
}

#[test]
fn valid_programs_are_clean() {
    let src = r#"
param level: int = -3 in -10..10;
param tint: color = rgb(1.0, 0.5, 0.0);
param on: bool = !false;
param soft: color = gray(0.5);

fn is_even(n: int) -> bool { if n == 0 { true } else { is_odd(n - 1) } }
fn is_odd(n: int) -> bool { if n == 0 { false } else { is_even(n - 1) } }

fn sum(a: [float; 3]) -> float {
    var total = 0.0;
    for i in 0..len(a) { total += a[i]; }
    total
}

fn pick(x: int) -> int {
    if x > 0 {
        return 1;
    } else if x < 0 {
        return -1;
    } else {
        return 0;
    }
}

fn spin() -> int {
    while true {
        return 3;
    }
}

fn apply(f: fn(float) -> float, v: float) -> float { f(v) }

fn main() {
    var grid = [[0; 3]; 2];
    grid[1][2] = 5;
    var weights = [1.0, 2.0, 1.0];
    weights[0] *= 2.0;
    print(sum(weights), grid[1][2], is_even(4), pick(-5), spin());
    var gain = 2.0;
    let scale = fn(v: float) -> float { v * gain };
    let twice = fn(v: float) { scale(scale(v)) };
    gain = 3.0;
    print(apply(twice, 1.0), apply(fn(v: float) { -v }, 2.0));
    let c = tint * 0.5 + soft / 2.0 - -tint;
    let d = 0.5 * c;
    print(c == d, c.r % 1.0, 7 % 3, level, on && !on || true);
    let f = is_even;
    print(f(2));
    let img = blank(2, 2, rgba(0.0, 0.0, 0.0, 1.0));
    let out = render(img.width, img.height, fn(x: int, y: int) { img.at(x, y) });
    print(out.height, clamp(5, 0, 3), clamp(c, 0.0, 1.0), mix(c, d, 0.5), min(1.0, 2.0));
    let v = if on { 1 } else { 2 };
    let w = { let inner = v * 2; inner + 1 };
    print(w, "done\n");
    let _unused = 1;
    let shadow = 1;
    let shadow = shadow + 1;
    { let shadow = true; print(shadow); }
    print(shadow);
    var counter = 0;
    let bump = fn() { counter += 1; };
    bump();
    print(counter);
    if on { print(1); }
    if on { 1 } else { 2.0 };
}
"#;
    insta::assert_snapshot!(diags(src), @"ok");
}

// ---------------------------------------------------------------- the .chop files

#[test]
fn diagnostic_files_match_their_expectations() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lang/diagnostics");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "chop"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "diagnostic files in {}", dir.display());
    let mut codes_seen = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for path in &files {
        let src = std::fs::read_to_string(path).unwrap();
        let parsed = parse(&src);
        let analysis = check(&parsed.file);
        let lines = LineIndex::new(&src);
        // As `driver::Analyzed::diagnostics`: identical diagnostics once.
        let mut all: Vec<Diagnostic> = parsed.diagnostics.clone();
        all.extend(analysis.diagnostics.iter().cloned());
        all.sort_by_key(|diag| (diag.span.start, diag.span.end));
        all.dedup();
        let mut actual: Vec<(u32, String, String)> = all
            .iter()
            .map(|diag| {
                let line = lines.line_col(&src, diag.span.start).line;
                (line, diag.code.as_str().to_string(), diag.message.clone())
            })
            .collect();
        actual.sort();
        let mut expected = crate::testing::expectations(&src)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
            .diagnostics;
        expected.sort();
        for (_, code, _) in &expected {
            codes_seen.insert(code.clone());
        }
        let same = actual.len() == expected.len()
            && actual.iter().zip(&expected).all(|(found, wanted)| {
                found.0 == wanted.0 && found.1 == wanted.1 && found.2.contains(&wanted.2)
            });
        if !same {
            failures.push(format!(
                "{}:\n  expected: {expected:?}\n  found:    {actual:?}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The codes of `use` (a file that cannot be found, a cycle, ...) need several
    // files: the cases of `tests/lang/modules/` (run by `tests/lang.rs`) expect them.
    let mut stack = vec![dir.with_file_name("modules")];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "chop") {
                let src = std::fs::read_to_string(&path).unwrap();
                let expected = crate::testing::expectations(&src).unwrap().diagnostics;
                codes_seen.extend(expected.into_iter().map(|(_, code, _)| code));
            }
        }
    }
    for code in Code::ALL {
        assert!(
            codes_seen.contains(code.as_str()),
            "no diagnostic file expects {}",
            code.as_str()
        );
    }
}

#[test]
fn type_errors_carry_their_types() {
    use crate::diag::TypeFacts;
    let parsed = parse("fn main() {\n    let x: float = 2;\n    var n = 1;\n    n *= 0.5;\n    print(x + true);\n}\n");
    let analysis = check(&parsed.file);
    let facts: Vec<TypeFacts> = analysis
        .diagnostics
        .iter()
        .filter_map(|diag| diag.types.as_deref().cloned())
        .collect();
    assert_eq!(
        facts,
        [
            TypeFacts::Mismatch {
                expected: Type::Float,
                found: Type::Int
            },
            TypeFacts::Operands {
                op: crate::syntax::ast::BinOp::Mul,
                assign: true,
                left: Type::Int,
                right: Type::Float
            },
            TypeFacts::Operands {
                op: crate::syntax::ast::BinOp::Add,
                assign: false,
                left: Type::Float,
                right: Type::Bool
            },
        ]
    );
}

#[test]
fn item_and_binding_types_are_looked_up_by_id_and_unknown_ids_are_errors() {
    let (_, analysis) = analyze("param p: float = 0.5;\nfn f(x: int) -> bool { x > 0 }\n");
    assert_eq!(analysis.item_type(ItemId(0)).to_string(), "float");
    assert_eq!(analysis.item_type(ItemId(1)).to_string(), "fn(int) -> bool");
    assert_eq!(analysis.item_type(ItemId(2)), &Type::Error);
    let x = crate::syntax::ast::BindingId(0);
    assert_eq!(analysis.binding_type(x).to_string(), "int");
    assert_eq!(
        analysis.binding_type(crate::syntax::ast::BindingId(1)),
        &Type::Error
    );
    assert_eq!(analysis.owner_of(x), Owner::Item(ItemId(1)));
    assert_eq!(
        analysis.owner_of(crate::syntax::ast::BindingId(1)),
        Owner::None
    );
}
