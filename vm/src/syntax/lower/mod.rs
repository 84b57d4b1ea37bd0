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

use super::ast::{
    BinOp, Binding, BindingId, Block, Closure, Expr, ExprId, ExprKind, FnItem, Ident, Item,
    ItemKind, Param, ParamItem, PipelineItem, SourceFile, Stage, Stmt, StmtKind, TypeExpr, UnOp,
};
use super::reuse::{ItemMemo, Memo, Shift};
use super::span::Span;
use crate::diag::{Code, Diagnostic};
use std::sync::Arc;
use tree_sitter::{Language, Node, Parser, Tree};

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
    let file = SourceFile {
        doc,
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
    /// `///` comments: span and text without the marker.
    docs: Vec<(Span, String)>,
    /// `//!` comments: span and text without the marker.
    inner_docs: Vec<(Span, String)>,
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

    // ------------------------------------------------------------ CST scan

    /// Collects the doc comments (those that document something sit between
    /// items, at the top level), then walks the parts of the CST that hold
    /// errors (without recursion) to report `ERROR` and `MISSING` nodes. A
    /// clean subtree is never entered: a keystroke in a big file costs little.
    fn scan(&mut self, root: Node) {
        let mut top = root.walk();
        for node in root.children(&mut top) {
            match node.kind() {
                "doc_comment" => {
                    let text = comment_body(self.text_of(node), "///").to_string();
                    self.docs.push((span_of(node), text));
                }
                "inner_doc_comment" => {
                    let text = comment_body(self.text_of(node), "//!").to_string();
                    self.inner_docs.push((span_of(node), text));
                }
                _ => {}
            }
        }
        if !root.has_error() {
            return;
        }
        let mut cursor = root.walk();
        loop {
            let node = cursor.node();
            let mut descend = node.has_error();
            let skipped =
                node.start_byte() < self.skip_until && (node.is_error() || node.is_missing());
            // (`report_unclosed` reports an item whose body lost its `}`.)
            if skipped || (node.parent() == Some(root) && self.report_unclosed(node)) {
                descend = false;
            } else if node.is_error() {
                if !self.report_by_statements(node) {
                    self.report_error(node);
                }
                descend = false;
            } else if node.is_missing() {
                let field = cursor.field_name();
                self.report_missing(node, field);
                descend = false;
            }
            if descend && cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return;
                }
            }
        }
    }

    /// Reports the mistakes of a block statement by statement, when the
    /// parser's recovery made one `ERROR` node of several statements (`let x
    /// = ;` then `print(x`: tree-sitter keeps neither). Each statement of the
    /// block that holds an error is parsed alone, in its function (the
    /// item's head and closing `}`, through included ranges: positions stay
    /// those of the file), and reports what it would report alone. Returns
    /// false, reporting nothing, when that does not apply or finds nothing.
    fn report_by_statements(&mut self, error: Node) -> bool {
        if self.split == 0 {
            return false;
        }
        if error
            .parent()
            .is_some_and(|parent| parent.kind() == "source_file")
        {
            return self.split >= 2 && self.report_by_items(error);
        }
        let Some(block) = ancestor(error, |node| node.kind() == "block") else {
            return false;
        };
        let Some(item) = ancestor(block, |node| {
            node.parent()
                .is_some_and(|parent| parent.kind() == "source_file")
        }) else {
            return false;
        };
        let Some(body) = item.field("body").filter(|body| body.kind() == "block") else {
            return false;
        };
        let (Some(open), Some(close)) = (
            body.child(0),
            body.child(body.child_count().saturating_sub(1)),
        ) else {
            return false;
        };
        if open.kind() != "{" || close.kind() != "}" || close.is_missing() || open == close {
            return false;
        }
        let statements = statements_of(block);
        let error_range = error.byte_range();
        let crossed = statements
            .iter()
            .filter(|(first, last)| {
                first.start_byte() < error_range.end && last.end_byte() > error_range.start
            })
            .count();
        if crossed < 2 {
            return false;
        }
        let broken: Vec<std::ops::Range<usize>> = {
            let mut cursor = block.walk();
            block
                .children(&mut cursor)
                .filter(|child| child.has_error() || child.is_error() || child.is_missing())
                .map(|child| child.byte_range())
                .collect()
        };
        let mut parser = new_parser();
        let mut found = Vec::new();
        for (first, last) in &statements {
            let (start, end) = (first.start_byte(), last.end_byte());
            if !broken
                .iter()
                .any(|range| range.start <= end && range.end >= start)
            {
                continue;
            }
            let ranges = [
                ts_range(
                    item.start_byte(),
                    open.end_byte(),
                    item.start_position(),
                    open.end_position(),
                ),
                ts_range(start, end, first.start_position(), last.end_position()),
                ts_range(
                    close.start_byte(),
                    close.end_byte(),
                    close.start_position(),
                    close.end_position(),
                ),
            ];
            if ranges[0].end_byte > ranges[1].start_byte
                || ranges[1].end_byte > ranges[2].start_byte
            {
                return false;
            }
            let Some(errors) = self.errors_alone(&mut parser, &ranges, 0, start..end) else {
                return false;
            };
            found.extend(errors);
        }
        if found.is_empty() {
            return false;
        }
        self.diags.extend(found);
        self.skip_until = block.end_byte();
        true
    }

    /// The syntax errors in `range` of a parse of only the `included`
    /// parts of the text, scanned with `split` (`None` if it cannot be parsed).
    fn errors_alone(
        &self,
        parser: &mut Parser,
        included: &[tree_sitter::Range],
        split: u8,
        range: std::ops::Range<usize>,
    ) -> Option<Vec<Diagnostic>> {
        parser.set_included_ranges(included).ok()?;
        let tree = parser.parse(self.text, None)?;
        let mut alone = Lowerer::new(self.text, split);
        alone.scan(tree.root_node());
        let errors = alone
            .diags
            .into_iter()
            .filter(|diag| diag.span.start >= range.start && diag.span.start <= range.end)
            .collect();
        Some(errors)
    }

    /// [`Self::report_by_statements`] for an `ERROR` node at the top level
    /// that holds several items: each item (from an item keyword at the start
    /// of a line to the next) is parsed alone.
    fn report_by_items(&mut self, error: Node) -> bool {
        let leaves = tokens(vec![error]);
        let mut items: Vec<(Node, Node)> = Vec::new();
        for leaf in leaves {
            let starts_item = is_item_keyword(leaf.kind()) && leaf.start_position().column == 0;
            match items.last_mut() {
                Some(last) if !starts_item => last.1 = leaf,
                _ => items.push((leaf, leaf)),
            }
        }
        if items.len() < 2 {
            return false;
        }
        let mut parser = new_parser();
        let mut found = Vec::new();
        for (first, last) in items {
            let (start, end) = (first.start_byte(), last.end_byte());
            let range = ts_range(start, end, first.start_position(), last.end_position());
            let Some(errors) = self.errors_alone(&mut parser, &[range], 1, start..end) else {
                return false;
            };
            found.extend(errors);
        }
        if found.is_empty() {
            return false;
        }
        self.diags.extend(found);
        self.skip_until = error.end_byte();
        true
    }

    /// Reports an item whose body has no `}` and so swallowed the items
    /// after it (see [`unclosed_body`]): one "unclosed `{`" at the body's
    /// `{`, then the errors of the item up to the first swallowed one and of
    /// the swallowed items, each part parsed alone. False when that does not
    /// apply.
    fn report_unclosed(&mut self, item: Node) -> bool {
        let Some((open, cut)) = unclosed_body(item) else {
            return false;
        };
        let (head, rest) = split_ranges(item, self.text, cut);
        let mut parser = new_parser();
        let Some(head_errors) =
            self.errors_alone(&mut parser, &[head], 1, head.start_byte..head.end_byte)
        else {
            return false;
        };
        let Some(rest_errors) =
            self.errors_alone(&mut parser, &[rest], 2, rest.start_byte..rest.end_byte)
        else {
            return false;
        };
        let line = self
            .text
            .get(..cut)
            .map_or(0, |before| before.matches('\n').count())
            + 1;
        let keyword = self
            .text
            .get(cut..)
            .and_then(|after| after.split_whitespace().next());
        let diag =
            Diagnostic::error(Code::Missing, span_of(open), "unclosed `{`").with_help(format!(
                "its `}}` is expected before the `{}` item on line {line}",
                keyword.unwrap_or("fn")
            ));
        self.diags.push(diag);
        // The head alone ends without its `}`: that is the error above.
        self.diags.extend(
            head_errors
                .into_iter()
                .filter(|diag| !(diag.code == Code::Missing && diag.span.start >= head.end_byte)),
        );
        self.diags.extend(rest_errors);
        true
    }

    fn report_missing(&mut self, node: Node, field: Option<&str>) {
        let kind = node.kind();
        let what = if !node.is_named() {
            format!("`{kind}`")
        } else {
            match kind {
                "identifier" if field.is_some_and(|f| EXPR_FIELDS.contains(&f)) => {
                    "an expression".to_string()
                }
                "identifier" => "a name".to_string(),
                "type_identifier" => "a type".to_string(),
                "integer_literal" => "an integer".to_string(),
                "block" => "a block `{ ... }`".to_string(),
                other => other.replace('_', " "),
            }
        };
        let at = node.start_byte();
        let diag = Diagnostic::error(Code::Missing, Span::new(at, at), format!("missing {what}"));
        self.diags.push(diag);
    }

    /// Reports one `ERROR` node (its inner errors are part of it).
    fn report_error(&mut self, node: Node) {
        // A character the lexer does not know, or an unterminated string,
        // shows as a childless ERROR node inside: that is the culprit.
        if let Some(lexical) = lexical_error(node) {
            let text = self.text_of(lexical);
            let span = span_of(lexical);
            if text.starts_with('"') {
                let end = text.find('\n').map_or(span.end, |nl| span.start + nl);
                self.error(
                    Code::Syntax,
                    Span::new(span.start, end),
                    "unterminated string literal",
                );
            } else {
                let shown = shorten(text);
                self.error(Code::Syntax, span, format!("unexpected `{shown}`"));
            }
            return;
        }
        let Some(leaf) = first_leaf(node) else {
            let span = span_of(node);
            if !span.is_empty() {
                let shown = shorten(self.text_of(node));
                self.error(Code::Syntax, span, format!("unexpected `{shown}`"));
            }
            return;
        };
        let rest = self.text.get(node.end_byte()..).unwrap_or("");
        let at_eof = rest.trim().is_empty();
        if at_eof && unclosed(self.text_of(node)) {
            let what = if is_item_keyword(leaf.kind()) {
                format!(
                    "unexpected end of file: the `{}` item is incomplete",
                    leaf.kind()
                )
            } else {
                "unexpected end of file: a bracket is not closed".to_string()
            };
            self.error(Code::Syntax, span_of(node), what);
            return;
        }
        let top_level = node
            .parent()
            .is_none_or(|parent| parent.kind() == "source_file");
        if let Some(form) = item_form(leaf.kind()).filter(|_| top_level) {
            let diag = Diagnostic::error(
                Code::Syntax,
                span_of(leaf),
                format!("this `{}` item does not parse", leaf.kind()),
            )
            .with_help(format!("it is written `{form}`"));
            self.diags.push(diag);
            return;
        }
        // The parse states below are read from a parse of the item alone:
        // an incremental parse leaves in its tree the states of the parse
        // that first made a reused subtree, so the editor's tree and a fresh
        // one of the same shape may hold different states.
        let states = self.fresh_states(node);
        let states = states.as_ref().map(Tree::root_node);
        // A statement that began well and broke further on: the culprit is
        // the first token its parser state did not accept, not the keyword.
        let leaf = if STATEMENT_KEYWORDS.contains(&leaf.kind()) {
            self.first_refused(node, states).unwrap_or(leaf)
        } else {
            leaf
        };
        let shown = shorten(self.text_of(leaf));
        let mut message = format!("unexpected `{shown}`");
        if !is_expression_start(leaf.kind())
            && state_of(leaf, states).is_some_and(|state| self.expects_expression(state))
        {
            message.push_str(", expected an expression");
        }
        let mut diag = Diagnostic::error(Code::Syntax, span_of(leaf), message);
        // Something complete, then a new line the parser did not expect: a
        // forgotten `;` more often than not.
        let next_line = next_token_start(node).is_some_and(|next| {
            self.text
                .get(node.end_byte()..next)
                .is_some_and(|gap| gap.contains('\n'))
        });
        if next_line && is_expression_start(leaf.kind()) {
            diag = diag.with_help("is a `;` missing at the end of this line?");
        }
        self.diags.push(diag);
    }

    /// A parse, with a new parser, of the top-level item (or top-level
    /// `ERROR` node) holding `node` alone, through an included range, to read
    /// parse states from; `None` when the tree being lowered is such a parse
    /// already (a statement's or an item's own parse) or it cannot be made.
    fn fresh_states(&self, node: Node) -> Option<Tree> {
        if self.split < 2 {
            return None;
        }
        let top = if node
            .parent()
            .is_none_or(|parent| parent.kind() == "source_file")
        {
            node
        } else {
            ancestor(node, |candidate| {
                candidate
                    .parent()
                    .is_some_and(|parent| parent.kind() == "source_file")
            })?
        };
        let range = ts_range(
            top.start_byte(),
            top.end_byte(),
            top.start_position(),
            top.end_position(),
        );
        let mut parser = new_parser();
        parser.set_included_ranges(&[range]).ok()?;
        parser.parse(self.text, None)
    }

    /// The first token of `node` that the parser state it was read in does
    /// not accept (the states read in `states` when given).
    fn first_refused<'tree>(&self, node: Node<'tree>, states: Option<Node>) -> Option<Node<'tree>> {
        let mut cursor = node.walk();
        let mut stack: Vec<Node> = node.children(&mut cursor).collect();
        stack.reverse();
        while let Some(current) = stack.pop() {
            if current.is_missing() || current.is_extra() || current.is_error() {
                continue;
            }
            if current.child_count() > 0 {
                let mut cursor = current.walk();
                let children: Vec<Node> = current.children(&mut cursor).collect();
                stack.extend(children.into_iter().rev());
                continue;
            }
            let Some(state) = state_of(current, states) else {
                continue;
            };
            let Some(mut lookahead) = self.language.lookahead_iterator(state) else {
                continue;
            };
            if state != 0 && !lookahead.iter_names().any(|name| name == current.kind()) {
                return Some(current);
            }
        }
        None
    }

    fn expects_expression(&self, state: u16) -> bool {
        let Some(mut lookahead) = self.language.lookahead_iterator(state) else {
            return false;
        };
        let found = lookahead.iter_names().any(|name| name == "_expression");
        found
    }

    // ------------------------------------------------------------- docs

    /// The `///` comments right before `start` (after `after`), joined.
    fn item_doc(&self, after: usize, start: usize) -> Option<String> {
        let mut lines: Vec<&str> = Vec::new();
        let mut next = start;
        for (span, text) in self.docs.iter().rev() {
            if span.end > next {
                continue;
            }
            if span.start < after {
                break;
            }
            let between = self.text.get(span.end..next).unwrap_or("x");
            if !between.trim().is_empty() {
                break;
            }
            lines.push(text);
            next = span.start;
        }
        if lines.is_empty() {
            return None;
        }
        lines.reverse();
        Some(lines.join("\n"))
    }

    /// The `//!` comments before the first item, joined.
    fn file_doc(&self, items: &[Arc<Item>]) -> Option<String> {
        let limit = items
            .first()
            .map_or(self.text.len(), |item| item.span.start);
        let lines: Vec<&str> = self
            .inner_docs
            .iter()
            .filter(|(span, _)| span.end <= limit)
            .map(|(_, text)| text.as_str())
            .collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    // ------------------------------------------------------------ items

    /// Lowers the items among the children of `node`, looking into `ERROR`
    /// nodes for items that did parse.
    fn items_in(&mut self, node: Node, items: &mut Vec<Arc<Item>>) {
        if node.is_error() && node.child_count() == 0 {
            return;
        }
        if !self.enter(span_of(node)) {
            return;
        }
        let children: Vec<Node> = {
            let mut cursor = node.walk();
            node.children(&mut cursor).collect()
        };
        let top_level = !node.is_error();
        for child in children {
            if child.is_error() {
                self.items_in(child, items);
            } else if ITEM_KINDS.contains(&child.kind()) && !child.is_missing() {
                self.lower_item(child, top_level, items);
            }
        }
        self.leave(1);
    }

    /// Lowers one item and notes what it holds. An item whose body has no
    /// `}` and swallowed the items after it is lowered as the parts that
    /// [`Self::report_unclosed`] diagnoses: the item up to the first
    /// swallowed one, then the swallowed items, each part parsed alone.
    fn lower_item(&mut self, node: Node, top_level: bool, items: &mut Vec<Arc<Item>>) {
        if let Some((_, cut)) = unclosed_body(node) {
            let (head, rest) = split_ranges(node, self.text, cut);
            let mut parser = new_parser();
            if parser.set_included_ranges(&[head]).is_ok() {
                if let Some(tree) = parser.parse(self.text, None) {
                    let mut cursor = tree.root_node().walk();
                    let heads: Vec<Node> = tree
                        .root_node()
                        .children(&mut cursor)
                        .filter(|child| ITEM_KINDS.contains(&child.kind()) && !child.is_missing())
                        .collect();
                    if let [head_item] = heads.as_slice() {
                        self.lower_one(*head_item, false, items);
                        if parser.set_included_ranges(&[rest]).is_ok() {
                            if let Some(tree) = parser.parse(self.text, None) {
                                self.items_in(tree.root_node(), items);
                                // Parts of a split item are never reused.
                                return;
                            }
                        }
                        return;
                    }
                }
            }
        }
        self.lower_one(node, top_level, items);
    }

    /// [`Self::lower_item`] for an item lowered as it is.
    fn lower_one(&mut self, node: Node, top_level: bool, items: &mut Vec<Arc<Item>>) {
        let after = items.last().map_or(0, |item| item.span.end);
        let (exprs, bindings, diags) = (self.next_expr, self.next_binding, self.diags.len());
        let deep = self.depth_reported;
        let item = self.item(node, after);
        self.memo.push(ItemMemo {
            region: after,
            exprs: exprs..self.next_expr,
            bindings: bindings..self.next_binding,
            diags: self.diags.get(diags..).unwrap_or_default().to_vec(),
            reusable: top_level && !node.has_error() && deep == self.depth_reported,
            origin: None,
        });
        items.push(Arc::new(item));
    }

    /// Lowers the top-level items of `root`, sharing with `old` (lowered
    /// from `old_text`) the items whose text, doc comments and the blank
    /// before them included, did not change: those before the first change
    /// as they are, those after the last one moved and renumbered. `false`
    /// (nothing done) when the file has an error at the top level or the
    /// old lowering cannot be reused.
    fn reuse_items(
        &mut self,
        root: Node,
        old_text: &str,
        old: &Parsed,
        items: &mut Vec<Arc<Item>>,
    ) -> bool {
        let olds = &old.file.items;
        let memos = old.memo.items();
        if root.is_error() || memos.len() != olds.len() || !old.memo.is_reusable() {
            return false;
        }
        let mut nodes = Vec::new();
        let mut cursor = root.walk();
        for child in root.children(&mut cursor) {
            if child.is_error() {
                return false;
            }
            if ITEM_KINDS.contains(&child.kind()) && !child.is_missing() {
                nodes.push(child);
            }
        }
        let text = self.text;
        let region = |idx: usize| {
            let start = match idx {
                0 => 0,
                _ => nodes[idx - 1].end_byte(),
            };
            text.get(start..nodes[idx].end_byte())
        };
        let same = |new: usize, old: usize| {
            memos[old].reusable
                && !nodes[new].has_error()
                && region(new).is_some_and(|region| {
                    old_text.get(memos[old].region..olds[old].span.end) == Some(region)
                })
        };
        let (n, m) = (nodes.len(), olds.len());
        let mut prefix = 0;
        while prefix < n.min(m) && same(prefix, prefix) {
            prefix += 1;
        }
        let mut suffix = 0;
        while suffix < (n - prefix).min(m - prefix) && same(n - 1 - suffix, m - 1 - suffix) {
            suffix += 1;
        }
        if !self.enter(span_of(root)) {
            return false;
        }
        for idx in 0..prefix {
            self.keep(idx, &olds[idx], &memos[idx], Shift::NONE, items);
        }
        for node in &nodes[prefix..n - suffix] {
            self.lower_item(*node, true, items);
        }
        for idx in m - suffix..m {
            let memo = &memos[idx];
            let new_end = nodes[n + idx - m].end_byte();
            let shift = Shift {
                bytes: new_end as isize - olds[idx].span.end as isize,
                exprs: i64::from(self.next_expr) - i64::from(memo.exprs.start),
                bindings: i64::from(self.next_binding) - i64::from(memo.bindings.start),
            };
            self.keep(idx, &olds[idx], memo, shift, items);
        }
        self.leave(1);
        true
    }

    /// Takes an item of the last lowering, moved by `shift`.
    fn keep(
        &mut self,
        idx: usize,
        item: &Arc<Item>,
        memo: &ItemMemo,
        shift: Shift,
        items: &mut Vec<Arc<Item>>,
    ) {
        let mut memo = shift.memo(memo);
        memo.origin = Some((idx, shift));
        self.next_expr = memo.exprs.end;
        self.next_binding = memo.bindings.end;
        self.diags.extend(memo.diags.iter().cloned());
        items.push(shift.item(item));
        self.memo.push(memo);
    }

    fn item(&mut self, node: Node, after: usize) -> Item {
        let name = self.ident_field(node, "name");
        let doc = self.item_doc(after, node.start_byte());
        let kind = match node.kind() {
            "param_item" => {
                let ty = self.type_field(node, "type");
                let default = self.expr_field(node, "default");
                let range = node.field("range").map(|range| {
                    let min = self.expr_field(range, "min");
                    let max = self.expr_field(range, "max");
                    (min, max)
                });
                ItemKind::Param(ParamItem { ty, default, range })
            }
            "pipeline_item" => {
                let mut stages = Vec::new();
                for stage in field_children(node, "stage") {
                    stages.push(self.stage(stage));
                }
                ItemKind::Pipeline(PipelineItem { stages })
            }
            kind => {
                let is_filter = kind == "filter_item";
                let params = self.params(node);
                let ret = match node.field("return_type") {
                    Some(ty) => Some(self.type_node(ty)),
                    None if is_filter => {
                        Some(TypeExpr::Error(Span::new(node.end_byte(), node.end_byte())))
                    }
                    None => None,
                };
                let body = self.body_field(node);
                ItemKind::Function(FnItem {
                    is_filter,
                    params,
                    ret,
                    body,
                })
            }
        };
        Item {
            name,
            doc,
            span: span_of(node),
            kind,
        }
    }

    fn stage(&mut self, node: Node) -> Stage {
        let name = self.ident_field(node, "name");
        let mut args = Vec::new();
        if let Some(arguments) = node.field("arguments") {
            for arg in named_children(arguments) {
                if arg.kind() != "named_argument" {
                    continue;
                }
                let name = self.ident_field(arg, "name");
                let value = self.expr_field(arg, "value");
                args.push((name, value));
            }
        }
        Stage {
            name,
            args,
            span: span_of(node),
        }
    }

    fn params(&mut self, node: Node) -> Vec<Param> {
        let Some(parameters) = node.field("parameters") else {
            return Vec::new();
        };
        let mut params = Vec::new();
        for param in named_children(parameters) {
            if param.kind() != "parameter" {
                continue;
            }
            let binding = self.binding(param, "name");
            let ty = self.type_field(param, "type");
            params.push(Param {
                binding,
                ty,
                span: span_of(param),
            });
        }
        params
    }

    fn body_field(&mut self, node: Node) -> Block {
        match node.field("body") {
            Some(body) if body.kind() == "block" && !body.is_missing() => self.block(body),
            _ => {
                // No body: a syntax error already; an error value keeps the checker quiet.
                let at = Span::new(node.end_byte(), node.end_byte());
                let value = self.error_expr(at);
                Block {
                    stmts: Vec::new(),
                    value: Some(Box::new(value)),
                    span: at,
                }
            }
        }
    }

    // ------------------------------------------------------------ names

    fn ident_field(&self, node: Node, field: &str) -> Ident {
        match node.field(field) {
            Some(child) if !child.is_missing() && !child.is_error() => Ident {
                name: self.text_of(child).to_string(),
                span: span_of(child),
            },
            Some(child) => Ident {
                name: String::new(),
                span: Span::new(child.start_byte(), child.start_byte()),
            },
            None => Ident {
                name: String::new(),
                span: Span::new(node.end_byte(), node.end_byte()),
            },
        }
    }

    fn binding(&mut self, node: Node, field: &str) -> Binding {
        let name = self.ident_field(node, field);
        let id = BindingId(self.next_binding);
        self.next_binding += 1;
        Binding { id, name }
    }

    // ------------------------------------------------------------ types

    fn type_field(&mut self, node: Node, field: &str) -> TypeExpr {
        match node.field(field) {
            Some(child) => self.type_node(child),
            None => TypeExpr::Error(Span::new(node.end_byte(), node.end_byte())),
        }
    }

    fn type_node(&mut self, node: Node) -> TypeExpr {
        let span = span_of(node);
        if node.is_missing() || node.is_error() {
            return TypeExpr::Error(span);
        }
        if !self.enter(span) {
            return TypeExpr::Error(span);
        }
        let ty = match node.kind() {
            "type_identifier" | "identifier" => TypeExpr::Named(Ident {
                name: self.text_of(node).to_string(),
                span,
            }),
            "array_type" => {
                let element = self.type_field(node, "element");
                let length = match node.field("length") {
                    Some(length) if !length.is_missing() && length.kind() == "integer_literal" => {
                        self.int_literal(length)
                    }
                    _ => None,
                };
                TypeExpr::Array(Box::new(element), length, span)
            }
            "function_type" => {
                let mut params = Vec::new();
                if let Some(list) = node.field("parameters") {
                    for param in named_children(list) {
                        params.push(self.type_node(param));
                    }
                }
                let ret = node
                    .field("return_type")
                    .map(|ret| Box::new(self.type_node(ret)));
                TypeExpr::Fn(params, ret, span)
            }
            _ => TypeExpr::Error(span),
        };
        self.leave(1);
        ty
    }

    // ------------------------------------------------------------ blocks

    /// Enters one level of nesting; false (and an error, once) when too deep.
    fn enter(&mut self, span: Span) -> bool {
        self.enter_cost(span, 1)
    }

    fn leave(&mut self, cost: u32) {
        self.depth = self.depth.saturating_sub(cost);
    }

    fn enter_cost(&mut self, span: Span, cost: u32) -> bool {
        if self.depth + cost > MAX_DEPTH {
            if !self.depth_reported {
                self.depth_reported = true;
                self.error(Code::Syntax, span, "the code is nested too deeply");
            }
            return false;
        }
        self.depth += cost;
        true
    }

    fn block(&mut self, node: Node) -> Block {
        let span = span_of(node);
        if !self.enter_cost(span, BLOCK_COST) {
            let value = self.error_expr(span);
            return Block {
                stmts: Vec::new(),
                value: Some(Box::new(value)),
                span,
            };
        }
        let has_value = node.field("value").is_some();
        let mut stmts = Vec::new();
        let mut value = None;
        let mut cursor = node.walk();
        let mut children = Vec::new();
        if cursor.goto_first_child() {
            loop {
                children.push((cursor.node(), cursor.field_name() == Some("value")));
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
        }
        // A value followed by text that did not parse is the start of
        // something unfinished (`print("abc);`): not a value to check.
        let before_error: Vec<bool> = (0..children.len())
            .map(|idx| {
                children
                    .iter()
                    .skip(idx + 1)
                    .find(|(next, _)| !next.is_extra() || next.is_error())
                    .is_some_and(|(next, _)| next.is_error())
            })
            .collect();
        for ((child, is_value), before_error) in children.into_iter().zip(before_error) {
            let lowered = stmts.len();
            let swallowing = child.is_error() || (!is_value && shallow_error(child));
            if child.is_error() {
                self.stmts_in_error(child, &mut stmts);
                if !has_value && value.is_none() {
                    // Whatever did not parse may have been the block's value:
                    // an error value keeps the checker from guessing.
                    value = Some(Box::new(self.error_expr(span_of(child))));
                }
            } else if is_value && (before_error || shallow_error(child)) {
                value = Some(Box::new(self.error_expr(span_of(child))));
            } else if is_value {
                value = Some(Box::new(self.expr(child)));
            } else if child.is_extra() || child.is_missing() {
                continue;
            } else if STMT_KINDS.contains(&child.kind()) {
                if let Some(stmt) = self.stmt(child) {
                    stmts.push(stmt);
                }
            }
            if swallowing {
                self.bind_swallowed(child, lowered, &mut stmts);
            }
        }
        // A block whose `}` is missing is unfinished: an error value keeps the
        // checker from asking for a value it may be about to get.
        let closed = node
            .child(node.child_count().saturating_sub(1))
            .is_some_and(|last| last.kind() == "}" && !last.is_missing());
        if !closed && value.is_none() {
            value = Some(Box::new(self.error_expr(Span::new(span.end, span.end))));
        }
        self.leave(BLOCK_COST);
        Block { stmts, value, span }
    }

    /// Binds the names that the statements `node` swallowed plainly declare
    /// (`let NAME` or `var NAME` starting a statement, outside nested
    /// blocks), with an error value, when the statements lowered from it
    /// (`stmts[lowered..]`) do not: a later use of the name then reports
    /// nothing more than the mistake that broke the statement.
    fn bind_swallowed(&mut self, node: Node, lowered: usize, stmts: &mut Vec<Stmt>) {
        let leaves = tokens(vec![node]);
        let mut depth = 0i32;
        let mut found = Vec::new();
        for (idx, leaf) in leaves.iter().enumerate() {
            match leaf.kind() {
                "{" => depth += 1,
                "}" => depth -= 1,
                "let" | "var" if depth == 0 => {
                    if let Some(name) = leaves
                        .get(idx + 1)
                        .filter(|name| name.kind() == "identifier")
                    {
                        found.push((*leaf, *name));
                    }
                }
                _ => {}
            }
        }
        for (keyword, name) in found {
            let bound = stmts.get(lowered..).unwrap_or_default().iter().any(|stmt| {
                matches!(&stmt.kind, StmtKind::Let { binding, .. } if binding.name.span == span_of(name))
            });
            if bound || node.field("name") == Some(name) {
                continue;
            }
            let span = Span::new(keyword.start_byte(), name.end_byte());
            let binding = Binding {
                id: BindingId(self.next_binding),
                name: Ident {
                    name: self.text_of(name).to_string(),
                    span: span_of(name),
                },
            };
            self.next_binding += 1;
            let kind = StmtKind::Let {
                binding,
                mutable: keyword.kind() == "var",
                ty: None,
                value: self.error_expr(span),
            };
            stmts.push(Stmt { kind, span });
        }
    }

    fn stmts_in_error(&mut self, node: Node, stmts: &mut Vec<Stmt>) {
        if !self.enter(span_of(node)) {
            return;
        }
        for child in named_children_all(node) {
            if child.is_error() {
                self.stmts_in_error(child, stmts);
            } else if STMT_KINDS.contains(&child.kind()) && !child.is_missing() {
                if let Some(stmt) = self.stmt(child) {
                    stmts.push(stmt);
                }
            }
        }
        self.leave(1);
    }

    fn stmt(&mut self, node: Node) -> Option<Stmt> {
        let span = span_of(node);
        // Text that did not parse inside a simple statement makes the
        // parser's guess at its parts unreliable (`let x = ; f();` parses as
        // `let x = f();`): its value becomes an error node.
        let broken =
            !matches!(node.kind(), "while_statement" | "for_statement") && shallow_error(node);
        if broken {
            return Some(self.broken_stmt(node, span));
        }
        // A tail `match` of calls: each writes straight into the result.
        match node.kind() {
            "let_statement" | "var_statement" => self.let_stmt(node, span),
            "assignment_statement" => self.assign_stmt(node, span),
            "compound_assignment_statement" => self.compound_stmt(node, span),
            "expression_statement" => self.expr_stmt(node, span),
            "return_statement" => self.return_stmt(node, span),
            "break_statement" => Some(Stmt {
                kind: StmtKind::Break,
                span,
            }),
            "continue_statement" => Some(Stmt {
                kind: StmtKind::Continue,
                span,
            }),
            "while_statement" => self.while_stmt(node, span),
            "for_statement" => self.for_stmt(node, span),
            _ => None,
        }
    }

    /// A statement holding text that did not parse: its value is an error node.
    fn broken_stmt(&mut self, node: Node, span: Span) -> Stmt {
        let kind = match node.kind() {
            "let_statement" | "var_statement" => {
                let binding = self.binding(node, "name");
                let ty = node.field("type").map(|ty| self.type_node(ty));
                StmtKind::Let {
                    binding,
                    mutable: node.kind() == "var_statement",
                    ty,
                    value: self.error_expr(span),
                }
            }
            "break_statement" => StmtKind::Break,
            "continue_statement" => StmtKind::Continue,
            _ => StmtKind::Expr(self.error_expr(span)),
        };
        Stmt { kind, span }
    }

    fn let_stmt(&mut self, node: Node, span: Span) -> Option<Stmt> {
        let binding = self.binding(node, "name");
        let ty = node.field("type").map(|ty| self.type_node(ty));
        let value = self.expr_field(node, "value");
        let kind = StmtKind::Let {
            binding,
            mutable: node.kind() == "var_statement",
            ty,
            value,
        };
        Some(Stmt { kind, span })
    }

    fn assign_stmt(&mut self, node: Node, span: Span) -> Option<Stmt> {
        let target = self.expr_field(node, "left");
        let value = self.expr_field(node, "right");
        let kind = StmtKind::Assign {
            target,
            op: None,
            value,
        };
        Some(Stmt { kind, span })
    }

    fn compound_stmt(&mut self, node: Node, span: Span) -> Option<Stmt> {
        let target = self.expr_field(node, "left");
        let op = node
            .field("operator")
            .map(|op| self.text_of(op))
            .and_then(|op| BinOp::parse(op.trim_end_matches('=')));
        let value = self.expr_field(node, "right");
        let kind = match op {
            Some(op) => StmtKind::Assign {
                target,
                op: Some(op),
                value,
            },
            None => StmtKind::Expr(self.error_expr(span)),
        };
        Some(Stmt { kind, span })
    }

    fn expr_stmt(&mut self, node: Node, span: Span) -> Option<Stmt> {
        let inner = named_children(node).into_iter().next()?;
        let kind = StmtKind::Expr(self.expr(inner));
        Some(Stmt { kind, span })
    }

    fn return_stmt(&mut self, node: Node, span: Span) -> Option<Stmt> {
        let value = node.field("value").map(|value| self.expr(value));
        let kind = StmtKind::Return(value);
        Some(Stmt { kind, span })
    }

    fn while_stmt(&mut self, node: Node, span: Span) -> Option<Stmt> {
        let cond = self.expr_field(node, "condition");
        let body = self.block_field(node, "body");
        let kind = StmtKind::While { cond, body };
        Some(Stmt { kind, span })
    }

    fn for_stmt(&mut self, node: Node, span: Span) -> Option<Stmt> {
        let binding = self.binding(node, "variable");
        let start = self.expr_field(node, "start");
        let end = self.expr_field(node, "end");
        let body = self.block_field(node, "body");
        let kind = StmtKind::For {
            binding,
            start,
            end,
            body,
        };
        Some(Stmt { kind, span })
    }

    fn block_field(&mut self, node: Node, field: &str) -> Block {
        match node.field(field) {
            Some(block) if block.kind() == "block" && !block.is_missing() => self.block(block),
            _ => {
                let at = Span::new(node.end_byte(), node.end_byte());
                Block {
                    stmts: Vec::new(),
                    value: None,
                    span: at,
                }
            }
        }
    }

    // ------------------------------------------------------------ expressions

    fn alloc(&mut self) -> ExprId {
        let id = ExprId(self.next_expr);
        self.next_expr += 1;
        id
    }

    fn error_expr(&mut self, span: Span) -> Expr {
        Expr {
            id: self.alloc(),
            kind: ExprKind::Error,
            span,
        }
    }

    fn expr_field(&mut self, node: Node, field: &str) -> Expr {
        match node.field(field) {
            Some(child) => self.expr(child),
            None => {
                let at = Span::new(node.end_byte(), node.end_byte());
                self.error_expr(at)
            }
        }
    }

    fn expr(&mut self, node: Node) -> Expr {
        let span = span_of(node);
        if node.is_missing() || node.is_error() {
            return self.error_expr(span);
        }
        if node.kind() == "parenthesized_expression" {
            let Some(inner) = named_children(node).into_iter().next() else {
                return self.error_expr(span);
            };
            if !self.enter(span) {
                return self.error_expr(span);
            }
            let mut expr = self.expr(inner);
            self.leave(1);
            expr.span = span;
            return expr;
        }
        if !self.enter(span) {
            return self.error_expr(span);
        }
        let id = self.alloc();
        let kind = self.expr_kind(node, span);
        self.leave(1);
        Expr { id, kind, span }
    }

    // Each kind of expression has its own function: in debug builds one big
    // function would need a stack frame as large as all of them together at
    // every level of nesting.
    fn expr_kind(&mut self, node: Node, span: Span) -> ExprKind {
        match node.kind() {
            "identifier" => ExprKind::Name(self.text_of(node).to_string()),
            "integer_literal" => self.integer(node),
            "float_literal" => self.float(node, span),
            "boolean_literal" => ExprKind::Bool(self.text_of(node) == "true"),
            "string_literal" => ExprKind::Str(self.string(node)),
            "binary_expression" => self.binary(node),
            "unary_expression" => self.unary(node, span),
            "call_expression" => self.call(node),
            "field_expression" => self.field(node),
            "index_expression" => self.index(node),
            "array_expression" => self.array(node),
            "array_repeat_expression" => self.array_repeat(node),
            "closure_expression" => self.closure(node),
            "if_expression" => self.if_expr(node),
            "block" => self.block_expr(node),
            _ => ExprKind::Error,
        }
    }

    fn integer(&mut self, node: Node) -> ExprKind {
        match self.int_literal(node) {
            Some(value) => ExprKind::Int(value),
            None => ExprKind::Error,
        }
    }

    /// The value of an integer literal (an error when it does not fit an `int`).
    fn int_literal(&mut self, node: Node) -> Option<i64> {
        let value = self.text_of(node).parse::<i64>().ok();
        if value.is_none() {
            let diag = Diagnostic::error(Code::Syntax, span_of(node), "integer literal too large")
                .with_help(format!("the largest int is {}", i64::MAX));
            self.diags.push(diag);
        }
        value
    }

    fn float(&mut self, node: Node, span: Span) -> ExprKind {
        match self.text_of(node).parse::<f64>() {
            Ok(value) if value.is_finite() => ExprKind::Float(value),
            Ok(_) => {
                let diag = Diagnostic::error(Code::Syntax, span, "float literal is too large")
                    .with_help(format!("the largest float is about {:e}", f64::MAX));
                self.diags.push(diag);
                ExprKind::Error
            }
            Err(_) => {
                self.error(Code::Syntax, span, "invalid float literal");
                ExprKind::Error
            }
        }
    }

    fn binary(&mut self, node: Node) -> ExprKind {
        let op = node
            .field("operator")
            .and_then(|op| BinOp::parse(self.text_of(op)));
        let left = Box::new(self.expr_field(node, "left"));
        let right = Box::new(self.expr_field(node, "right"));
        match op {
            Some(op) => ExprKind::Binary(op, left, right),
            None => ExprKind::Error,
        }
    }

    fn unary(&mut self, node: Node, span: Span) -> ExprKind {
        let op = match node.field("operator").map(|op| self.text_of(op)) {
            Some("-") => Some(UnOp::Neg),
            Some("!") => Some(UnOp::Not),
            _ => None,
        };
        let operand = node.field("operand");
        // `-9223372036854775808` is the one literal whose digits alone overflow.
        if op == Some(UnOp::Neg) {
            if let Some(operand) = operand {
                if operand.kind() == "integer_literal"
                    && self.text_of(operand).trim_start_matches('0') == "9223372036854775808"
                {
                    return ExprKind::Int(i64::MIN);
                }
            }
        }
        let operand = Box::new(match operand {
            Some(operand) => self.expr(operand),
            None => self.error_expr(Span::new(span.end, span.end)),
        });
        match op {
            Some(op) => ExprKind::Unary(op, operand),
            None => ExprKind::Error,
        }
    }

    fn call(&mut self, node: Node) -> ExprKind {
        let callee = Box::new(self.expr_field(node, "function"));
        let mut args = Vec::new();
        if let Some(arguments) = node.field("arguments") {
            for arg in named_children(arguments) {
                args.push(self.expr(arg));
            }
        }
        ExprKind::Call(callee, args)
    }

    fn field(&mut self, node: Node) -> ExprKind {
        let value = Box::new(self.expr_field(node, "value"));
        let field = self.ident_field(node, "field");
        ExprKind::Field(value, field)
    }

    fn index(&mut self, node: Node) -> ExprKind {
        let value = Box::new(self.expr_field(node, "value"));
        let index = Box::new(self.expr_field(node, "index"));
        ExprKind::Index(value, index)
    }

    fn array(&mut self, node: Node) -> ExprKind {
        let mut elements = Vec::new();
        for element in named_children(node) {
            elements.push(self.expr(element));
        }
        ExprKind::Array(elements)
    }

    fn array_repeat(&mut self, node: Node) -> ExprKind {
        let value = Box::new(self.expr_field(node, "value"));
        let length = Box::new(self.expr_field(node, "length"));
        ExprKind::ArrayRepeat(value, length)
    }

    fn closure(&mut self, node: Node) -> ExprKind {
        let params = self.params(node);
        let ret = node.field("return_type").map(|ret| self.type_node(ret));
        let body = self.block_field(node, "body");
        ExprKind::Closure(Box::new(Closure { params, ret, body }))
    }

    fn if_expr(&mut self, node: Node) -> ExprKind {
        let cond = Box::new(self.expr_field(node, "condition"));
        let then = self.block_field(node, "consequence");
        let otherwise = node
            .field("alternative")
            .map(|alt| Box::new(self.expr(alt)));
        ExprKind::If(cond, then, otherwise)
    }

    fn block_expr(&mut self, node: Node) -> ExprKind {
        ExprKind::Block(self.block(node))
    }

    /// The value of a string literal, escapes resolved (unknown ones reported and kept).
    fn string(&mut self, node: Node) -> String {
        let raw = self.text_of(node);
        let start = node.start_byte();
        let inner = raw
            .strip_prefix('"')
            .map(|rest| rest.strip_suffix('"').unwrap_or(rest))
            .unwrap_or(raw);
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.char_indices();
        while let Some((idx, ch)) = chars.next() {
            if ch != '\\' {
                out.push(ch);
                continue;
            }
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((next_idx, other)) => {
                    let at = start + 1 + idx;
                    let end = start + 1 + next_idx + other.len_utf8();
                    self.diags.push(
                        Diagnostic::error(
                            Code::Syntax,
                            Span::new(at, end),
                            format!("unknown escape `\\{other}`"),
                        )
                        .with_help("the escapes are `\\\"`, `\\\\`, `\\n` and `\\t`"),
                    );
                    out.push(other);
                }
                None => out.push('\\'),
            }
        }
        out
    }
}

/// Whether `node` holds an `ERROR` node outside its blocks (a block keeps
/// its errors to itself).
fn shallow_error(node: Node) -> bool {
    if !node.has_error() {
        return false;
    }
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        let mut cursor = current.walk();
        for child in current.children(&mut cursor) {
            if child.is_error() {
                return true;
            }
            if child.kind() != "block" && child.has_error() {
                stack.push(child);
            }
        }
    }
    false
}

/// For a function or filter whose body has no `}` of its own and swallowed
/// the items after it: the body's `{` and where the first swallowed item
/// starts (an item keyword at the start of a line inside the body). A body
/// without syntax errors is never split.
fn unclosed_body(item: Node) -> Option<(Node, usize)> {
    if !matches!(item.kind(), "function_item" | "filter_item") {
        return None;
    }
    let body = item.field("body").filter(|body| body.kind() == "block")?;
    if !body.has_error() {
        return None;
    }
    let open = body.child(0).filter(|open| open.kind() == "{")?;
    let mut cursor = body.walk();
    let inside: Vec<Node> = body.children(&mut cursor).skip(1).collect();
    let cut = tokens(inside).into_iter().find(|leaf| {
        is_item_keyword(leaf.kind()) && leaf.start_position().column == 0 && !leaf.is_error()
    })?;
    Some((open, cut.start_byte()))
}

/// The included ranges of an item split at `cut` by [`unclosed_body`]: the
/// item up to the end of its last token before `cut`, and from `cut` to the
/// item's end.
fn split_ranges(item: Node, text: &str, cut: usize) -> (tree_sitter::Range, tree_sitter::Range) {
    let before = text.get(item.start_byte()..cut).unwrap_or("");
    let head_end = item.start_byte() + before.trim_end().len();
    let point = |at: usize| {
        let upto = text.get(..at).unwrap_or("");
        point_after(tree_sitter::Point::new(0, 0), upto)
    };
    (
        ts_range(
            item.start_byte(),
            head_end,
            item.start_position(),
            point(head_end),
        ),
        ts_range(cut, item.end_byte(), point(cut), item.end_position()),
    )
}

/// The parse state of the token `leaf`: its own, or when `states` (the root
/// of another parse of the same text) is given, that of the same token there
/// (`None` if that parse did not read the same token).
fn state_of(leaf: Node, states: Option<Node>) -> Option<u16> {
    let Some(root) = states else {
        return Some(leaf.parse_state());
    };
    let twin = root.descendant_for_byte_range(leaf.start_byte(), leaf.end_byte())?;
    (twin.byte_range() == leaf.byte_range() && twin.kind_id() == leaf.kind_id())
        .then(|| twin.parse_state())
}

/// The nearest proper ancestor of `node` that satisfies `pred`.
fn ancestor<'tree>(node: Node<'tree>, pred: impl Fn(Node) -> bool) -> Option<Node<'tree>> {
    let mut current = node.parent();
    while let Some(candidate) = current {
        if pred(candidate) {
            return Some(candidate);
        }
        current = candidate.parent();
    }
    None
}

fn ts_range(
    start_byte: usize,
    end_byte: usize,
    start_point: tree_sitter::Point,
    end_point: tree_sitter::Point,
) -> tree_sitter::Range {
    tree_sitter::Range {
        start_byte,
        end_byte,
        start_point,
        end_point,
    }
}

/// The tokens of `nodes`, in order: their non-empty leaves, comments and
/// missing tokens left out, lexical errors kept.
fn tokens(mut nodes: Vec<Node>) -> Vec<Node> {
    let mut leaves = Vec::new();
    nodes.reverse();
    while let Some(node) = nodes.pop() {
        if node.is_missing() || (node.is_extra() && !node.is_error()) {
            continue;
        }
        if node.child_count() == 0 {
            if node.end_byte() > node.start_byte() {
                leaves.push(node);
            }
            continue;
        }
        let mut cursor = node.walk();
        let children: Vec<Node> = node.children(&mut cursor).collect();
        nodes.extend(children.into_iter().rev());
    }
    leaves
}

/// Keywords that only ever start a statement.
const STATEMENT_KEYWORDS: &[&str] = &["let", "var", "return", "while", "for", "break", "continue"];

/// The statements of a block as the tokens say, whatever the parser made of
/// them: the first and last token of each. A statement ends after a `;` and
/// before a statement keyword, both outside any nested `{ }`.
fn statements_of(block: Node) -> Vec<(Node, Node)> {
    let mut cursor = block.walk();
    let mut children: Vec<Node> = block.children(&mut cursor).collect();
    // The block's own braces delimit it; they belong to no statement.
    if children.first().is_some_and(|first| first.kind() == "{") {
        children.remove(0);
    }
    if children.last().is_some_and(|last| last.kind() == "}") {
        children.pop();
    }
    let leaves = tokens(children);
    let mut out = Vec::new();
    let mut current: Option<(Node, Node)> = None;
    let mut depth = 0i32;
    for leaf in leaves {
        let kind = leaf.kind();
        if depth == 0 && STATEMENT_KEYWORDS.contains(&kind) && !leaf.is_error() {
            out.extend(current.take());
        }
        current = Some(match current {
            Some((first, _)) => (first, leaf),
            None => (leaf, leaf),
        });
        match kind {
            "{" => depth += 1,
            "}" => depth = (depth - 1).max(0),
            ";" if depth == 0 => out.extend(current.take()),
            _ => {}
        }
    }
    out.extend(current);
    out
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

/// The first leaf (token) of a node, comments skipped.
fn first_leaf(node: Node) -> Option<Node> {
    let mut cursor = node.walk();
    let mut current = node;
    loop {
        if current.child_count() == 0 {
            return (current.end_byte() > current.start_byte() || current.is_missing())
                .then_some(current);
        }
        let mut next = None;
        for child in current.children(&mut cursor) {
            if child.is_extra() && !child.is_error() {
                continue;
            }
            next = Some(child);
            break;
        }
        current = next?;
    }
}

/// The first childless `ERROR` node inside `node` (a lexical error), if any.
fn lexical_error(node: Node) -> Option<Node> {
    let mut cursor = node.walk();
    loop {
        let current = cursor.node();
        if current.is_error()
            && current.child_count() == 0
            && current.end_byte() > current.start_byte()
        {
            return Some(current);
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node() == node {
                return None;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return None;
            }
        }
    }
}

/// How an item is written, by its keyword.
fn item_form(keyword: &str) -> Option<&'static str> {
    Some(match keyword {
        "fn" => "fn NAME(PARAM: TYPE, ...) -> TYPE { ... }",
        "filter" => "filter NAME(c: color) -> color { ... }` or `filter NAME(src: image, x: int, y: int) -> color { ... }",
        "param" => "param NAME: TYPE = DEFAULT in MIN..MAX;",
        "pipeline" => "pipeline NAME = FILTER |> FILTER(PARAM: VALUE);",
        _ => return None,
    })
}

fn is_item_keyword(kind: &str) -> bool {
    matches!(kind, "fn" | "filter" | "param" | "pipeline")
}

/// Whether `text` opens more brackets than it closes.
fn unclosed(text: &str) -> bool {
    let mut depth = 0i64;
    for ch in text.chars() {
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    depth > 0
}

/// Where the first token after `node` starts, comments skipped.
fn next_token_start(node: Node) -> Option<usize> {
    let mut current = node;
    loop {
        let mut next = current.next_sibling();
        while let Some(candidate) = next {
            if candidate.is_extra() && !candidate.is_error() {
                next = candidate.next_sibling();
            } else {
                break;
            }
        }
        match next {
            Some(found) => return Some(found.start_byte()),
            None => current = current.parent()?,
        }
    }
}

fn is_expression_start(kind: &str) -> bool {
    matches!(
        kind,
        "identifier"
            | "integer_literal"
            | "float_literal"
            | "string_literal"
            | "true"
            | "false"
            | "("
            | "["
            | "{"
            | "-"
            | "!"
            | "fn"
            | "if"
    )
}

/// The first line of a token, cut to a readable length.
fn shorten(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let mut out: String = line.chars().take(24).collect();
    if line.chars().count() > 24 {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<(usize, String)> {
        crate::driver::analyze(text)
            .diagnostics()
            .iter()
            .map(|diag| (diag.span.start, diag.message.clone()))
            .collect()
    }

    #[test]
    fn an_unterminated_string_is_one_error() {
        let text = "fn main() {\n    print(\"abc);\n}\n";
        assert_eq!(
            errors(text),
            vec![(22, "unterminated string literal".to_string())]
        );
    }

    #[test]
    fn a_statement_broken_further_on_is_reported_where_it_breaks() {
        // Not at `let`: at the `;` where an operand was expected.
        let text = "fn main() {\n    let a = (1 + ;\n}\n";
        assert_eq!(
            errors(text),
            vec![(29, "unexpected `;`, expected an expression".to_string())]
        );
    }

    #[test]
    fn two_mistakes_are_reported_as_each_alone() {
        let both = "fn main() {\n    let x = ;\n    print(x\n}\n";
        let first = "fn main() {\n    let x = ;\n           \n}\n";
        let second = "fn main() {\n             \n    print(x\n}\n";
        let mut alone = errors(first);
        alone.extend(
            errors(second)
                .into_iter()
                .filter(|(_, m)| m.starts_with("missing")),
        );
        assert_eq!(errors(both), alone);
        assert_eq!(alone.len(), 2);
    }

    #[test]
    fn an_unclosed_body_is_one_error_at_its_brace_and_the_items_after_it_are_checked() {
        // `f` lost its `}`: one error at its `{`, and `g` and `main` are
        // lowered as items (a mistake in `g` is reported, `g()` resolves).
        let text = "fn f() {\n    let x = 1;\n    print(x);\n\nfn g() {\n    print(2 @);\n}\n\nfn main() {\n    g();\n}\n";
        assert_eq!(
            errors(text),
            vec![
                (7, "unclosed `{`".to_string()),
                (60, "unexpected `@`".to_string())
            ]
        );
        let names: Vec<String> = parse(text)
            .file
            .items
            .iter()
            .map(|item| item.name.name.clone())
            .collect();
        assert_eq!(names, ["f", "g", "main"]);
    }

    #[test]
    fn a_name_declared_by_a_broken_statement_is_bound() {
        // `let b` is swallowed by the broken `let a`; `s` by an unterminated
        // string: their uses report nothing more.
        let text = "fn main() {\n    let a = (1 + ;\n    let b = a * 2;\n    print(b);\n}\n";
        assert_eq!(
            errors(text),
            vec![(29, "unexpected `;`, expected an expression".to_string())]
        );
        let text = "fn main() {\n    let s = \"abc;\n    print(1);\n    print(s);\n}\n";
        assert_eq!(
            errors(text),
            vec![(24, "unterminated string literal".to_string())]
        );
    }

    #[test]
    fn new_parser_loads_the_grammar() {
        let mut parser = new_parser();
        assert!(parser.language().is_some());
        assert!(parser.parse("fn main() {}", None).is_some());
    }
}
