//! The shape of a file: its outline (document and workspace symbols), its
//! folding ranges and the nested selection ranges around a cursor.
//!
//! Symbols come from the AST (the items, each with its signature); folds and selections from the tree-sitter tree, which also holds
//! the comments and the punctuation.

use super::render::{expr_text, stages_text, type_text};
use super::signature::item_label;
use super::Doc;
use chunkvm::syntax::ast::{Item, ItemId, ItemKind};
use chunkvm::syntax::span::Span;

/// What a symbol of the outline is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymbolKind {
    /// A `param` item.
    Param,
    /// A `filter` item.
    Filter,
    /// A `fn` item.
    Function,
    /// A `pipeline` item.
    Pipeline,
}

/// One symbol of the outline: an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocSymbol {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: SymbolKind,
    /// Its signature: `(a: int) -> int` of a function or filter, the type and
    /// default of a param, the stages of a pipeline.
    pub detail: String,
    /// The whole declaration.
    pub span: Span,
    /// Its name.
    pub selection: Span,
}

/// The items of the file: an outline, as rust-analyzer's and gopls's are
/// (no parameters or locals: the signature in `detail` shows the parameters,
/// and a big file's outline stays small).
pub fn document_symbols(doc: &Doc) -> Vec<DocSymbol> {
    doc.file()
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| !item.name.name.is_empty())
        .map(|(idx, item)| item_symbol(doc, ItemId(idx as u32), item))
        .collect()
}

fn item_symbol(doc: &Doc, id: ItemId, item: &Item) -> DocSymbol {
    let (kind, detail) = match &item.kind {
        ItemKind::Param(param) => (
            SymbolKind::Param,
            format!(
                "{} = {}",
                type_text(doc, &param.ty),
                expr_text(doc, &param.default)
            ),
        ),
        ItemKind::Pipeline(pipeline) => (SymbolKind::Pipeline, stages_text(doc, pipeline)),
        ItemKind::Function(function) => {
            let kind = if function.is_filter {
                SymbolKind::Filter
            } else {
                SymbolKind::Function
            };
            // The signature without the keyword and the name: `(a: int) -> int`.
            let detail = item_label(doc, id)
                .and_then(|label| {
                    let at = label.text.find('(')?;
                    label.text.get(at..).map(str::to_string)
                })
                .unwrap_or_default();
            (kind, detail)
        }
    };
    DocSymbol {
        name: item.name.name.clone(),
        kind,
        detail,
        span: item.span.cover(item.name.span),
        selection: item.name.span,
    }
}

/// The items whose name holds the letters of `query` in order (ignoring
/// case; an empty query matches every item), in source order.
pub fn workspace_symbols(doc: &Doc, query: &str) -> Vec<DocSymbol> {
    doc.file()
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| !item.name.name.is_empty() && fuzzy_match(&item.name.name, query))
        .map(|(idx, item)| item_symbol(doc, ItemId(idx as u32), item))
        .collect()
}

/// Whether the characters of `query` appear in `name` in order, ignoring case.
fn fuzzy_match(name: &str, query: &str) -> bool {
    let mut name = name.chars().flat_map(char::to_lowercase);
    query
        .chars()
        .flat_map(char::to_lowercase)
        .all(|wanted| name.any(|c| c == wanted))
}

// ---------------------------------------------------------------- folding

/// What a fold hides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FoldKind {
    /// Code: a block, an item, a list.
    Region,
    /// A run of comments.
    Comment,
}

/// A foldable range of lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fold {
    /// First line (0-based), which stays visible.
    pub start_line: u32,
    /// Last line folded (0-based).
    pub end_line: u32,
    /// What it hides.
    pub kind: FoldKind,
}

/// Kinds of node that fold when they span several lines.
const FOLDING_KINDS: &[&str] = &[
    "param_item",
    "filter_item",
    "function_item",
    "pipeline_item",
    "block",
    "parameters",
    "arguments",
    "named_arguments",
    "array_expression",
    "array_repeat_expression",
    "type_list",
];

const COMMENT_KINDS: &[&str] = &["comment", "doc_comment", "inner_doc_comment"];

/// The folding ranges: items, blocks and lists over several lines, runs of
/// two or more comment lines of one kind (`//`, `///`, `//!`). One fold per
/// start line (the longest), sorted.
pub fn folding_ranges(doc: &Doc) -> Vec<Fold> {
    let text: &str = &doc.text;
    let bytes = text.as_bytes();
    // The kinds, by id (one lookup per node instead of string comparisons).
    let language = doc.parsed.tree.language();
    let mut kinds = vec![0u8; language.node_kind_count()];
    for (names, mark) in [(FOLDING_KINDS, 1), (COMMENT_KINDS, 2)] {
        for name in names {
            for named in [true, false] {
                let id = language.id_for_node_kind(name, named) as usize;
                if id != 0 {
                    if let Some(slot) = kinds.get_mut(id) {
                        *slot = mark;
                    }
                }
            }
        }
    }
    // Whether the byte `at` is the first one on its line after blanks.
    let first_on_line = |at: usize, column: usize| {
        bytes
            .get(at.saturating_sub(column)..at)
            .is_some_and(|before| before.iter().all(|b| *b == b' ' || *b == b'\t'))
    };
    let mut folds: Vec<Fold> = Vec::new();
    // (kind, first line, last line) of the comment run being collected
    let mut run: Option<(u16, usize, usize)> = None;
    let mut comment_runs = Vec::new();
    let mut cursor = doc.parsed.tree.root_node().walk();
    loop {
        let node = cursor.node();
        let start = node.start_position();
        let end = node.end_position();
        let mark = kinds.get(node.kind_id() as usize).copied().unwrap_or(0);
        let mut descend = true;
        if mark == 2 {
            // Only comments alone on their line make a run.
            if first_on_line(node.start_byte(), start.column) {
                let line = start.row;
                let kind = node.kind_id();
                run = match run {
                    Some((run_kind, first, last)) if run_kind == kind && last + 1 == line => {
                        Some((run_kind, first, line))
                    }
                    Some(done) => {
                        comment_runs.push(done);
                        Some((kind, line, line))
                    }
                    None => Some((kind, line, line)),
                };
            }
            descend = false;
        } else if start.row == end.row {
            // Nothing inside folds, but a comment alone on its line, which a
            // node on one line only holds when it starts where the comment does.
            descend = first_on_line(node.start_byte(), start.column);
        } else if mark == 1 && !node.is_missing() {
            let start_line = start.row;
            let mut end_line = end.row;
            // When code follows on the last line (`} else {`), that line stays visible.
            let line_end = text
                .get(node.end_byte()..)
                .and_then(|rest| rest.find('\n'))
                .map_or(text.len(), |at| node.end_byte() + at);
            let after = text.get(node.end_byte()..line_end).unwrap_or("");
            if !after.trim().is_empty() && !after.trim_start().starts_with("//") {
                end_line = end_line.saturating_sub(1);
            }
            if end_line > start_line {
                folds.push(Fold {
                    start_line: start_line as u32,
                    end_line: end_line as u32,
                    kind: FoldKind::Region,
                });
            }
        }
        if descend && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                comment_runs.extend(run);
                for (_, first, last) in comment_runs {
                    if last > first {
                        folds.push(Fold {
                            start_line: first as u32,
                            end_line: last as u32,
                            kind: FoldKind::Comment,
                        });
                    }
                }
                folds.sort_by_key(|fold| (fold.start_line, std::cmp::Reverse(fold.end_line)));
                folds.dedup_by_key(|fold| fold.start_line);
                return folds;
            }
        }
    }
}

// ---------------------------------------------------------------- selection

/// For each offset, the spans around it from the innermost (the token) to
/// the whole file, each strictly containing the one before.
pub fn selection_ranges(doc: &Doc, offsets: &[usize]) -> Vec<Vec<Span>> {
    offsets
        .iter()
        .map(|&offset| selection_range(doc, offset))
        .collect()
}

fn selection_range(doc: &Doc, offset: usize) -> Vec<Span> {
    let text: &str = &doc.text;
    let bytes = text.as_bytes();
    let offset = offset.min(text.len());
    let is_word = |at: usize| {
        bytes
            .get(at)
            .is_some_and(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
    };
    // A cursor right after a word selects the word.
    let (start, end) = if offset > 0 && is_word(offset - 1) && !is_word(offset) {
        (offset - 1, offset)
    } else {
        (offset, offset)
    };
    let root = doc.parsed.tree.root_node();
    let mut spans: Vec<Span> = Vec::new();
    let mut node = root.descendant_for_byte_range(start, end);
    while let Some(current) = node {
        let span = Span::new(current.start_byte(), current.end_byte().min(text.len()));
        let grows = spans
            .last()
            .is_none_or(|last| span.start <= last.start && last.end <= span.end && span != *last);
        if !span.is_empty() && grows {
            spans.push(span);
        }
        node = current.parent();
    }
    let file = Span::new(0, text.len());
    if spans.last().is_none_or(|last| *last != file) {
        spans.push(file);
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::fixture;
    use std::fmt::Write;

    fn render_symbols(doc: &Doc, symbols: &[DocSymbol], out: &mut String) {
        for symbol in symbols {
            let _ = writeln!(
                out,
                "{:?} {} [{}] span={:?} sel={}",
                symbol.kind,
                symbol.name,
                symbol.detail,
                doc.slice(symbol.span).lines().next().unwrap_or(""),
                doc.slice(symbol.selection),
            );
        }
    }

    fn check_symbols(text: &str) -> String {
        let doc = Doc::new(text);
        let mut out = String::new();
        render_symbols(&doc, &document_symbols(&doc), &mut out);
        out
    }

    fn check_workspace(text: &str, query: &str) -> Vec<String> {
        let doc = Doc::new(text);
        workspace_symbols(&doc, query)
            .into_iter()
            .map(|symbol| format!("{:?} {}", symbol.kind, symbol.name))
            .collect()
    }

    fn check_folds(text: &str) -> String {
        let doc = Doc::new(text);
        folding_ranges(&doc)
            .iter()
            .map(|fold| format!("{}..{} {:?}", fold.start_line, fold.end_line, fold.kind))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn check_selection(marked: &str) -> String {
        let fx = fixture(marked);
        let doc = Doc::new(&fx.text);
        let cursor = fx.cursor.expect("no $0");
        let ranges = selection_ranges(&doc, &[cursor]);
        let spans = &ranges[0];
        for pair in spans.windows(2) {
            assert!(pair[1].start <= pair[0].start && pair[0].end <= pair[1].end);
            assert_ne!(pair[0], pair[1]);
        }
        spans
            .iter()
            .map(|span| doc.slice(*span).replace('\n', "⏎"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    const SAMPLE: &str = r#"//! A soft vignette with a tunable strength.
//! Second line of the header.

/// How dark the corners get.
param strength: float = 0.5 in 0.0..1.0;

/// Darkens the image towards its corners.
filter vignette(src: image, x: int, y: int) -> color {
    let cx = float(src.width) / 2.0;
    var cy = float(src.height) / 2.0;
    if x > 0 {
        cy += 1.0;
    } else {
        cy -= 1.0;
    }
    src.at(x, y) * (1.0 - strength * smoothstep(0.3, 1.0, cx / cy))
}

// A comment
// over two lines
fn factorial(n: int) -> int {
    if n <= 1 { return 1; }
    n * factorial(n - 1)
}

pipeline dark_corners = vignette
    |> vignette(strength: 0.8);

fn main() {
    print(
        "4! =",
        factorial(4),
    );
}
"#;

    #[test]
    fn outline_of_the_sample() {
        insta::assert_snapshot!(check_symbols(SAMPLE), @r#"
        Param strength [float = 0.5] span="param strength: float = 0.5 in 0.0..1.0;" sel=strength
        Filter vignette [(src: image, x: int, y: int) -> color] span="filter vignette(src: image, x: int, y: int) -> color {" sel=vignette
        Function factorial [(n: int) -> int] span="fn factorial(n: int) -> int {" sel=factorial
        Pipeline dark_corners [vignette |> vignette(strength: 0.8)] span="pipeline dark_corners = vignette" sel=dark_corners
        Function main [()] span="fn main() {" sel=main
        "#);
    }

    #[test]
    fn outline_of_broken_code() {
        insta::assert_snapshot!(check_symbols("fn f(a: int, : float) { let = 1; let b = ; var c = 2; }\nfn"), @r#"
        Function f [(a: int)] span="fn f(a: int, : float) { let = 1; let b = ; var c = 2; }" sel=f
        "#);
        insta::assert_snapshot!(check_symbols("param p: float = ;\nfilter g(c: color) -> { c }"), @r#"
        Param p [float = ?] span="param p: float = ;" sel=p
        Filter g [(c: color) -> {unknown}] span="filter g(c: color) -> { c }" sel=g
        "#);
        insta::assert_snapshot!(check_symbols(""), @"");
    }

    #[test]
    fn workspace_symbol_queries() {
        assert_eq!(
            check_workspace(SAMPLE, ""),
            [
                "Param strength",
                "Filter vignette",
                "Function factorial",
                "Pipeline dark_corners",
                "Function main"
            ]
        );
        assert_eq!(check_workspace(SAMPLE, "DC"), ["Pipeline dark_corners"]);
        assert_eq!(
            check_workspace(SAMPLE, "ar"),
            ["Function factorial", "Pipeline dark_corners"]
        );
        assert_eq!(check_workspace(SAMPLE, "vgt"), ["Filter vignette"]);
        assert_eq!(check_workspace(SAMPLE, "tv"), Vec::<String>::new());
        assert_eq!(check_workspace(SAMPLE, "é🎉"), Vec::<String>::new());
    }

    #[test]
    fn folds_of_the_sample() {
        insta::assert_snapshot!(check_folds(SAMPLE), @"
        0..1 Comment
        7..16 Region
        10..11 Region
        12..14 Region
        18..19 Comment
        20..23 Region
        25..26 Region
        28..33 Region
        29..31 Region
        ");
    }

    #[test]
    fn folds_of_comments_and_broken_code() {
        insta::assert_snapshot!(check_folds("// one\nfn f() {}\n// a 🎉\n// b é\n/// doc\n/// doc\nfn g() {\n    let x = 1; // trailing\n    // alone\n}\n"), @"
        2..3 Comment
        4..5 Comment
        6..9 Region
        ");
        insta::assert_snapshot!(check_folds("fn f() {\n    mix(1.0,\n"), @"");
        insta::assert_snapshot!(check_folds("fn f() { let a = [\n1,\n2]; }"), @"0..2 Region");
        insta::assert_snapshot!(check_folds(""), @"");
    }

    #[test]
    fn selection_in_expressions() {
        insta::assert_snapshot!(check_selection("fn f(a: int) -> int {\n    let b = a * (a$0 + 1);\n    b\n}"), @"
        a
        a + 1
        (a + 1)
        a * (a + 1)
        let b = a * (a + 1);
        {⏎    let b = a * (a + 1);⏎    b⏎}
        fn f(a: int) -> int {⏎    let b = a * (a + 1);⏎    b⏎}
        ");
        insta::assert_snapshot!(check_selection("fn f(c: color) -> float { c.r$0 }"), @"
        r
        c.r
        { c.r }
        fn f(c: color) -> float { c.r }
        ");
        insta::assert_snapshot!(check_selection("fn f() { print(\"é🎉 x$0\"); }"), @r#"
        "é🎉 x"
        ("é🎉 x")
        print("é🎉 x")
        print("é🎉 x");
        { print("é🎉 x"); }
        fn f() { print("é🎉 x"); }
        "#);
        insta::assert_snapshot!(check_selection("param s: float = 0.5$0;"), @"
        0.5
        param s: float = 0.5;
        ");
        insta::assert_snapshot!(check_selection("fn f() {\n    mix(1.0, $0\n"), @"fn f() {⏎    mix(1.0, ⏎");
        insta::assert_snapshot!(check_selection("fn f() {}\n$0"), @"fn f() {}⏎");
    }

    #[test]
    fn selection_of_many_offsets_never_panics() {
        let text = "//! é\nfn f(é: int) { mix(\"héllo 🎉\", // 🎉 x\n print(s, (1, [2, ";
        let doc = Doc::new(text);
        let offsets: Vec<usize> = (0..text.len() + 3).collect();
        let all = selection_ranges(&doc, &offsets);
        assert_eq!(all.len(), offsets.len());
        for spans in all {
            assert!(!spans.is_empty());
            for pair in spans.windows(2) {
                assert!(pair[1].start <= pair[0].start && pair[0].end <= pair[1].end);
                assert_ne!(pair[0], pair[1]);
            }
        }
        let _ = folding_ranges(&doc);
        let _ = document_symbols(&doc);
        let _ = workspace_symbols(&doc, "f");
    }
}
