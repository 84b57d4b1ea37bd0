//! Tests of completion: each context's offers, broken code around the cursor, real files.

use super::*;
use crate::fixture::check;

/// The fixture without its `$0` marker, and the marker's offset.
fn cursor(fixture: &str) -> (String, usize) {
    let offset = fixture.find("$0").expect("the fixture has no `$0`");
    (fixture.replacen("$0", "", 1), offset)
}

/// An insert written as an LSP snippet (`$1`, `${2:x}`, `$0`; the texts
/// here need no escapes), to compare with the text a server sends.
fn snippet(insert: &Option<Insert>) -> Option<String> {
    let place = |index: u32, default: &str| match default {
        "" => format!("${index}"),
        _ => format!("${{{index}:{default}}}"),
    };
    let parts = &insert.as_ref()?.parts;
    Some(
        parts
            .iter()
            .map(|part| match part {
                InsertPart::Text(text) => text.clone(),
                InsertPart::Placeholder { index, default } => place(*index, default),
                InsertPart::FinalCursor { default } => place(0, default),
            })
            .collect(),
    )
}

fn kind_tag(kind: CompletionKind) -> &'static str {
    match kind {
        CompletionKind::Keyword => "kw",
        CompletionKind::Snippet => "sn",
        CompletionKind::Local => "lc",
        CompletionKind::Param => "pa",
        CompletionKind::Function => "fn",
        CompletionKind::Filter => "fi",
        CompletionKind::Pipeline => "pi",
        CompletionKind::Builtin => "bt",
        CompletionKind::Field => "fd",
        CompletionKind::Method => "me",
        CompletionKind::Type => "ty",
        CompletionKind::Module => "mod",
    }
}

/// One line per completion: kind, label, detail; builtins are summed up
/// on one line (they are the same everywhere).
fn render(fixture: &str) -> String {
    let (text, offset) = cursor(fixture);
    let doc = Doc::new(&text);
    let mut out = String::new();
    let mut builtins = 0;
    for item in completions(&doc, offset) {
        if item.kind == CompletionKind::Builtin
            && !matches!(item.label.as_str(), "rgb" | "sqrt" | "mix")
        {
            builtins += 1;
            continue;
        }
        out.push_str(kind_tag(item.kind));
        out.push(' ');
        out.push_str(&item.label);
        if let Some(detail) = &item.detail {
            out.push_str("  ");
            out.push_str(&detail.replace('\n', " "));
        }
        out.push('\n');
    }
    if builtins > 0 {
        out.push_str(&format!("bt ... {builtins} more builtins\n"));
    }
    if out.is_empty() {
        out.push_str("(none)\n");
    }
    out
}

const VIGNETTE: &str = "/// How dark the corners get.
param strength: float = 0.5 in 0.0..1.0;
param radius: float = 1.0;

/// Darkens the corners.
filter vignette(src: image, x: int, y: int) -> color {
    let d = float(x) * radius;
    src.at(x, y) * (1.0 - strength * d)
}

filter grayscale(c: color) -> color {
    gray(luma(c))
}

fn helper(v: float) -> float {
    v
}
";

fn with(src: &str, extra: &str) -> String {
    format!("{src}{extra}")
}

#[test]
fn members_of_a_color() {
    check!("fn main() {\n    let c = rgb(1.0, 2.0, 3.0);\n    c.$0\n}\n", @r"
        fd r  float
        fd g  float
        fd b  float
        fd a  float
        ");
    // Part of the name typed, and the tree intact.
    check!("fn main() {\n    let c = rgb(1.0, 2.0, 3.0);\n    print(c.g$0);\n}\n", @r"
        fd r  float
        fd g  float
        fd b  float
        fd a  float
        ");
}

#[test]
fn members_of_an_image_and_of_a_method_result() {
    check!("filter f(src: image, x: int, y: int) -> color {\n    let w = src.$0\n}\n", @r"
        fd width  int
        fd height  int
        me at  fn at(x: int, y: int) -> color
        ");
    check!("filter f(src: image, x: int, y: int) -> color {\n    src.at(x, y).$0\n}\n", @r"
        fd r  float
        fd g  float
        fd b  float
        fd a  float
        ");
}

#[test]
fn members_at_the_end_of_a_broken_file() {
    // No closing brace: the whole function is an error node in the tree.
    check!("fn main() {\n    let c = rgb(1.0, 2.0, 3.0);\n    c.$0", @r"
        fd r  float
        fd g  float
        fd b  float
        fd a  float
        ");
    check!("filter f(src: image, x: int, y: int) -> color {\n    let k = [src.at(x, y); 3];\n    let q = k[1].$0", @r"
        fd r  float
        fd g  float
        fd b  float
        fd a  float
        ");
}

#[test]
fn members_of_a_param_and_of_nothing() {
    check!("param tint: color = rgb(1.0, 0.5, 0.0);\nfn main() {\n    print(tint.$0);\n}\n", @r"
        fd r  float
        fd g  float
        fd b  float
        fd a  float
        ");
    // A float has no members.
    check!("fn main() {\n    let v = 1.0;\n    print(v.$0);\n}\n", @"(none)");
    // A number being typed is not a receiver.
    check!("fn main() {\n    let v = 1.$0\n}\n", @"(none)");
    // Unknown receiver: every member.
    check!("fn main() {\n    print(nope.$0);\n}\n", @r"
        fd r  float
        fd g  float
        fd b  float
        fd a  float
        fd width  int
        fd height  int
        me at  fn at(x: int, y: int) -> color
        ");
}

#[test]
fn method_inserts_parentheses_unless_present() {
    let (text, offset) = cursor("filter f(src: image, x: int, y: int) -> color {\n    src.$0\n}\n");
    let doc = Doc::new(&text);
    let at = completions(&doc, offset)
        .into_iter()
        .find(|item| item.label == "at")
        .unwrap();
    assert_eq!(snippet(&at.insert).as_deref(), Some("at($0)"));
    assert!(at.insert.as_ref().is_some_and(Insert::has_places));
    assert!(at.doc.unwrap().contains("clamped"));
    let (text, offset) =
        cursor("filter f(src: image, x: int, y: int) -> color {\n    src.a$0(x, y)\n}\n");
    let doc = Doc::new(&text);
    let at = completions(&doc, offset)
        .into_iter()
        .find(|item| item.label == "at")
        .unwrap();
    assert_eq!(at.insert, None);
}

#[test]
fn types() {
    check!("fn main() {\n    let x: $0\n}\n", @r"
        ty int  builtin type
        ty float  builtin type
        ty bool  builtin type
        ty color  builtin type
        ty image  builtin type
        ");
    check!("fn f(a: int, b: fl$0", @r"
        ty int  builtin type
        ty float  builtin type
        ty bool  builtin type
        ty color  builtin type
        ty image  builtin type
        ");
    check!("fn f() -> $0 {}\n", @r"
        ty int  builtin type
        ty float  builtin type
        ty bool  builtin type
        ty color  builtin type
        ty image  builtin type
        ");
    check!("param p: $0", @r"
        ty int  builtin type
        ty float  builtin type
        ty bool  builtin type
        ty color  builtin type
        ty image  builtin type
        ");
    check!("fn f(g: fn(int, $0", @r"
        ty int  builtin type
        ty float  builtin type
        ty bool  builtin type
        ty color  builtin type
        ty image  builtin type
        ");
    check!("fn main() {\n    let a: [$0\n}\n", @r"
        ty int  builtin type
        ty float  builtin type
        ty bool  builtin type
        ty color  builtin type
        ty image  builtin type
        ");
    check!("fn main() {\n    let f = fn(v: $0\n}\n", @r"
        ty int  builtin type
        ty float  builtin type
        ty bool  builtin type
        ty color  builtin type
        ty image  builtin type
        ");
}

#[test]
fn new_names_get_nothing() {
    check!("fn main() {\n    let $0\n}\n", @"(none)");
    check!("fn main() {\n    var co$0\n}\n", @"(none)");
    check!("fn ma$0", @"(none)");
    check!("fn f($0", @"(none)");
    check!("fn f(a: int, $0) {}\n", @"(none)");
    check!("fn main() {\n    let f = fn($0\n}\n", @"(none)");
    check!("fn main() {\n    for $0\n}\n", @"(none)");
    check!("fn main() {\n    for i $0\n}\n", @"kw in");
}

#[test]
fn nothing_in_comments_and_strings() {
    check!("fn main() {\n    // let c = $0\n}\n", @"(none)");
    check!("fn main() {\n    print(\"é c.$0\");\n}\n", @"(none)");
    check!("fn main() {\n    print(\"unterminated $0\n}\n", @"(none)");
    check!("/// Doc of $0\nfn main() {}\n", @"(none)");
}

#[test]
fn pipeline_stages_are_filters() {
    check!(&with(VIGNETTE, "pipeline p = $0"), @"
        fi vignette  filter vignette(src: image, x: int, y: int) -> color; params: radius, strength
        fi grayscale  filter grayscale(c: color) -> color
        ");
    check!(&with(VIGNETTE, "pipeline p = grayscale |> vi$0;\n"), @"
        fi vignette  filter vignette(src: image, x: int, y: int) -> color; params: radius, strength
        fi grayscale  filter grayscale(c: color) -> color
        ");
}

#[test]
fn pipeline_arguments() {
    check!(&with(VIGNETTE, "pipeline p = vignette($0);\n"), @r"
        pa strength  float = 0.5 in 0.0..1.0
        pa radius  float = 1.0
        ");
    // A name already given is not offered again.
    check!(&with(VIGNETTE, "pipeline p = vignette(strength: 0.1, $0"), @"pa radius  float = 1.0");
    check!(&with(VIGNETTE, "pipeline p = vignette(strength: $0"), @"(none)");
    let (text, offset) = cursor(&with(VIGNETTE, "pipeline p = vignette($0);\n"));
    let doc = Doc::new(&text);
    let strength = completions(&doc, offset).into_iter().next().unwrap();
    assert_eq!(strength.insert, Some(Insert::text("strength: ")));
    assert_eq!(strength.doc.as_deref(), Some("How dark the corners get."));
}

#[test]
fn item_level() {
    check!("$0", @r"
        kw param
        kw filter
        kw fn
        kw pipeline
        sn filter (point)  filter f(c: color) -> color { ... }
        sn filter (kernel)  filter f(src: image, x: int, y: int) -> color { ... }
        sn fn  fn f(...) -> T { ... }
        sn param  param p: float = 0.5 in 0.0..1.0;
        sn pipeline  pipeline p = a |> b;
        ");
    // After an item, at the end of the file, part of the keyword typed.
    check!("fn main() {\n}\n\nfil$0", @r"
        kw param
        kw filter
        kw fn
        kw pipeline
        sn filter (point)  filter f(c: color) -> color { ... }
        sn filter (kernel)  filter f(src: image, x: int, y: int) -> color { ... }
        sn fn  fn f(...) -> T { ... }
        sn param  param p: float = 0.5 in 0.0..1.0;
        sn pipeline  pipeline p = a |> b;
        ");
    let (text, offset) = cursor("param a: int = 1;\n$0\nfn main() {}\n");
    let doc = Doc::new(&text);
    let items = completions(&doc, offset);
    let kernel = items
        .iter()
        .find(|item| item.label == "filter (kernel)")
        .unwrap();
    assert!(kernel.insert.as_ref().is_some_and(Insert::has_places));
    assert_eq!(
        snippet(&kernel.insert).as_deref(),
        Some("filter ${1:name}(src: image, x: int, y: int) -> color {\n    ${0:src.at(x, y)}\n}")
    );
}

#[test]
fn snippets_of_items_and_statements() {
    let mut out = String::new();
    for fixture in ["$0\n", "fn main() {\n    $0\n}\n"] {
        let (text, offset) = cursor(fixture);
        for item in completions(&Doc::new(&text), offset) {
            if item.kind == CompletionKind::Snippet {
                let body = snippet(&item.insert).unwrap_or_default();
                out.push_str(&format!("{}: {body:?}\n", item.label));
            }
        }
    }
    insta::assert_snapshot!(out, @r#"
    filter (point): "filter ${1:name}(c: color) -> color {\n    ${0:c}\n}"
    filter (kernel): "filter ${1:name}(src: image, x: int, y: int) -> color {\n    ${0:src.at(x, y)}\n}"
    fn: "fn ${1:name}($2) -> ${3:float} {\n    $0\n}"
    param: "param ${1:name}: ${2:float} = ${3:0.5} in ${4:0.0}..${5:1.0};$0"
    pipeline: "pipeline ${1:name} = ${2:filter};$0"
    for: "for ${1:i} in ${2:0}..${3:n} {\n    $0\n}"
    if: "if ${1:condition} {\n    $0\n}"
    while: "while ${1:condition} {\n    $0\n}"
    "#);
}

#[test]
fn statements() {
    check!(&with(VIGNETTE, "fn main() {\n    let a = 1;\n    $0\n    let b = 2.0;\n}\n"), @"
        lc a  int
        pa radius  float = 1.0
        pa strength  float = 0.5 in 0.0..1.0
        fn helper  fn helper(v: float) -> float
        fn main  fn main()
        fi grayscale  filter grayscale(c: color) -> color
        fi vignette  filter vignette(src: image, x: int, y: int) -> color
        bt mix  fn mix(a: color, b: color, t: float) -> color (+1 overload)
        bt rgb  fn rgb(r: float, g: float, b: float) -> color
        bt sqrt  fn sqrt(v: float) -> float
        kw let
        kw var
        kw if
        kw while
        kw for
        kw return
        sn for  for i in a..b { ... }
        sn if  if c { ... }
        sn while  while c { ... }
        bt ... 24 more builtins
        ");
}

#[test]
fn locals_in_scope() {
    // Parameters, shadowing (the inner `x` once), blocks that ended, the
    // loop variable, closure parameters; not the `let` being written.
    check!(
        "fn f(x: int, y: int) -> int {\n    let x = 1.0;\n    { let hidden = 1; }\n    var total = 0;\n    for i in 0..y {\n        let g = fn(v: float) -> float {\n            let w = v;\n            let z = w$0\n        };\n    }\n    total\n}\n",
        @r"
        lc w  float
        lc v  float
        lc i  int
        lc total  int
        lc x  float
        lc y  int
        fn f  fn f(x: int, y: int) -> int
        bt mix  fn mix(a: color, b: color, t: float) -> color (+1 overload)
        bt rgb  fn rgb(r: float, g: float, b: float) -> color
        bt sqrt  fn sqrt(v: float) -> float
        kw true
        kw false
        bt ... 24 more builtins
        "
    );
}

#[test]
fn loops_offer_break_and_else_follows_if() {
    let labels = |fixture: &str| -> Vec<String> {
        let (text, offset) = cursor(fixture);
        completions(&Doc::new(&text), offset)
            .into_iter()
            .filter(|item| item.kind == CompletionKind::Keyword)
            .map(|item| item.label)
            .collect()
    };
    assert_eq!(
        labels("fn main() {\n    while true {\n        $0\n    }\n}\n"),
        ["let", "var", "if", "while", "for", "return", "break", "continue"]
    );
    // A closure in a loop is not in the loop.
    assert_eq!(
        labels("fn main() {\n    while true {\n        let f = fn() { $0 };\n    }\n}\n"),
        ["let", "var", "if", "while", "for", "return"]
    );
    assert_eq!(
        labels("fn main() {\n    if true {\n    } $0\n}\n"),
        ["else", "let", "var", "if", "while", "for", "return"]
    );
    assert_eq!(
        labels("fn main() {\n    if true {\n    } else if false {\n    }\n    e$0\n}\n"),
        ["else", "let", "var", "if", "while", "for", "return"]
    );
    assert_eq!(
        labels("fn main() {\n    while true {\n    }\n    $0\n}\n"),
        ["let", "var", "if", "while", "for", "return"]
    );
    assert_eq!(
        labels("fn main() {\n    if true {\n    } else $0\n}\n"),
        ["if"]
    );
}

#[test]
fn broken_code_around_the_cursor() {
    // A statement after a missing `;`, the text after it not parsing.
    check!("fn main() {\n    let a = 2\n    pr$0\n    let b = = ;\n}\n", @"
        lc a  int
        fn main  fn main()
        bt mix  fn mix(a: color, b: color, t: float) -> color (+1 overload)
        bt rgb  fn rgb(r: float, g: float, b: float) -> color
        bt sqrt  fn sqrt(v: float) -> float
        kw let
        kw var
        kw if
        kw while
        kw for
        kw return
        sn for  for i in a..b { ... }
        sn if  if c { ... }
        sn while  while c { ... }
        bt ... 24 more builtins
        ");
    // The end of the file, inside a call, non-ASCII text before.
    check!("fn main() {\n    print(\"héllo wörld\");\n    // ünïcödé\n\n    let n = 3;\n    print(n + $0", @"
        lc n  int
        fn main  fn main()
        bt mix  fn mix(a: color, b: color, t: float) -> color (+1 overload)
        bt rgb  fn rgb(r: float, g: float, b: float) -> color
        bt sqrt  fn sqrt(v: float) -> float
        kw true
        kw false
        bt ... 24 more builtins
        ");
}

#[test]
fn callables_insert_a_call() {
    let (text, offset) = cursor(&with(VIGNETTE, "fn main() {\n    print($0);\n}\n"));
    let doc = Doc::new(&text);
    let items = completions(&doc, offset);
    let helper = items.iter().find(|item| item.label == "helper").unwrap();
    assert_eq!(snippet(&helper.insert).as_deref(), Some("helper($0)"));
    assert!(helper.insert.as_ref().is_some_and(Insert::has_places));
    let sqrt = items.iter().find(|item| item.label == "sqrt").unwrap();
    assert_eq!(sqrt.detail.as_deref(), Some("fn sqrt(v: float) -> float"));
    assert_eq!(
        sqrt.doc.as_deref(),
        Some("```chop\nfn sqrt(v: float) -> float\n```\n\nThe square root of `v` (NaN below 0).")
    );
    let strength = items.iter().find(|item| item.label == "strength").unwrap();
    assert_eq!(strength.insert, None);
    // Before an existing `(`: just the name.
    let (text, offset) = cursor(&with(VIGNETTE, "fn main() {\n    print(hel$0(1.0));\n}\n"));
    let items = completions(&Doc::new(&text), offset);
    let helper = items.iter().find(|item| item.label == "helper").unwrap();
    assert_eq!(helper.insert, None);
    // Every value once.
    let mut labels: Vec<&str> = items.iter().map(|item| item.label.as_str()).collect();
    let count = labels.len();
    labels.sort_unstable();
    labels.dedup();
    assert_eq!(labels.len(), count);
}

#[test]
fn const_contexts() {
    check!("param p: float = $0", @r"
        kw true
        kw false
        bt rgb  fn rgb(r: float, g: float, b: float) -> color
        bt ... 2 more builtins
        ");
    check!("param p: float = 0.5 in 0.0..$0", @r"
        kw true
        kw false
        bt rgb  fn rgb(r: float, g: float, b: float) -> color
        bt ... 2 more builtins
        ");
}

/// The last resort for receivers: their type from the tokens alone.
#[test]
fn receiver_types_from_tokens() {
    let text = "param tint: color = rgb(1.0, 0.5, 0.0);\nfn helper() -> image { blank(1, 1, tint) }\nfilter f(src: image, x: int, y: int) -> color {\n    let k = [src; 2];\n    let g = fn(v: int) -> color { tint };\n    ";
    let doc = Doc::new(text);
    let view = View::new(&doc, text.len(), None);
    let infer = |receiver: &str| {
        let toks = lex::lex(receiver);
        infer::tokens_type(&toks, toks.len(), &view, 0).map(|ty| ty.to_string())
    };
    assert_eq!(infer("src").as_deref(), Some("image"));
    assert_eq!(infer("src.at(x, y)").as_deref(), Some("color"));
    assert_eq!(infer("k[1].at(0, 0).r").as_deref(), Some("float"));
    assert_eq!(infer("tint").as_deref(), Some("color"));
    assert_eq!(infer("helper()").as_deref(), Some("image"));
    assert_eq!(infer("g(1)").as_deref(), Some("color"));
    assert_eq!(infer("rgb(1.0, 1.0, 1.0)").as_deref(), Some("color"));
    assert_eq!(infer("(src)").as_deref(), Some("image"));
    // Overloads that disagree, unknown names, too deep: nothing.
    assert_eq!(infer("mix(a, b, 0.5)"), None);
    assert_eq!(infer("nope"), None);
    assert_eq!(infer(&"(".repeat(100)), None);
    assert_eq!(infer(&format!("src{}", ".at(0, 0).r".repeat(40))), None);
}

/// Every editor feature of these files, on the repository's filters:
/// at many offsets of each, and on many truncations (code being typed).
#[test]
fn all_features_survive_real_files_and_their_prefixes() {
    let files = [
        include_str!("../../../filters/sobel.chop"),
        include_str!("../../../filters/vignette.chop"),
        include_str!("../../../filters/pipelines/sketch.chop"),
    ];
    for text in files {
        let doc = Doc::new(text);
        let whole = chunkvm::syntax::span::Span::new(0, text.len());
        assert!(!super::super::semantic::tokens(&doc).is_empty());
        for offset in (0..=text.len()).step_by(5) {
            let _ = completions(&doc, offset);
        }
        for end in (0..=text.len()).step_by(11) {
            let end = floor_char_boundary(text, end);
            let prefix = &text[..end];
            let doc = Doc::new(prefix);
            let _ = completions(&doc, end);
            let _ = super::super::semantic::tokens(&doc);
            let _ = super::super::hints::inlay_hints(&doc, whole);
            let _ = super::super::hints::code_lenses(&doc);
            let _ = super::super::actions::code_actions(&doc, whole);
        }
    }
}

#[test]
fn never_panics() {
    let texts = [
        VIGNETTE.to_string(),
        "fn main() {\n    let s = \"é\\\"ü\";\n    s.\n".to_string(),
        "fn f(g: fn(int, [float; 3]) -> ".to_string(),
        "pipeline p = a |> b(x: 1, ".to_string(),
        "}}}))) ((( [[ é ü 😀 . .. -> |>".to_string(),
        String::new(),
    ];
    for text in texts {
        let doc = Doc::new(&text);
        for offset in 0..=text.len() + 2 {
            let _ = completions(&doc, offset);
        }
    }
}
