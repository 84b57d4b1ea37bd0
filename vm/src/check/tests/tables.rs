//! Scoping and the analysis tables: bindings, captures and owners, names
//! and calls, dense expression ids, doc comments, closures, the order of
//! diagnostics, incremental parsing, deep nesting.

use super::*;

#[test]
fn shadowing_and_block_scopes() {
    let src = r#"
fn main() {
    let x = 1;
    let x = x + 1;
    {
        let x = true;
        let y = 2;
        print(x, y);
    }
    print(x, y);
    let x = fn(v: int) -> int { x + v };
    print(x(1));
}
"#;
    insta::assert_snapshot!(diags(src), @"10:14 E0003 unknown name `y`");
    let (file, analysis) = analyze("fn main() { let x = 1; let x = x + 1; print(x); }");
    let ItemKind::Function(main) = &file.items[0].kind else {
        panic!("not a function");
    };
    let StmtKind::Let { value, binding, .. } = &main.body.stmts[1].kind else {
        panic!("not a let");
    };
    let ExprKind::Binary(_, left, _) = &value.kind else {
        panic!("not a binary");
    };
    assert_eq!(binding.id, crate::syntax::ast::BindingId(1));
    assert_eq!(
        analysis.names.get(&left.id),
        Some(&Res::Local(crate::syntax::ast::BindingId(0)))
    );
}

#[test]
fn captures_and_owners() {
    let src = r#"
fn main() {
    var total = 0;
    let unused_outer = 5;
    let step = 2;
    let add = fn(n: int) {
        let local = n * step;
        let nested = fn() { total += local; };
        nested();
    };
    add(1);
    print(total, unused_outer);
}
"#;
    let (file, analysis) = analyze(src);
    let names: Vec<(&str, u32)> = binding_names(&file);
    let id = |name: &str| {
        crate::syntax::ast::BindingId(
            names
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, id)| *id)
                .unwrap(),
        )
    };
    let mut captured: Vec<u32> = analysis.captured.iter().map(|b| b.0).collect();
    captured.sort_unstable();
    let mut expected = vec![id("total").0, id("step").0, id("local").0];
    expected.sort_unstable();
    assert_eq!(captured, expected);
    assert_eq!(
        analysis.binding_owner[id("total").0 as usize],
        Owner::Item(ItemId(0))
    );
    assert!(matches!(
        analysis.binding_owner[id("n").0 as usize],
        Owner::Closure(_)
    ));
    assert!(matches!(
        analysis.binding_owner[id("local").0 as usize],
        Owner::Closure(_)
    ));
    assert_ne!(
        analysis.binding_owner[id("n").0 as usize],
        analysis.binding_owner[id("unused_outer").0 as usize]
    );
    assert!(analysis.binding_mutable[id("total").0 as usize]);
    assert!(!analysis.binding_mutable[id("step").0 as usize]);
    assert_eq!(
        analysis.binding_types[id("add").0 as usize].to_string(),
        "fn(int)"
    );
    assert_eq!(
        analysis.binding_types[id("nested").0 as usize].to_string(),
        "fn()"
    );
}

/// The bindings of a file, by name and id, in source order.
fn binding_names(file: &crate::syntax::ast::SourceFile) -> Vec<(&str, u32)> {
    let mut out = Vec::new();
    for_each_binding(file, |binding| {
        out.push((binding.name.name.as_str(), binding.id.0))
    });
    out
}

#[test]
fn names_and_calls_are_recorded() {
    let src = r#"
param gain: float = 1.0;
fn double(x: float) -> float { x * 2.0 }
fn main() {
    let f = double;
    let img = blank(1, 1, gray(gain));
    print(f(1.0), double(2.0), mix(1.0, 2.0, 0.5), img.at(0, 0), len([1]));
}
"#;
    let (file, analysis) = analyze(src);
    let mut calls: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for_each_expr(&file, |expr| match &expr.kind {
        ExprKind::Call(..) => calls.push(match analysis.calls.get(&expr.id) {
            Some(Callee::Method(method)) => format!("Method({}.{})", method.receiver, method.name),
            other => format!("{other:?}"),
        }),
        ExprKind::Name(name) => names.push(match analysis.names.get(&expr.id) {
            Some(Res::Builtin(builtin)) => format!("{name}: Builtin({})", builtin.name),
            other => format!("{name}: {other:?}"),
        }),
        _ => {}
    });
    insta::assert_snapshot!(names.join("\n"), @"
    x: Some(Local(BindingId(0)))
    double: Some(Function(ItemId(1)))
    blank: Builtin(blank)
    gray: Builtin(gray)
    gain: Some(Param(ItemId(0)))
    print: Builtin(print)
    f: Some(Local(BindingId(1)))
    double: Some(Function(ItemId(1)))
    mix: Builtin(mix)
    img: Some(Local(BindingId(2)))
    len: Builtin(len)
    ");
    insta::assert_snapshot!(calls.join("\n"), @"
    Some(Builtin(Blank))
    Some(Builtin(Gray))
    Some(Builtin(Print))
    Some(Value)
    Some(Function(ItemId(1)))
    Some(Builtin(MixFloat))
    Method(image.at)
    Some(Builtin(Len))
    ");
}

#[test]
fn expression_ids_are_dense_and_in_source_order() {
    let src = "param p: int = -(1);\nfn main() { let a = ((1 + 2) * 3); print(a, [a; 2], \"x\\n\\t\\\"\\\\\"); }\n";
    let parsed = parse(src);
    assert!(parsed.diagnostics.is_empty());
    let mut seen = Vec::new();
    let mut spans = Vec::new();
    for_each_expr(&parsed.file, |expr| {
        seen.push(expr.id.0);
        spans.push((expr.span.start, expr.id.0));
        if let ExprKind::Str(text) = &expr.kind {
            assert_eq!(text, "x\n\t\"\\");
        }
    });
    let expected: Vec<u32> = (0..parsed.file.expr_count).collect();
    assert_eq!(seen, expected, "pre-order ids");
    // Parentheses vanish, keeping their span.
    let ItemKind::Param(param) = &parsed.file.items[0].kind else {
        panic!("not a param");
    };
    let ExprKind::Unary(_, inner) = &param.default.kind else {
        panic!("not a unary");
    };
    assert!(matches!(inner.kind, ExprKind::Int(1)));
    assert_eq!(&src[inner.span.start..inner.span.end], "(1)");
    let analysis = check(&parsed.file);
    assert!(
        analysis.diagnostics.is_empty(),
        "{:?}",
        analysis.diagnostics
    );
    assert_eq!(
        analysis.params.get(&ItemId(0)).map(|info| info.default),
        Some(Const::Int(-1))
    );
}

#[test]
fn the_smallest_integer_literal_parses() {
    let (file, analysis) = analyze("param p: int = -9223372036854775808;\n");
    let ItemKind::Param(param) = &file.items[0].kind else {
        panic!("not a param");
    };
    assert!(matches!(param.default.kind, ExprKind::Int(i64::MIN)));
    assert_eq!(
        analysis.params.get(&ItemId(0)).map(|info| info.default),
        Some(Const::Int(i64::MIN))
    );
}

#[test]
fn doc_comments_attach_to_the_next_item_only() {
    let src = "//! File doc.\n//! Second line.\n\n/// Orphan.\n// plain comment\nfn a() {}\n/// First.\n///Second.\nfn b() {}\n////not a doc\nfn c() {}\n";
    let parsed = parse(src);
    assert_eq!(parsed.file.doc.as_deref(), Some("File doc.\nSecond line."));
    let docs: Vec<Option<&str>> = parsed
        .file
        .items
        .iter()
        .map(|item| item.doc.as_deref())
        .collect();
    assert_eq!(docs, vec![None, Some("First.\nSecond."), None]);
}

#[test]
fn function_values_and_recursion() {
    let src = r#"
fn main() {
    var fact = fn(n: int) -> int { n };
    fact = fn(n: int) -> int { if n <= 1 { 1 } else { n * fact(n - 1) } };
    let bad = fn(n: int) -> int { bad(n) };
    print(fact(5), bad(1));
}
"#;
    insta::assert_snapshot!(diags(src), @"5:35 E0003 unknown name `bad`");
}

#[test]
fn closures_infer_their_result() {
    let (file, analysis) = analyze(
        "fn main() { let a = fn(x: int) { if x > 0 { return 1.0; } 2.0 }; let b = fn() { }; let c = fn(x: bool) { if x { return 1; } else { return 2; } }; print(a(1), c(true)); b(); }",
    );
    let types: Vec<String> = binding_names(&file)
        .iter()
        .map(|(name, id)| format!("{name}: {}", analysis.binding_types[*id as usize]))
        .collect();
    insta::assert_snapshot!(types.join("\n"), @"
    a: fn(int) -> float
    x: int
    b: fn()
    c: fn(bool) -> int
    x: bool
    ");
    insta::assert_snapshot!(diags("fn main() { let a = fn(x: int) { if x > 0 { return 1; } 2.0 }; print(a(1)); }"), @"1:52 E0004 expected `float`, found `int`");
    insta::assert_snapshot!(diags("fn main() { let a = fn(x: int) { if x > 0 { return 1; } }; print(a(1)); }"), @"
    1:57 E0010 closure may end without returning a value
        help: end the body with a value, or `return` one on every path
    ");
}

#[test]
fn diagnostics_are_sorted_and_deterministic() {
    let src = "fn main() { let a = b; let c: flaot = 1; x = 1; }\nfn main() {}\n";
    let first = diags(src);
    for _ in 0..5 {
        assert_eq!(diags(src), first);
    }
    let analysis = check(&parse(src).file);
    let starts: Vec<usize> = analysis.diagnostics.iter().map(|d| d.span.start).collect();
    let mut sorted = starts.clone();
    sorted.sort_unstable();
    assert_eq!(starts, sorted);
}

#[test]
fn incremental_parsing_matches_a_fresh_parse() {
    let mut parser = crate::syntax::lower::new_parser();
    let old_text = "fn main() { print(1); }\n";
    let first = crate::syntax::lower::parse_incremental(&mut parser, old_text, None);
    let new_text = "fn main() { print(12); }\n";
    let mut tree = first.tree.clone();
    tree.edit(&tree_sitter::InputEdit {
        start_byte: 19,
        old_end_byte: 19,
        new_end_byte: 20,
        start_position: tree_sitter::Point::new(0, 19),
        old_end_position: tree_sitter::Point::new(0, 19),
        new_end_position: tree_sitter::Point::new(0, 20),
    });
    let second = crate::syntax::lower::parse_incremental(&mut parser, new_text, Some(&tree));
    let fresh = parse(new_text);
    assert_eq!(format!("{:?}", second.file), format!("{:?}", fresh.file));
    assert_eq!(
        second.tree.root_node().to_sexp(),
        fresh.tree.root_node().to_sexp()
    );
}

#[test]
fn deep_nesting_does_not_overflow() {
    let depth = 3000;
    let cases = [
        format!(
            "fn main() {{ print({}1{}); }}",
            "(".repeat(depth),
            ")".repeat(depth)
        ),
        format!("fn main() {}{}", "{ ".repeat(depth), "}".repeat(depth + 1)),
        format!(
            "fn main() {{ {}{} }}",
            "if true { ".repeat(depth),
            "}".repeat(depth)
        ),
        format!(
            "fn main() {{ {}{} }}",
            "while true { ".repeat(depth),
            "}".repeat(depth)
        ),
        format!(
            "fn main() {{ let f = {} 1 {}; }}",
            "fn() { ".repeat(depth),
            "}".repeat(depth)
        ),
        format!("fn main() {{ print({}); }}", vec!["1"; depth].join(" + ")),
        format!(
            "fn main() {{ print({}1{}); }}",
            "abs(".repeat(depth),
            ")".repeat(depth)
        ),
        format!(
            "fn main() {{ print({}1{}); }}",
            "[".repeat(depth),
            "]".repeat(depth)
        ),
        format!(
            "fn main() {{ let a = [1]; print(a{}); }}",
            "[0]".repeat(depth)
        ),
        format!("fn main() {{ let x = {}1; }}", "-".repeat(depth)),
        format!(
            "fn f(a: {}int{}) {{}}",
            "[".repeat(depth),
            "; 1]".repeat(depth)
        ),
        format!(
            "fn f(a: {}int{}) {{}}",
            "fn(".repeat(depth),
            ")".repeat(depth)
        ),
        "((((([[[[{{{{ fn".repeat(depth / 10),
    ];
    // Half the stack of a test thread: a margin for callers.
    let outputs = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || cases.iter().map(|src| diags(src)).collect::<Vec<_>>())
        .unwrap()
        .join()
        .unwrap();
    for out in &outputs[..12] {
        assert!(out.contains("E0001 the code is nested too deeply"), "{out}");
    }
}
