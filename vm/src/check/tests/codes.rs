//! One test per diagnostic code: each code's diagnostics as snapshots.

use super::*;

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
        help: the signatures are: fn min(a: float, b: float) -> float; fn min(a: int, b: int) -> int; fn min(a: color, b: color) -> color
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
