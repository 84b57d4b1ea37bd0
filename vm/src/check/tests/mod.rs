//! Tests of parsing and checking: diagnostics as snapshots, the analysis
//! tables, the `.chop` diagnostic files, and a robustness run on mutated input.

use super::*;
use crate::diag::Code;
use crate::syntax::ast::{ExprKind, ItemKind, StmtKind};
use crate::syntax::lower::parse;
use crate::syntax::span::{LineIndex, Span};
use crate::syntax::walk::{for_each_binding, for_each_expr};

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

// ---------------------------------------------------------------- one test per code

#[test]
fn e0001_syntax_errors() {
    insta::assert_snapshot!(diags("fn main() { let x = ; print(1); }\n"), @"1:21 E0001 unexpected `;`, expected an expression");
    insta::assert_snapshot!(diags("fn main() { print(1 @ 2); }\n"), @"1:21 E0001 unexpected `@`");
    insta::assert_snapshot!(diags("fn main() { let x = 99999999999999999999; print(x); }\n"), @r"
    1:21 E0001 integer literal too large
        help: the largest int is 9223372036854775807
    ");
    insta::assert_snapshot!(diags("fn main() { print(\"a\\qb\"); }\n"), @r#"
    1:21 E0001 unknown escape `\q`
        help: the escapes are `\"`, `\\`, `\n` and `\t`
    "#);
    insta::assert_snapshot!(diags("fn main() { print(\"open); }\n"), @"1:19 E0001 unterminated string literal");
    insta::assert_snapshot!(diags("fn main() {}\nfn g(\n"), @"2:1 E0001 unexpected end of file: the `fn` item is incomplete");
    insta::assert_snapshot!(diags("fn main() {} }\n"), @"1:14 E0001 unexpected `}`");
    insta::assert_snapshot!(diags("filter f(c: color) { c }\n"), @"
    1:1 E0001 this `filter` item does not parse
        help: it is written `filter NAME(c: color) -> color { ... }` or `filter NAME(src: image, x: int, y: int) -> color { ... }`
    ");
    insta::assert_snapshot!(diags("fn main() { print(1) print(2); }\n"), @"1:22 E0001 unexpected `print`");
    insta::assert_snapshot!(diags("fn main() {\n    let x = 1\n    print(x);\n}\n"), @"
    2:13 E0001 unexpected `1`
        help: is a `;` missing at the end of this line?
    ");
}

#[test]
fn e0002_missing_tokens() {
    insta::assert_snapshot!(diags("fn main() {\n    let x = 1\n    print(x);\n}\n"), @"
    2:13 E0001 unexpected `1`
        help: is a `;` missing at the end of this line?
    ");
    insta::assert_snapshot!(diags("fn main() { print(1, 2; }\n"), @"1:23 E0002 missing `)`");
    insta::assert_snapshot!(diags("fn main() {\n    let a = 1\n    let b = a;\n    print(b);\n"), @"
    2:14 E0002 missing `;`
    4:14 E0002 missing `}`
    ");
    insta::assert_snapshot!(diags("param p: int = 3 in 1..;\n"), @"1:24 E0002 missing an expression");
}

#[test]
fn e0003_unknown_names() {
    let src = r#"
fn helper(count: int) -> int { cout + 1 }
fn main() {
    let total = 1;
    print(totl, helpr(2), sqr(2.0), nothing_like_it);
    undefined_fn(1);
}
"#;
    insta::assert_snapshot!(diags(src), @"
    2:32 E0003 unknown name `cout`
        help: did you mean `count`?
    4:9 W0002 variable `total` is never read
        help: remove it, or name it `_total` if it is meant to be unused
    5:11 E0003 unknown name `totl`
        help: did you mean `total`?
    5:17 E0003 unknown name `helpr`
        help: did you mean `helper`?
    5:27 E0003 unknown name `sqr`
        help: did you mean `sqrt`?
    5:37 E0003 unknown name `nothing_like_it`
    6:5 E0003 unknown name `undefined_fn`
    ");
}

#[test]
fn e0004_type_mismatches() {
    let src = r#"
fn f(x: float) -> int { 1 }
fn unit() {}
fn main() {
    let a = 1 + 2.0;
    let b: float = 3;
    let c = f(2);
    let d = true + 1;
    let e = -true;
    let g = !3;
    let h = if true { 1 } else { 2.0 };
    let i = if true { 1 };
    let j = unit();
    let k = sqrt;
    let l = mix(1, 2, 3);
    let m = rgb(1.0, 0.0, 0.0) / rgb(1.0, 1.0, 1.0);
    let n = [1, 2.0];
    let o = [1, 2] == [1, 2];
    while 1 { }
    for q in 0.0..3 { }
    print(unit(), unit);
    var r = 1;
    r += 0.5;
    print(a, b, c, d, e, g, h, i, j, k, l, m, n, o, r);
}
fn ret_float() -> float { return 1; }
fn ret_none() -> int { return; }
fn ret_unit() { return 1; }
fn tail_unit() { 1 + 1 }
"#;
    insta::assert_snapshot!(diags(src), @"
    5:13 E0004 cannot apply `+` to `int` and `float`
        help: write `1.0` for a float
    6:20 E0004 expected `float`, found `int`
        help: write `3.0` for a float
    7:15 E0004 expected `float`, found `int`
        help: write `2.0` for a float
    8:13 E0004 cannot apply `+` to `bool` and `int`
    9:13 E0004 cannot negate a value of type `bool`
    10:13 E0004 `!` needs a `bool`, found `int`
    11:34 E0004 expected `int`, found `float`
        help: use int(x) to convert a float to an int (it truncates)
    12:13 E0004 `if` without `else` has no value
        help: add an `else` branch
    13:13 E0004 expected a value, but this has no value
    14:13 E0004 builtin `sqrt` can only be called, not used as a value
        help: wrap it in a closure; its signature is `fn sqrt(v: float) -> float`
    15:13 E0004 `mix` cannot take arguments of types (int, int, int)
        help: the signatures are: fn mix(a: color, b: color, t: float) -> color; fn mix(a: float, b: float, t: float) -> float
    16:13 E0004 cannot apply `/` to `color` and `color`
        help: colours divide by a float: `c / 2.0`
    17:17 E0004 expected `int`, found `float`
        help: use int(x) to convert a float to an int (it truncates)
    18:13 E0004 cannot compare values of type `[int; 2]` with `==`
    19:11 E0004 expected `bool`, found `int`
    20:14 E0004 expected `int`, found `float`
        help: use int(x) to convert a float to an int (it truncates)
    21:11 E0004 `print` cannot print this: this has no value
    21:19 E0004 `print` cannot print this: functions cannot be printed
    23:5 E0004 cannot apply `+=` to `int` and `float`
        help: use int(x) to convert a float to an int
    26:34 E0004 expected `float`, found `int`
        help: write `1.0` for a float
    27:24 E0004 `return;` needs a value: function `ret_none` returns `int`
    28:24 E0004 function `ret_unit` returns nothing, but this `return` has a value of type `int`
        help: declare the return type `-> int`
    29:18 E0004 function `tail_unit` returns nothing, but its body ends with a value of type `int`
        help: add `;` to discard the value, or declare the return type `-> int`
    ");
}

#[test]
fn e0005_argument_counts() {
    let src = r#"
fn two(a: int, b: int) -> int { a + b }
fn main() {
    print(two(1), two(1, 2, 3), sqrt(), len([1], [2]), min(1, 2, 3));
    let f = fn(x: int) { x };
    print(f(1, 2));
    let img = blank(1, 1, gray(0.0));
    print(img.at(0));
}
"#;
    insta::assert_snapshot!(diags(src), @"
    4:11 E0005 `two` takes 2 arguments, but 1 was given
    4:19 E0005 `two` takes 2 arguments, but 3 were given
    4:33 E0005 `sqrt` takes 1 argument, but 0 were given
    4:41 E0005 `len` takes 1 argument, but 2 were given
    4:56 E0005 `min` takes 2 arguments, but 3 were given
        help: the signatures are: fn min(a: float, b: float) -> float; fn min(a: int, b: int) -> int
    6:11 E0005 `f` takes 1 argument, but 2 were given
    8:11 E0005 `at` takes 2 arguments, but 1 was given
    ");
}

#[test]
fn e0006_unknown_fields_and_methods() {
    let src = r#"
filter f(src: image, x: int, y: int) -> color {
    let c = src.at(x, y);
    print(c.red, src.widht, src.pixel(x, y), x.r, src.at, c.zzz);
    c
}
"#;
    insta::assert_snapshot!(diags(src), @"
    4:13 E0006 no field `red` on type `color`
        help: `color` has: r, g, b, a
    4:22 E0006 no field `widht` on type `image`
        help: did you mean `width`?
    4:33 E0006 no method `pixel` on type `image`
        help: `image` has: width, height, at
    4:48 E0006 type `int` has no fields or methods
    4:55 E0006 `at` is a method of `image`, not a field
        help: call it: `.at(...)`
    4:61 E0006 no field `zzz` on type `color`
        help: `color` has: r, g, b, a
    ");
}

#[test]
fn e0007_duplicates() {
    let src = r#"
fn a(x: int, x: int) -> int { x }
param a: int = 1;
fn b() {
    let f = fn(y: int, y: int) { };
    f(1, 2);
}
pipeline p = g(k: 1, k: 2);
param k: int = 0;
filter g(c: color) -> color { c }
"#;
    insta::assert_snapshot!(diags(src), @"
    2:14 E0007 parameter `x` is defined twice
    3:7 E0007 `a` is defined more than once
        help: items share one namespace: rename one of them
    5:24 E0007 parameter `y` is defined twice
    8:22 E0007 `k` is overridden twice in this stage
    ");
}

#[test]
fn e0008_assignments_to_immutables() {
    let src = r#"
param p: int = 1;
fn f(x: int) {
    x = 2;
    let y = 1;
    y = 2;
    y += 1;
    for i in 0..3 { i = 1; }
    p = 2;
    f = f;
    sqrt = 1;
    let arr = [1, 2];
    arr[0] = 3;
    print(y, arr);
}
"#;
    insta::assert_snapshot!(diags(src), @"
    4:5 E0008 cannot assign to parameter `x`
        help: copy it into a variable first: `var x = x;`
    6:5 E0008 cannot assign to `y`: it is declared with `let`
        help: declare it with `var y` to change it
    7:5 E0008 cannot assign to `y`: it is declared with `let`
        help: declare it with `var y` to change it
    8:21 E0008 cannot assign to loop variable `i`
    9:5 E0008 cannot assign to param `p`: params are read-only
    10:5 E0008 cannot assign to function `f`
    11:5 E0008 cannot assign to builtin `sqrt`
    13:5 E0008 cannot assign to `arr`: it is declared with `let`
        help: declare it with `var arr` to change it
    ");
}

#[test]
fn e0009_calling_non_functions() {
    let src = r#"
param p: int = 1;
pipeline q = f;
filter f(c: color) -> color { c }
fn main() {
    let x = 1;
    print(x(), p(), q(), (1 + 2)(), f(gray(0.5)).r());
}
"#;
    insta::assert_snapshot!(diags(src), @"
    7:11 E0009 `x` is not a function: its type is `int`
    7:16 E0009 `p` is a param, not a function
    7:21 E0009 `q` is a pipeline, not a function
    7:26 E0009 this is not a function: its type is `int`
    7:37 E0009 `r` is a field of `color`, not a method
    ");
}

#[test]
fn e0010_missing_returns() {
    let src = r#"
fn a(x: int) -> int {
    if x > 0 { return 1; }
}
fn b(x: int) -> int {
    if x > 0 { return 1; } else if x < 0 { return 2; }
}
fn c() -> int {
    let y = 1;
}
fn d(x: bool) -> int {
    while x { return 1; }
}
fn e() -> int {
    while true { break; }
}
fn fine(x: bool) -> int {
    if x { return 1; }
    return 2;
}
fn main() {
    let g = fn(x: bool) -> int { if x { return 1; } };
    let h = fn(x: bool) { if x { return 1; } };
    print(g(true), h(false));
}
"#;
    insta::assert_snapshot!(diags(src), @"
    4:1 E0010 function `a` may end without returning a value
        help: end the body with a value, or `return` one on every path
    7:1 E0010 function `b` may end without returning a value
        help: end the body with a value, or `return` one on every path
    9:9 W0002 variable `y` is never read
        help: remove it, or name it `_y` if it is meant to be unused
    10:1 E0010 function `c` may end without returning a value
        help: end the body with a value, or `return` one on every path
    13:1 E0010 function `d` may end without returning a value
        help: end the body with a value, or `return` one on every path
    16:1 E0010 function `e` may end without returning a value
        help: end the body with a value, or `return` one on every path
    22:53 E0010 closure may end without returning a value
        help: end the body with a value, or `return` one on every path
    23:46 E0010 closure may end without returning a value
        help: end the body with a value, or `return` one on every path
    ");
}

#[test]
fn e0011_unknown_types() {
    let src = r#"
param p: flaot = 1.0;
fn f(c: colour, n: integer) -> bol { true }
fn main() { let x: [imag; 2] = 1; let g: fn(strr) = 1; print(x, g); }
"#;
    insta::assert_snapshot!(diags(src), @"
    2:10 E0011 unknown type `flaot`
        help: did you mean `float`?
    3:9 E0011 unknown type `colour`
        help: did you mean `color`?
    3:20 E0011 unknown type `integer`
    3:32 E0011 unknown type `bol`
        help: did you mean `bool`?
    4:21 E0011 unknown type `imag`
        help: did you mean `image`?
    4:45 E0011 unknown type `strr`
        help: did you mean `str`?
    ");
}

#[test]
fn e0012_break_outside_loops() {
    let src = r#"
fn main() {
    break;
    while true {
        let f = fn() { continue; };
        f();
        break;
    }
    if true { continue; }
}
"#;
    insta::assert_snapshot!(diags(src), @"
    3:5 E0012 `break` outside a loop
    5:24 E0012 `continue` outside a loop
    9:15 E0012 `continue` outside a loop
    ");
}

#[test]
fn e0013_invalid_assignment_targets() {
    let src = r#"
fn arr() -> [int; 2] { [1, 2] }
fn main() {
    var c = rgb(1.0, 0.0, 0.0);
    c.r = 0.5;
    arr()[0] = 1;
    1 = 2;
    var v = 1;
    v + 1 = 3;
    print(c, v);
}
"#;
    insta::assert_snapshot!(diags(src), @"
    5:5 E0013 cannot assign to a field: colours and images cannot be changed
        help: build a new value instead, e.g. `c = rgba(0.0, c.g, c.b, c.a);`
    6:5 E0013 cannot assign to an element of a temporary value
        help: store the array in a `var` first
    7:5 E0013 cannot assign to this expression
        help: the left of `=` must be a `var` or an element of one, like `a[i]`
    9:5 E0013 cannot assign to this expression
        help: the left of `=` must be a `var` or an element of one, like `a[i]`
    ");
}

#[test]
fn e0014_indexing_non_arrays() {
    let src = r#"
fn main() {
    let x = 1;
    let c = gray(0.5);
    var a = [1, 2];
    print(x[0], c[1], a[1.0]);
    x[0] = 1;
}
"#;
    insta::assert_snapshot!(diags(src), @"
    6:11 E0014 cannot index into a value of type `int`
    6:17 E0014 cannot index into a value of type `color`
    6:25 E0004 expected `int`, found `float`
        help: use int(x) to convert a float to an int (it truncates)
    7:5 E0008 cannot assign to `x`: it is declared with `let`
        help: declare it with `var x` to change it
    7:5 E0014 cannot index into a value of type `int`
    ");
}

#[test]
fn e0015_array_lengths() {
    let src = r#"
fn f(a: [int; 0]) {}
fn main() {
    let n = 3;
    print([], [0; 0], [0; n], [0; -1], [1.0; 2.5]);
}
"#;
    insta::assert_snapshot!(diags(src), @"
    2:9 E0015 array length must be a positive integer, found `0`
    5:11 E0015 an array literal cannot be empty
        help: arrays have a fixed length of at least 1
    5:19 E0015 array length must be a positive integer, found `0`
    5:27 E0015 the length of `[value; n]` must be an integer literal
        help: arrays have a fixed length, known before the program runs
    5:35 E0015 array length must be a positive integer, found `-1`
    5:46 E0004 expected `int`, found `float`
        help: use int(x) to convert a float to an int (it truncates)
    ");
}

#[test]
fn e0016_param_ranges() {
    let src = r#"
param a: float = 2.0 in 0.0..1.0;
param b: int = 1 in 5..1;
param c: int = -1 in -1..1;
filter f(x: color) -> color { x }
pipeline p = f(c: 2) |> f(c: 1);
"#;
    insta::assert_snapshot!(diags(src), @"
    2:18 E0016 the default `2.0` of `a` is outside its range `0.0..1.0`
    3:21 E0016 the range `5..1` of `b` is empty: its min is above its max
    6:19 E0016 `2` is outside the range `-1..1` of `c`
    ");
}

#[test]
fn e0017_non_constants() {
    let src = r#"
param a: float = 1.0;
param b: float = a;
param c: float = 1.0 + 2.0;
param d: int = 1 in 0..len([1, 2]);
param e: color = rgb(a, 0.0, 0.0);
filter f(x: color) -> color { x }
pipeline p = f(a: sqrt(4.0));
"#;
    insta::assert_snapshot!(diags(src), @"
    3:18 E0017 the default of a `param` must be a constant
        help: use a literal such as `0.5` or `-1`, or rgb/rgba/gray of literals
    4:18 E0017 the default of a `param` must be a constant
        help: use a literal such as `0.5` or `-1`, or rgb/rgba/gray of literals
    5:24 E0017 the range of a `param` must be a constant
        help: use a literal such as `0.5` or `-1`, or rgb/rgba/gray of literals
    6:18 E0017 the default of a `param` must be a constant
        help: use a literal such as `0.5` or `-1`, or rgb/rgba/gray of literals
    8:19 E0017 a pipeline argument must be a constant
        help: use a literal such as `0.5` or `-1`, or rgb/rgba/gray of literals
    ");
}

#[test]
fn e0018_filter_signatures() {
    let src = r#"
filter a(c: color) -> float { 1.0 }
filter b(c: color, d: color) -> color { c }
filter c(src: image, x: float, y: float) -> color { src.at(0, 0) }
filter d() -> color { gray(0.0) }
filter point(pixel: color) -> color { pixel }
filter kernel(img: image, i: int, j: int) -> color { img.at(i, j) }
"#;
    insta::assert_snapshot!(diags(src), @"
    2:1 E0018 a filter must be a point filter `filter f(c: color) -> color` or a kernel filter `filter f(src: image, x: int, y: int) -> color`
        help: this one is `fn(color) -> float`
    3:1 E0018 a filter must be a point filter `filter f(c: color) -> color` or a kernel filter `filter f(src: image, x: int, y: int) -> color`
        help: this one is `fn(color, color) -> color`
    4:1 E0018 a filter must be a point filter `filter f(c: color) -> color` or a kernel filter `filter f(src: image, x: int, y: int) -> color`
        help: this one is `fn(image, float, float) -> color`
    5:1 E0018 a filter must be a point filter `filter f(c: color) -> color` or a kernel filter `filter f(src: image, x: int, y: int) -> color`
        help: this one is `fn() -> color`
    ");
}

#[test]
fn e0019_pipeline_stages() {
    let src = r#"
param strength: float = 0.5 in 0.0..1.0;
fn helper(c: color) -> color { c }
filter blur(c: color) -> color { c }
pipeline p = blurr |> helper |> strength |> blur(strenght: 0.2, helper: 1.0);
"#;
    insta::assert_snapshot!(diags(src), @"
    5:14 E0019 unknown filter `blurr`
        help: did you mean `blur`?
    5:23 E0019 `helper` is a function, not a filter
        help: declare it with `filter` and a filter signature
    5:33 E0019 `strength` is not a filter
    5:50 E0019 unknown param `strenght`
        help: did you mean `strength`?
    5:65 E0019 `helper` is not a param
    ");
}

#[test]
fn e0020_unsupported_types() {
    let src = r#"
param a: [float; 2] = 1.0;
param b: image = 1;
param c: bool = true in false..true;
fn f(s: str) -> str { s }
fn main() {
    let s = "text";
    var t: str = "x";
    print(["a", "b"], s, t);
}
"#;
    insta::assert_snapshot!(diags(src), @"
    2:10 E0020 a `param` must be an int, float, bool or color, not `[float; 2]`
    3:10 E0020 a `param` must be an int, float, bool or color, not `image`
    4:25 E0020 a range is only allowed on int and float params, not `bool`
    5:9 E0020 a parameter cannot hold a `str`
        help: strings can only be printed: pass the literal to `print` directly
    5:17 E0020 a function cannot return a `str`
        help: strings can only be printed
    7:9 E0020 a variable cannot hold a `str`
        help: strings can only be printed: pass the literal to `print` directly
    8:9 E0020 a variable cannot hold a `str`
        help: strings can only be printed: pass the literal to `print` directly
    9:11 E0020 an array cannot hold strings
        help: strings can only be printed
    ");
}

#[test]
fn e0021_bad_main() {
    insta::assert_snapshot!(diags("fn main(x: int) {}\n"), @"1:4 E0021 `main` must be a function without parameters or return type: `fn main()`");
    insta::assert_snapshot!(diags("fn main() -> int { 1 }\n"), @"1:4 E0021 `main` must be a function without parameters or return type: `fn main()`");
    insta::assert_snapshot!(diags("param main: int = 1;\n"), @"1:7 E0021 `main` must be a function without parameters or return type: `fn main()`");
    insta::assert_snapshot!(diags("fn other() {}\n"), @"ok");
}

#[test]
fn w0001_unreachable_code() {
    let src = r#"
fn f() -> int {
    return 1;
    print(2);
    print(3);
}
fn main() {
    while true {
        break;
        print(1);
    }
    for i in 0..3 {
        continue;
        print(i)
    }
    print(f());
}
"#;
    insta::assert_snapshot!(diags(src), @"
    4:5 W0001 unreachable code after `return`
    10:9 W0001 unreachable code after `break`
    14:9 W0001 unreachable code after `continue`
    ");
}

#[test]
fn w0002_unused_variables() {
    let src = r#"
fn main() {
    let a = 1;
    var b = 2;
    b = 3;
    let _c = 4;
    let used = 5;
    let f = fn(unused_param: int) { let inner = 1; };
    f(used);
    for i in 0..2 { }
}
"#;
    insta::assert_snapshot!(diags(src), @"
    3:9 W0002 variable `a` is never read
        help: remove it, or name it `_a` if it is meant to be unused
    4:9 W0002 variable `b` is never read
        help: remove it, or name it `_b` if it is meant to be unused
    8:41 W0002 variable `inner` is never read
        help: remove it, or name it `_inner` if it is meant to be unused
    ");
}

// ---------------------------------------------------------------- scoping and tables

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
    for code in Code::ALL {
        assert!(
            codes_seen.contains(code.as_str()),
            "no diagnostic file expects {}",
            code.as_str()
        );
    }
}

// ---------------------------------------------------------------- robustness

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
}
