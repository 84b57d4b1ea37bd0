//! Parsing: source text to the tree-sitter CST, then the CST to the AST.
//!
//! [`parse`] never fails and never panics: the tree-sitter grammar recovers
//! from any input, `ERROR` nodes become E0001 diagnostics, `MISSING` nodes
//! E0002 diagnostics, and the parts of the text that did not parse become
//! [`ExprKind::Error`] / [`TypeExpr::Error`] in the AST, which the checker
//! accepts silently. Lowering gives every expression and binding a dense id,
//! in source order; parentheses vanish (the inner expression takes the span
//! of the parentheses); string escapes are resolved; doc comments are
//! attached to the items they precede.
//!
//! Here: the entry points, the lowerer's state and CST helpers; `recovery`
//! reports the syntax errors, `items`, `blocks` and `exprs` lower them.

use super::ast::SourceFile;
use super::reuse::{ItemMemo, Memo};
use super::span::Span;
use crate::diag::{Code, Diagnostic};
use tree_sitter::{Language, Node, Parser, Tree};

mod blocks;
mod exprs;
mod items;
mod recovery;

/// The result of parsing one file.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The concrete syntax tree (kept for incremental re-parsing and editor queries).
    pub tree: Tree,
    /// The abstract syntax tree: always complete, with error nodes where the text did not parse.
    pub file: SourceFile,
    /// The syntax errors (E0001, E0002), sorted by where they start.
    pub diagnostics: Vec<Diagnostic>,
    /// What the next lowering needs to reuse this one's items.
    pub memo: Memo,
}

impl Parsed {
    /// This parse, as parsing its text again would give it: the same tree and items,
    /// each item coming from itself (what checking reuses). For a document analysed
    /// again without an edit, because a file it uses changed.
    pub fn again(&self) -> Parsed {
        Parsed {
            memo: self.memo.again(),
            ..self.clone()
        }
    }
}

/// How deep expressions, blocks and types may nest before the rest is refused
/// (so that lowering, checking and dropping the AST cannot overflow the
/// stack, even on a 2 MiB thread in a debug build). An expression or a type
/// counts 1, a block [`BLOCK_COST`] (its frames are larger).
const MAX_DEPTH: u32 = 200;

/// What one level of block nesting counts towards [`MAX_DEPTH`].
const BLOCK_COST: u32 = 4;

/// The tree-sitter language of Chop.
fn language() -> Language {
    tree_sitter_chop::LANGUAGE.into()
}

/// A tree-sitter parser set to the Chop grammar.
pub fn new_parser() -> Parser {
    let mut parser = Parser::new();
    // The grammar is compiled in; its ABI version only changes with a
    // rebuild, and `new_parser_loads_the_grammar` checks that it loads.
    let _ = parser.set_language(&language());
    parser
}

/// Where `text` ends when it is inserted at `start` (for a `Tree::edit`:
/// rows and byte columns).
pub fn point_after(start: tree_sitter::Point, text: &str) -> tree_sitter::Point {
    match text.rfind('\n') {
        Some(last) => tree_sitter::Point::new(
            start.row + text.matches('\n').count(),
            text.len() - last - 1,
        ),
        None => tree_sitter::Point::new(start.row, start.column + text.len()),
    }
}

/// Parses a whole file.
pub fn parse(text: &str) -> Parsed {
    let mut parser = new_parser();
    parse_incremental(&mut parser, text, None)
}

/// Parses `text` with `parser`, reusing `old` (already edited with
/// `Tree::edit` to match `text`) when given.
pub fn parse_incremental(parser: &mut Parser, text: &str, old: Option<&Tree>) -> Parsed {
    parse_reusing(parser, text, old, None)
}

/// [`parse_incremental`], then lowering only the items whose text changed
/// since `previous` (the text and the result of the last parse): the others
/// are shared with it, moved by the edit's length and renumbered as needed.
/// The result is the same as lowering the whole tree.
pub fn parse_reusing(
    parser: &mut Parser,
    text: &str,
    old: Option<&Tree>,
    previous: Option<(&str, &Parsed)>,
) -> Parsed {
    if parser.language().is_none() {
        let _ = parser.set_language(&language());
    }
    let tree = match parser.parse(text, old) {
        Some(tree) => tree,
        None => fresh_tree(text),
    };
    let (file, diagnostics, memo) = lower_reusing(&tree, text, previous);
    Parsed {
        tree,
        file,
        diagnostics,
        memo,
    }
}

/// Parses with a new parser when the caller's one gave up (a cancelled or timed-out parse).
fn fresh_tree(text: &str) -> Tree {
    let mut parser = new_parser();
    match parser.parse(text, None) {
        Some(tree) => tree,
        // A parser with the language set, no cancellation flag and no progress
        // callback always returns a tree; `new_parser_loads_the_grammar` tests it.
        None => unreachable!("tree-sitter refused to parse with the Chop grammar"),
    }
}

/// Lowers a CST to the AST and collects the syntax diagnostics.
pub fn lower(tree: &Tree, text: &str) -> (SourceFile, Vec<Diagnostic>) {
    let (file, diags, _) = lower_reusing(tree, text, None);
    (file, diags)
}

/// [`lower`], reusing the items of `previous` whose text is unchanged.
fn lower_reusing(
    tree: &Tree,
    text: &str,
    previous: Option<(&str, &Parsed)>,
) -> (SourceFile, Vec<Diagnostic>, Memo) {
    let root = tree.root_node();
    let mut lowerer = Lowerer::new(text, 2);
    lowerer.scan(root);
    let mut items = Vec::new();
    let reused = match previous {
        Some((old_text, old)) => lowerer.reuse_items(root, old_text, old, &mut items),
        None => false,
    };
    if !reused {
        lowerer.items_in(root, &mut items);
    }
    let doc = lowerer.file_doc(&items);
    let uses = lowerer.uses_in(root);
    let file = SourceFile {
        doc,
        uses,
        items,
        expr_count: lowerer.next_expr,
        binding_count: lowerer.next_binding,
    };
    let memo = Memo::new(lowerer.memo, !lowerer.depth_reported);
    let mut diags = lowerer.diags;
    diags.sort_by_key(|diag| diag.span.start);
    (file, diags, memo)
}

struct Lowerer<'t> {
    text: &'t str,
    /// How an error spanning several items or statements is diagnosed: 2,
    /// item by item then statement by statement; 1, statement by statement
    /// (in an item's own parse); 0, as it is (in a statement's own parse).
    split: u8,
    /// The scan reports no error starting before this offset (a block
    /// diagnosed statement by statement ends there).
    skip_until: usize,
    diags: Vec<Diagnostic>,
    next_expr: u32,
    next_binding: u32,
    depth: u32,
    depth_reported: bool,
    /// `///` comments: span and text without the marker (the text's own bytes:
    /// a keystroke in a big file copies none).
    docs: Vec<(Span, &'t str)>,
    /// `//!` comments: span and text without the marker.
    inner_docs: Vec<(Span, &'t str)>,
    language: Language,
    /// What each item lowered so far holds, for the next lowering.
    memo: Vec<ItemMemo>,
}

fn span_of(node: Node) -> Span {
    Span::new(node.start_byte(), node.end_byte())
}

/// The text of a comment without its marker and the one space after it.
fn comment_body<'a>(text: &'a str, marker: &str) -> &'a str {
    let body = text.strip_prefix(marker).unwrap_or(text);
    let body = body.strip_prefix(' ').unwrap_or(body);
    body.trim_end_matches(['\r', '\n'])
}

const ITEM_KINDS: &[&str] = &[
    "param_item",
    "filter_item",
    "function_item",
    "pipeline_item",
];

const STMT_KINDS: &[&str] = &[
    "let_statement",
    "var_statement",
    "assignment_statement",
    "compound_assignment_statement",
    "expression_statement",
    "return_statement",
    "break_statement",
    "continue_statement",
    "while_statement",
    "for_statement",
];

/// Fields holding an expression: a missing identifier there is a missing expression.
const EXPR_FIELDS: &[&str] = &[
    "default",
    "min",
    "max",
    "value",
    "left",
    "right",
    "operand",
    "function",
    "index",
    "length",
    "condition",
    "start",
    "end",
];

impl<'t> Lowerer<'t> {
    fn new(text: &'t str, split: u8) -> Self {
        Lowerer {
            text,
            split,
            skip_until: 0,
            diags: Vec::new(),
            next_expr: 0,
            next_binding: 0,
            depth: 0,
            depth_reported: false,
            docs: Vec::new(),
            inner_docs: Vec::new(),
            language: language(),
            memo: Vec::new(),
        }
    }

    fn text_of(&self, node: Node) -> &'t str {
        self.text.get(node.byte_range()).unwrap_or("")
    }

    fn error(&mut self, code: Code, span: Span, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(code, span, message));
    }
}

/// The named children of `node` that are not comments or error nodes.
fn named_children(node: Node) -> Vec<Node> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|child| !child.is_extra())
        .collect()
}

/// The named children of `node`, error nodes included.
fn named_children_all(node: Node) -> Vec<Node> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

/// Field access by the field's id, looked up once: the lookup by name that
/// tree-sitter offers compares C strings on every call, a hot spot of lowering.
trait FieldOf<'tree> {
    /// The child in the field `name`.
    fn field(&self, name: &str) -> Option<Node<'tree>>;
}

impl<'tree> FieldOf<'tree> for Node<'tree> {
    fn field(&self, name: &str) -> Option<Node<'tree>> {
        static IDS: std::sync::OnceLock<Vec<(String, u16)>> = std::sync::OnceLock::new();
        let ids = IDS.get_or_init(|| {
            let language = language();
            let mut ids = Vec::new();
            for id in 1..=language.field_count() as u16 {
                if let Some(field) = language.field_name_for_id(id) {
                    ids.push((field.to_string(), id));
                }
            }
            ids
        });
        let id = ids.iter().find(|(field, _)| field == name)?.1;
        self.child_by_field_id(id)
    }
}

/// The children of `node` in the field `field`.
fn field_children<'tree>(node: Node<'tree>, field: &str) -> Vec<Node<'tree>> {
    let mut cursor = node.walk();
    node.children_by_field_name(field, &mut cursor).collect()
}

#[cfg(test)]
mod tests;
