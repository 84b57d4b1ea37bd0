//! Error recovery: the scan of the CST that reports `ERROR` and `MISSING`
//! nodes (E0001, E0002) where the mistake is, splitting an error that spans
//! several items or statements into one diagnostic per mistake, and the CST
//! helpers it needs.

use super::{comment_body, new_parser, point_after, span_of, FieldOf, Lowerer, EXPR_FIELDS};
use crate::diag::{Code, Diagnostic};
use crate::syntax::span::Span;
use tree_sitter::{Node, Parser, Tree};

impl<'t> Lowerer<'t> {
    /// Collects the doc comments (those that document something sit between
    /// items, at the top level), then walks the parts of the CST that hold
    /// errors (without recursion) to report `ERROR` and `MISSING` nodes. A
    /// clean subtree is never entered: a keystroke in a big file costs little.
    pub(super) fn scan(&mut self, root: Node) {
        let mut top = root.walk();
        for node in root.children(&mut top) {
            match node.kind() {
                "doc_comment" => {
                    let text = comment_body(self.text_of(node), "///");
                    self.docs.push((span_of(node), text));
                }
                "inner_doc_comment" => {
                    let text = comment_body(self.text_of(node), "//!");
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
    pub(super) fn report_unclosed(&mut self, item: Node) -> bool {
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
}

/// Whether `node` holds an `ERROR` node outside its blocks (a block keeps
/// its errors to itself).
pub(super) fn shallow_error(node: Node) -> bool {
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
pub(super) fn unclosed_body(item: Node) -> Option<(Node, usize)> {
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
pub(super) fn split_ranges(
    item: Node,
    text: &str,
    cut: usize,
) -> (tree_sitter::Range, tree_sitter::Range) {
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
pub(super) fn tokens(mut nodes: Vec<Node>) -> Vec<Node> {
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
pub(super) fn unclosed(text: &str) -> bool {
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
