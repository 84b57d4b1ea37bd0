//! Tests of navigation: name at, definition, references, highlights, rename and hover.

use super::*;
use crate::fixture::{fixture, Fixture};

fn doc_and_cursor(marked: &str) -> (Doc, usize, Fixture) {
    let fx = fixture(marked);
    let doc = Doc::new(&fx.text);
    let cursor = fx.cursor.expect("no $0 in fixture");
    (doc, cursor, fx)
}

/// `«…»` marks the expected definition (none: no definition).
fn check_definition(marked: &str) {
    let (doc, cursor, fx) = doc_and_cursor(marked);
    assert_eq!(
        definition(&doc, cursor),
        fx.ranges.first().copied(),
        "{}",
        fx.text
    );
}

/// `«…»` mark every expected reference, declaration included.
fn check_references(marked: &str) {
    let (doc, cursor, fx) = doc_and_cursor(marked);
    let all = references(&doc, cursor, true);
    assert_eq!(all, fx.ranges, "{}", fx.text);
    let decl = definition(&doc, cursor);
    let without: Vec<Span> = fx
        .ranges
        .iter()
        .copied()
        .filter(|span| Some(*span) != decl)
        .collect();
    assert_eq!(references(&doc, cursor, false), without);
}

/// `«…»` mark reads, `‹…›` writes.
fn check_highlights(marked: &str) {
    let (doc, cursor, fx) = doc_and_cursor(marked);
    let mut expected: Vec<(Span, bool)> = fx
        .ranges
        .iter()
        .map(|span| (*span, false))
        .chain(fx.writes.iter().map(|span| (*span, true)))
        .collect();
    expected.sort();
    assert_eq!(highlights(&doc, cursor), expected, "{}", fx.text);
}

/// The text after renaming, or the error.
fn rename_result(marked: &str, new_name: &str) -> String {
    let (doc, cursor, _) = doc_and_cursor(marked);
    match rename(&doc, cursor, new_name) {
        Ok(edits) => {
            let mut text = doc.text.to_string();
            let mut edits = edits;
            edits.sort_by_key(|edit| std::cmp::Reverse(edit.span.start));
            for edit in edits {
                text.replace_range(edit.span.start..edit.span.end, &edit.text);
            }
            text
        }
        Err(message) => format!("error: {message}"),
    }
}

fn check_prepare(marked: &str) -> String {
    let (doc, cursor, _) = doc_and_cursor(marked);
    match prepare_rename(&doc, cursor) {
        Ok(span) => format!("ok: {}", doc.slice(span)),
        Err(message) => format!("error: {message}"),
    }
}

fn check_hover(marked: &str) -> String {
    let (doc, cursor, _) = doc_and_cursor(marked);
    match hover(&doc, cursor) {
        Some(hover) => format!("[{}]\n{}", doc.slice(hover.span), hover.markdown),
        None => "(none)".to_string(),
    }
}

// ------------------------------------------------------------ name_at

#[test]
fn name_at_kinds() {
    let show = |marked: &str| {
        let (doc, cursor, _) = doc_and_cursor(marked);
        match name_at(&doc, cursor) {
            Some(name) => format!(
                "{} {:?} expr={}",
                doc.slice(name.span),
                name.symbol,
                name.expr.is_some()
            ),
            None => "(none)".to_string(),
        }
    };
    insta::assert_snapshot!(show("fn f(a: int) -> int { a$0 + 1 }"), @"a Local(BindingId(0)) expr=true");
    insta::assert_snapshot!(show("fn f(a: int) -> int { $0a + 1 }"), @"a Local(BindingId(0)) expr=true");
    insta::assert_snapshot!(show("fn f(a$0: int) -> int { a }"), @"a Local(BindingId(0)) expr=false");
    insta::assert_snapshot!(show("fn f$0() {}"), @"f Item(ItemId(0)) expr=false");
    insta::assert_snapshot!(show("fn f() { let c = rgb(1.0, 0.0, 0.0); print(c.r$0); }"), @r#"r Member("color", "r") expr=true"#);
    insta::assert_snapshot!(show("filter k(src: image, x: int, y: int) -> color { src.a$0t(x, y) }"), @r#"at Member("image", "at") expr=true"#);
    insta::assert_snapshot!(show("fn f() { print(mi$0x(1.0, 2.0, 0.5)); }"), @r#"mix Builtin("mix") expr=true"#);
    insta::assert_snapshot!(show("fn f(a: in$0t) {}"), @"(none)");
    insta::assert_snapshot!(show("fn f() { // a$0 comment\n}"), @"(none)");
    insta::assert_snapshot!(show("fn f() { 1 +$0 2; }"), @"(none)");
    insta::assert_snapshot!(show("param s: float = 0.5;\nfilter g(c: color) -> color { c * s }\npipeline p = g$0(s: 1.0);"), @"g Item(ItemId(1)) expr=false");
    insta::assert_snapshot!(show("param s: float = 0.5;\nfilter g(c: color) -> color { c * s }\npipeline p = g(s$0: 1.0);"), @"s Item(ItemId(0)) expr=false");
    insta::assert_snapshot!(show("fn f() { let x = (((y$0))); }\nfn y() {}"), @"y Item(ItemId(1)) expr=true");
    insta::assert_snapshot!(show("fn f() -> int { let y = 1; let x = ( ( y$0 ) ); x }"), @"y Local(BindingId(0)) expr=true");
}

#[test]
fn name_at_never_panics() {
    let text = "fn f(é: int) { let s = \"héllo 🎉\"; // 🎉 x\n print(s); }\nfn";
    let doc = Doc::new(text);
    for offset in 0..text.len() + 4 {
        let _ = name_at(&doc, offset);
        let _ = definition(&doc, offset);
        let _ = references(&doc, offset, true);
        let _ = highlights(&doc, offset);
        let _ = prepare_rename(&doc, offset);
        let _ = rename(&doc, offset, "zz");
        let _ = hover(&doc, offset);
    }
}

// ------------------------------------------------------------ definition

#[test]
fn definition_of_locals() {
    check_definition("fn f(«a»: int) -> int { a$0 + 1 }");
    check_definition("fn f() -> int { let «x» = 1; x$0 }");
    check_definition("fn f() -> int { let «x»: int = 1; x$0 }");
    check_definition("fn f() { var «x» = 1; x$0 = 2; print(x); }");
    check_definition("fn f() { for «i» in 0..3 { print(i$0); } }");
    check_definition("fn f() -> int { let x = 1; let «x» = x + 1; x$0 }");
    check_definition("fn f() -> int { let «x» = 1; let x = x$0 + 1; x }");
    check_definition("fn f() -> int { let x = 1; { let «x» = 2; x$0 } }");
    check_definition("fn f() -> int { let «x» = 1; { let x = 2; print(x); } x$0 }");
}

#[test]
fn definition_of_declaration_is_itself() {
    check_definition("fn f() -> int { let «x$0» = 1; x }");
    check_definition("fn «f$0»() {}");
}

#[test]
fn definition_in_closures() {
    check_definition("fn f() -> float { let «gain» = 2.0; let g = fn(v: float) -> float { v * gain$0 }; g(1.0) }");
    check_definition("fn f() -> float { let g = fn(«v»: float) -> float { v$0 * 2.0 }; g(1.0) }");
    check_definition("fn f() -> float { let «g» = fn(v: float) -> float { v }; g$0(1.0) }");
    check_definition("fn f() -> float { var «n» = 0.0; let inc = fn() { n$0 += 1.0; }; inc(); n }");
}

#[test]
fn definition_of_items() {
    check_definition("fn «fact»(n: int) -> int { if n <= 1 { return 1; } n * fact$0(n - 1) }");
    check_definition(
        "param «strength»: float = 0.5;\nfilter g(c: color) -> color { c * strength$0 }",
    );
    check_definition("fn main() { helper$0(); }\nfn «helper»() {}");
    check_definition("filter «g»(c: color) -> color { c }\npipeline p = g$0 |> g;");
    check_definition(
        "param «s»: float = 0.5;\nfilter g(c: color) -> color { c * s }\npipeline p = g(s$0: 1.0);",
    );
    check_definition("param a: float = 1.0;\nparam «b»: float = 0.5;\nfilter g(c: color) -> color { c * a * b }\npipeline p = g(a: 0.5, b$0: 0.2) |> g;");
}

#[test]
fn definition_of_builtins_and_members_is_none() {
    check_definition("fn f() { print$0(1); }");
    check_definition("fn f(c: color) -> float { c.r$0 }");
    check_definition("fn f(«c»: color) -> float { c$0 }");
    check_definition("fn f() {}$0");
    check_definition("$0");
    check_definition("fn f() { let x = unknown$0; }");
}

#[test]
fn definition_with_unicode_and_broken_code() {
    check_definition("//! Café ☕ filters\nfn f() -> int { let «e» = 1; e$0 }");
    check_definition("// 🎉🎉\nfn f() { let s = \"🎉 ünïcode\"; let «x» = 1; print(s, x$0); }");
    check_definition("fn f() {\n    let «x» = 1;\n    print(x$0, \n}\n");
    check_definition("fn f() {\n    let «x» = 1;\n    x$0 +\n}\n");
    check_definition("fn f() { let «x» = 1; x$0");
}

// ------------------------------------------------------------ references

#[test]
fn references_of_locals() {
    check_references("fn f() -> int { let «x» = 1; let y = «x» + «x$0»; y }");
    check_references("fn f() -> int { let x = 1; { let «x» = 2; «x$0» } }");
    check_references("fn f() -> int { let «x» = 1; { let x = 2; print(x); } «x$0» }");
    check_references("fn f() { var «a» = [1, 2]; «a»[0] = 3; «a$0»[1] += «a»[0]; }");
    check_references(
            "fn f() -> float { let «gain» = 2.0; let g = fn(v: float) -> float { v * «gain» }; g(«gain$0») }",
        );
    check_references("fn f(«n$0»: int) -> int { «n» * «n» }\nfn g(n: int) -> int { n }");
}

#[test]
fn references_of_items() {
    check_references(
            "filter «g$0»(c: color) -> color { c }\nfn main() { let x = «g»(rgb(1.0, 1.0, 1.0)); print(x); }\npipeline p = «g» |> «g»;",
        );
    check_references(
            "param «s»: float = 0.5;\nfilter g(c: color) -> color { c * «s$0» }\npipeline p = g(«s»: 1.0) |> g(«s»: 0.2);",
        );
    check_references("fn «f»() { «f$0»(); }");
}

#[test]
fn references_of_builtins_and_members() {
    check_references("fn f(c: color) -> float { «mix»(1.0, 2.0, c.r) + «mix$0»(0.0, 1.0, 0.5) }");
    check_references("fn f(c: color, d: color) -> float { c.«r» + d.«r$0» + c.g }");
    check_references(
        "filter k(src: image, x: int, y: int) -> color { src.«at»(x, y) + src.«at$0»(0, 0) }",
    );
}

#[test]
fn references_in_code_that_does_not_parse() {
    check_references("fn f() {\n    let «x» = 1;\n    print(«x», «x$0» +\n}\n");
    check_references("fn «g»() {}\nfn f() {\n    «g$0»(1, \n}\n");
    check_references("fn f() { let «x» = 1; «x$0»");
    check_references("fn f( { let «x» = 1; «x$0» }");
}

#[test]
fn references_through_closures_and_shadowing() {
    check_references(
            "fn f() -> float {\n    var «n» = 0.0;\n    let inc = fn() { «n» += 1.0; };\n    inc();\n    let n = «n$0» * 2.0;\n    n\n}",
        );
    check_references(
            "fn f() -> float {\n    let v = 1.0;\n    let g = fn(«v»: float) -> float { «v$0» * 2.0 };\n    g(v)\n}",
        );
    check_references(
        "fn f() -> int { let x = 1; for «x» in 0..«x» { print(«x$0»); } x }"
            .replace("0..«x»", "0..x")
            .as_str(),
    );
}

#[test]
fn references_nothing() {
    check_references("fn f() { 1 + 2$0; }");
    check_references("fn f() { let s = \"ab$0c\"; print(s); }");
}

// ------------------------------------------------------------ highlights

#[test]
fn highlights_reads_and_writes() {
    check_highlights("fn f() { var ‹x› = 1; ‹x› = «x» + 1; ‹x› += 2; print(«x$0»); }");
    check_highlights("fn f() { var ‹a› = [1, 2]; ‹a›[«a»[0]] = 3; print(«a$0»); }");
    check_highlights("fn f() { for ‹i› in 0..3 { print(«i$0»); } }");
    check_highlights(
            "param ‹s›: float = 0.5;\nfilter g(c: color) -> color { c * «s$0» }\npipeline p = g(‹s›: 1.0);",
        );
    check_highlights("fn f() { 1 $0+ 2; }");
    check_highlights(
        "fn f() -> float { var ‹n› = 0.0; let inc = fn() { ‹n› += 1.0; }; inc(); «n$0» }",
    );
    check_highlights("fn ‹f›() {}\nfn g() { «f$0»(); }");
}

// ------------------------------------------------------------ rename

#[test]
fn rename_locals() {
    insta::assert_snapshot!(rename_result("fn f() -> int { let x = 1; let y = x$0 + x; y }", "z"), @"fn f() -> int { let z = 1; let y = z + z; y }");
    insta::assert_snapshot!(rename_result("fn f() -> int { let x = 1; { let x = 2; x$0 } }", "inner"), @"fn f() -> int { let x = 1; { let inner = 2; inner } }");
    insta::assert_snapshot!(rename_result("fn f() -> float { let gain = 2.0; let g = fn(v: float) -> float { v * gain$0 }; g(gain) }", "k"), @"fn f() -> float { let k = 2.0; let g = fn(v: float) -> float { v * k }; g(k) }");
    insta::assert_snapshot!(rename_result("fn f() { let s = \"é🎉\"; let x$0 = 1; print(s, x); }", "ü"), @"error: `ü` is not a valid name: a name is a letter or `_` followed by letters, digits and `_`");
    insta::assert_snapshot!(rename_result("fn f() { let s = \"é🎉\"; let x$0 = 1; print(s, x); }", "yy"), @r#"fn f() { let s = "é🎉"; let yy = 1; print(s, yy); }"#);
    insta::assert_snapshot!(rename_result("fn f() -> int { let x = 1; x$0 }", "x"), @"fn f() -> int { let x = 1; x }");
    insta::assert_snapshot!(rename_result("fn f() {\n    let x = 1;\n    print(x, x$0 +\n}\n", "y"), @"
        fn f() {
            let y = 1;
            print(y, y +
        }
        ");
    insta::assert_snapshot!(rename_result("fn f() -> float {\n    var n = 0.0;\n    let inc = fn() { n$0 += 1.0; };\n    inc();\n    n\n}", "count"), @"
        fn f() -> float {
            var count = 0.0;
            let inc = fn() { count += 1.0; };
            inc();
            count
        }
        ");
    insta::assert_snapshot!(rename_result("fn f() -> int { let x = 1; for i in 0..x { print(i$0); } x }", "j"), @"fn f() -> int { let x = 1; for j in 0..x { print(j); } x }");
}

#[test]
fn rename_items() {
    insta::assert_snapshot!(rename_result("param s: float = 0.5;\nfilter g(c: color) -> color { c * s$0 }\npipeline p = g(s: 1.0);", "amount"), @r"
        param amount: float = 0.5;
        filter g(c: color) -> color { c * amount }
        pipeline p = g(amount: 1.0);
        ");
    insta::assert_snapshot!(rename_result("filter g$0(c: color) -> color { c }\npipeline p = g |> g;", "h"), @r"
        filter h(c: color) -> color { c }
        pipeline p = h |> h;
        ");
}

#[test]
fn rename_refusals() {
    insta::assert_snapshot!(rename_result("fn f() -> int { let x$0 = 1; x }", "while"), @"error: `while` is a keyword");
    insta::assert_snapshot!(rename_result("fn f() -> int { let x$0 = 1; x }", "2x"), @"error: `2x` is not a valid name: a name is a letter or `_` followed by letters, digits and `_`");
    insta::assert_snapshot!(rename_result("fn f() -> int { let x$0 = 1; x }", ""), @"error: the new name is empty");
    insta::assert_snapshot!(rename_result("fn f() -> int { let x$0 = 1; x }", "mix"), @"error: `mix` is the name of a builtin function");
    insta::assert_snapshot!(rename_result("fn f() -> float { mix$0(1.0, 2.0, 0.5) }", "blend"), @"error: `mix` is a builtin and cannot be renamed");
    insta::assert_snapshot!(rename_result("fn f() {}\nfn g$0() {}", "f"), @"error: an item named `f` already exists (line 1)");
    insta::assert_snapshot!(rename_result("fn f() {}\nfn g() { let f = 1; print(f); }\nfn h() { let x = 1; g$0(); print(x); }", "x"), @"error: the local `x` (line 3) is in scope at the use of `g` on line 3: it would hide the renamed item");
    // an inner `y` would capture the use of the renamed `x`
    insta::assert_snapshot!(rename_result("fn f() -> int { let x$0 = 1; let y = 2; x + y }", "y"), @"error: `y` (line 1) is in scope at the use of `x` on line 1: the renamed variable would be shadowed there");
    // the renamed `x` would capture a use of the outer `y`
    insta::assert_snapshot!(rename_result("fn f() -> int { let y = 2;\n let x$0 = 1;\n x + y }", "y"), @"error: `y` is used on line 3, inside the scope of `x`: it would refer to the renamed variable");
    insta::assert_snapshot!(rename_result("fn f() -> int { let a = 2; { let x$0 = 1; x + a } }", "a"), @"error: `a` is used on line 1, inside the scope of `x`: it would refer to the renamed variable");
    insta::assert_snapshot!(rename_result("fn g() {}\nfn f() { let x$0 = 1; g(); print(x); }", "g"), @"error: `g` is used on line 2, inside the scope of `x`: it would refer to the renamed variable");
    // shadowing the other way round is fine
    insta::assert_snapshot!(rename_result("fn f() -> int { let y = 2; { let x$0 = 1; x } }", "y"), @"fn f() -> int { let y = 2; { let y = 1; y } }");
    insta::assert_snapshot!(rename_result("fn g() {}\nfn f() { let x$0 = 1; print(x); }", "g"), @r"
        fn g() {}
        fn f() { let g = 1; print(g); }
        ");
}

#[test]
fn prepare_rename_messages() {
    insta::assert_snapshot!(check_prepare("fn f() -> int { let x = 1; x$0 }"), @"ok: x");
    insta::assert_snapshot!(check_prepare("fn f() -> float { mix$0(1.0, 2.0, 0.5) }"), @"error: `mix` is a builtin and cannot be renamed");
    insta::assert_snapshot!(check_prepare("fn f(c: color) -> float { c.r$0 }"), @"error: `r` is a field of `color` and cannot be renamed");
    insta::assert_snapshot!(check_prepare("filter k(src: image, x: int, y: int) -> color { src.at$0(x, y) }"), @"error: `at` is a method of `image` and cannot be renamed");
    insta::assert_snapshot!(check_prepare("fn f() { whi$0le true { break; } }"), @"error: `while` is a keyword and cannot be renamed");
    insta::assert_snapshot!(check_prepare("fn f(x: flo$0at) {}"), @"error: `float` is a type and cannot be renamed");
    insta::assert_snapshot!(check_prepare("fn f() { print(nope$0); }"), @"error: `nope` is not defined here: there is nothing to rename");
    insta::assert_snapshot!(check_prepare("fn f() { 1 + $0 2; }"), @"error: there is no name here to rename");
    insta::assert_snapshot!(check_prepare("fn f() { // wo$0rd\n}"), @"error: there is no name here to rename");
    insta::assert_snapshot!(check_prepare("fn f() {}$0"), @"error: there is no name here to rename");
}

// ------------------------------------------------------------ hover

#[test]
fn hover_locals() {
    insta::assert_snapshot!(check_hover("fn f() -> float { let x = 1.0; x$0 }"), @r"
        [x]
        ```chop
        let x: float
        ```
        ");
    insta::assert_snapshot!(check_hover("fn f() { var n$0 = [0.0; 3]; n[0] = 1.0; print(n); }"), @r"
        [n]
        ```chop
        var n: [float; 3]
        ```
        ");
    insta::assert_snapshot!(check_hover("fn fact(n: int) -> int { n$0 }"), @r"
        [n]
        ```chop
        n: int
        ```

        Parameter of the function `fact`.
        ");
    insta::assert_snapshot!(check_hover("fn f() -> float { let gain = 2.0; let g = fn(v: float) -> float { v * gain$0 }; g(1.0) }"), @r"
        [gain]
        ```chop
        let gain: float
        ```

        Captured by a closure.
        ");
    insta::assert_snapshot!(check_hover("fn f() -> float { let g = fn(v: float) -> float { v }; g$0(1.0) }"), @r"
        [g]
        ```chop
        let g: fn(float) -> float
        ```
        ");
    insta::assert_snapshot!(check_hover("fn f() { for i in 0..2 { print(i$0); } }"), @r"
        [i]
        ```chop
        i: int
        ```

        Loop variable.
        ");
}

#[test]
fn hover_items() {
    insta::assert_snapshot!(check_hover("/// How dark the corners get.\nparam strength: float = 0.5 in 0.0..1.0;\nfilter g(c: color) -> color { c * strength$0 }"), @r"
        [strength]
        ```chop
        param strength: float = 0.5 in 0.0..1.0
        ```

        How dark the corners get.
        ");
    insta::assert_snapshot!(check_hover("/// Factorial.\n/// Of `n`.\nfn fact(n: int) -> int { if n <= 1 { return 1; } n * fact$0(n - 1) }"), @r"
        [fact]
        ```chop
        fn fact(n: int) -> int
        ```

        Factorial.
        Of `n`.
        ");
    insta::assert_snapshot!(check_hover("filter g$0(c: color) -> color { c }"), @r"
        [g]
        ```chop
        filter g(c: color) -> color
        ```
        ");
    insta::assert_snapshot!(check_hover("filter g(c: color) -> color { c }\npipeline p$0 = g |> g(   );"), @r"
        [p]
        ```chop
        pipeline p = g |> g
        ```
        ");
    insta::assert_snapshot!(check_hover("param s: color = rgb(1.0,\n   0.5, 0.0);\nfilter g(c: color) -> color { c * s }\npipeline p = g(s$0: gray(0.5));"), @r"
        [s]
        ```chop
        param s: color = rgb(1.0, 0.5, 0.0)
        ```
        ");
}

#[test]
fn hover_builtins_and_members() {
    insta::assert_snapshot!(check_hover("fn f() -> float { mix$0(1.0, 2.0, 0.5) }"), @r"
        [mix]
        ```chop
        fn mix(a: color, b: color, t: float) -> color
        fn mix(a: float, b: float, t: float) -> float
        ```

        Linear interpolation: `a * (1 - t) + b * t`, per channel for colours.
        ");
    insta::assert_snapshot!(check_hover("fn f(c: color) -> float { c.g$0 }"), @r"
        [g]
        ```chop
        color.g: float
        ```

        The green channel.
        ");
    insta::assert_snapshot!(check_hover("filter k(src: image, x: int, y: int) -> color { src.$0at(x, y) }"), @r"
        [at]
        ```chop
        fn image.at(x: int, y: int) -> color
        ```

        The colour of pixel `(x, y)`; coordinates outside the image are clamped to its edge.
        ");
    insta::assert_snapshot!(check_hover("fn f() { print$0(1); }"), @r"
        [print]
        ```chop
        fn print(values...)
        ```

        Prints its arguments on one line, separated by spaces. Floats always show a decimal point; colours print as `rgba(r, g, b, a)`.
        ");
}

#[test]
fn hover_nothing() {
    insta::assert_snapshot!(check_hover("fn f() -> int { 1 +$0 2 }"), @"(none)");
    insta::assert_snapshot!(check_hover("fn f() -> int { 1$0 }"), @"(none)");
    insta::assert_snapshot!(check_hover("fn f(x: int$0) {}"), @"(none)");
    insta::assert_snapshot!(check_hover("// 🎉 mix$0\nfn f() {}"), @"(none)");
    insta::assert_snapshot!(check_hover("fn f() {}\n$0"), @"(none)");
}
