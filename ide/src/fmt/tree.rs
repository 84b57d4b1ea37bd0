//! The syntax tree of a Chop file as a [`Doc`](super::doc::Doc): the style.

use super::doc::{concat, group, indent, text, Doc};
use super::MAX_DEPTH;
use std::collections::HashMap;
use std::rc::Rc;
use tree_sitter::Node;

/// Builds the document of a syntax tree.
pub(super) struct Formatter<'s> {
    pub(super) src: &'s str,
    pub(super) depth: usize,
    /// The documents of the nodes already formatted, by node id (a node may be
    /// laid out in two ways, sharing the documents of its children).
    pub(super) memo: HashMap<usize, Doc>,
    /// Top-level items printed before, by their text (`None`: not kept).
    pub(super) items: Option<super::items::Held>,
}

fn is_comment(node: Node<'_>) -> bool {
    matches!(node.kind(), "comment" | "doc_comment" | "inner_doc_comment")
}

fn is_item(node: Node<'_>) -> bool {
    !is_comment(node)
}

/// The children of `node` with their field names.
fn kids<'t>(node: Node<'t>) -> Vec<(Node<'t>, Option<&'t str>)> {
    let mut out = Vec::new();
    let mut cursor = node.walk();
    if cursor.goto_first_child() {
        loop {
            out.push((cursor.node(), cursor.field_name()));
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
    out
}

/// Whether the generic layout puts a space between two consecutive children
/// (of kinds `prev` and `cur`) of a node of kind `parent`.
fn space_between(parent: &str, prev: &str, cur: &str) -> bool {
    if parent == "unary_expression" {
        return false;
    }
    if matches!(
        cur,
        "," | ";"
            | ")"
            | "]"
            | "["
            | "."
            | ":"
            | ".."
            | "arguments"
            | "parameters"
            | "named_arguments"
            | "type_list"
    ) {
        return false;
    }
    !matches!(prev, "(" | "[" | "." | "..")
}

/// Precedence class of a binary operator (operators of one class chain).
fn precedence(op: &str) -> u8 {
    match op {
        "||" => 1,
        "&&" => 2,
        "==" | "!=" | "<" | "<=" | ">" | ">=" => 3,
        "+" | "-" => 4,
        _ => 5,
    }
}

/// Whether a block holds only a value expression (no statement, no comment)
/// that is neither an `if` nor a block: such a block may sit on one line.
fn is_simple_block(block: Node<'_>) -> bool {
    let children = kids(block);
    children.len() == 3
        && children[0].0.kind() == "{"
        && children[2].0.kind() == "}"
        && children[1].1 == Some("value")
        && !matches!(children[1].0.kind(), "if_expression" | "block")
}

/// Whether an `if` or a block stands as a statement (or as the value of a
/// block, or as a body), rather than inside an expression.
fn in_statement_position(node: Node<'_>) -> bool {
    match node.parent() {
        None => true,
        Some(parent) => matches!(
            parent.kind(),
            "expression_statement"
                | "block"
                | "function_item"
                | "filter_item"
                | "while_statement"
                | "for_statement"
                | "source_file"
        ),
    }
}

impl<'s> Formatter<'s> {
    fn text_of(&self, node: Node<'_>) -> &'s str {
        self.src.get(node.byte_range()).unwrap_or("")
    }

    /// Whether the comment `node` follows code on its line.
    fn is_trailing(&self, node: Node<'_>) -> bool {
        let before = self.src.get(..node.start_byte()).unwrap_or("");
        for b in before.bytes().rev() {
            match b {
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c => {}
                b'\n' => return false,
                _ => return true,
            }
        }
        false
    }

    /// Whether the source has an empty line between byte offsets `from` and
    /// `to` (which hold only whitespace).
    fn blank_between(&self, from: usize, to: usize) -> bool {
        self.src
            .get(from..to)
            .is_some_and(|gap| gap.matches('\n').count() >= 2)
    }

    fn comment_text(&self, node: Node<'_>) -> Doc {
        text(self.text_of(node).trim_end())
    }

    /// A comment inside a construct: at the end of the line it ended, or on
    /// a line of its own.
    fn comment(&self, node: Node<'_>) -> Doc {
        let t = self.text_of(node).trim_end();
        if self.is_trailing(node) {
            Doc::TrailingComment(Rc::from(t))
        } else {
            concat(vec![Doc::HardLine, text(t), Doc::HardLine])
        }
    }

    /// The break before the operator `children[i]`: a line break, unless a
    /// comment ends the line after the operator (then the operator stays at
    /// the end of the line, before the comment).
    fn break_before(&self, children: &[(Node<'_>, Option<&str>)], i: usize) -> Doc {
        match children.get(i + 1) {
            Some(&(next, _)) if is_comment(next) && self.is_trailing(next) => Doc::Space,
            _ => Doc::Line,
        }
    }

    /// The source text of `node`, with `\n` line endings and no spaces at
    /// the ends of its lines.
    fn verbatim(&self, node: Node<'_>) -> Doc {
        let lines: Vec<&str> = self.text_of(node).split('\n').map(str::trim_end).collect();
        Doc::Verbatim(Rc::from(lines.join("\n")))
    }

    /// The document of any node.
    fn node(&mut self, node: Node<'_>) -> Doc {
        if is_comment(node) {
            return self.comment(node);
        }
        if node.child_count() == 0 {
            return text(self.text_of(node));
        }
        if let Some(doc) = self.memo.get(&node.id()) {
            return doc.clone();
        }
        self.depth += 1;
        let doc = if self.depth > MAX_DEPTH {
            self.verbatim(node)
        } else {
            match node.kind() {
                "boolean_literal" | "string_literal" => text(self.text_of(node)),
                "source_file" => self.source_file(node),
                "block" => {
                    if !in_statement_position(node) && is_simple_block(node) {
                        group(self.block_inline(node))
                    } else {
                        self.block(node)
                    }
                }
                "if_expression" => self.if_expression(node),
                "closure_expression" => self.closure(node, false),
                "binary_expression" => self.binary(node),
                "arguments" => self.arguments(node),
                "parameters" | "named_arguments" | "type_list" | "array_expression" => {
                    self.list(node)
                }
                "pipeline_item" => self.pipeline(node),
                _ => self.generic(node),
            }
        };
        self.depth -= 1;
        self.memo.insert(node.id(), doc.clone());
        doc
    }

    /// Children in order, separated by single spaces or nothing (see
    /// [`space_between`]), comments in place.
    fn generic(&mut self, node: Node<'_>) -> Doc {
        self.generic_with(node, |_, _, _| None)
    }

    /// Like [`Self::generic`], with `special` giving the document of some
    /// children.
    fn generic_with(
        &mut self,
        node: Node<'_>,
        mut special: impl FnMut(&mut Self, Node<'_>, Option<&str>) -> Option<Doc>,
    ) -> Doc {
        let parent = node.kind();
        // After a comment, the rest of a node continues one level deeper,
        // except in constructs that end with a block.
        let indent_after_comment = !matches!(
            parent,
            "function_item"
                | "filter_item"
                | "closure_expression"
                | "if_expression"
                | "while_statement"
                | "for_statement"
        );
        let mut docs = Vec::new();
        let mut rest = Vec::new();
        let mut prev: Option<&str> = None;
        let mut after_comment = false;
        for (child, field) in kids(node) {
            if is_comment(child) {
                after_comment = indent_after_comment;
            }
            let docs = if after_comment { &mut rest } else { &mut docs };
            if is_comment(child) {
                docs.push(self.comment(child));
                continue;
            }
            if let Some(p) = prev {
                if space_between(parent, p, child.kind()) {
                    docs.push(Doc::Space);
                }
            }
            let doc = match special(self, child, field) {
                Some(doc) => doc,
                None => self.node(child),
            };
            docs.push(doc);
            prev = Some(child.kind());
        }
        if !rest.is_empty() {
            docs.push(indent(concat(rest)));
        }
        concat(docs)
    }

    /// The file: items one per paragraph, separated by one blank line (runs
    /// of `use`, of `param` or of `pipeline` items keep the user's grouping).
    pub(super) fn source_file(&mut self, node: Node<'_>) -> Doc {
        #[derive(PartialEq)]
        enum Last<'k> {
            Nothing,
            Item(&'k str),
            Comment,
            InnerDoc,
        }
        let children = kids(node);
        let mut docs = Vec::new();
        let mut last = Last::Nothing;
        let mut prev_end = 0;
        for (index, (child, _)) in children.iter().enumerate() {
            let child = *child;
            if is_comment(child) && last != Last::Nothing && self.is_trailing(child) {
                docs.push(Doc::TrailingComment(Rc::from(
                    self.text_of(child).trim_end(),
                )));
                prev_end = child.end_byte();
                continue;
            }
            let inner_doc = child.kind() == "inner_doc_comment";
            let kept = || {
                if self.blank_between(prev_end, child.start_byte()) {
                    Doc::BlankLine
                } else {
                    Doc::HardLine
                }
            };
            let sep = match last {
                Last::Nothing => None,
                Last::Item(kind) => {
                    let next_item = children[index..]
                        .iter()
                        .map(|(c, _)| *c)
                        .find(|c| is_item(*c));
                    let grouped = matches!(kind, "use_item" | "param_item" | "pipeline_item")
                        && next_item.is_some_and(|n| n.kind() == kind);
                    Some(if grouped { kept() } else { Doc::BlankLine })
                }
                Last::InnerDoc if !inner_doc => Some(Doc::BlankLine),
                _ => Some(kept()),
            };
            docs.extend(sep);
            if is_item(child) {
                docs.push(self.item(child));
                last = Last::Item(child.kind());
            } else {
                docs.push(self.comment_text(child));
                last = if inner_doc {
                    Last::InnerDoc
                } else {
                    Last::Comment
                };
            }
            prev_end = child.end_byte();
        }
        concat(docs)
    }

    /// A top-level item: printed on its own (it starts a line at no indentation, and
    /// what follows it is a line break or a trailing comment, whose width never counts),
    /// so its text is the same wherever it stands; taken from the items printed before
    /// when its text was printed before.
    fn item(&mut self, node: Node<'_>) -> Doc {
        let source = self.text_of(node);
        let Some(items) = self.items.as_ref() else {
            return self.node(node);
        };
        if let Some(printed) = items.get(source) {
            return Doc::Verbatim(Rc::from(&*printed));
        }
        let doc = self.node(node);
        let printed = super::doc::print(&doc);
        let printed = printed.strip_suffix('\n').unwrap_or(&printed);
        if let Some(items) = self.items.as_mut() {
            items.put(source, printed);
        }
        Doc::Verbatim(Rc::from(printed))
    }

    /// A block laid out over several lines (`{}` when empty).
    fn block(&mut self, node: Node<'_>) -> Doc {
        let children = kids(node);
        let n = children.len();
        if n < 2 || children[0].0.kind() != "{" || children[n - 1].0.kind() != "}" {
            return self.generic(node);
        }
        if n == 2 {
            return text("{}");
        }
        let mut inner = Vec::new();
        let mut prev_end = children[0].0.end_byte();
        for (i, (child, _)) in children[1..n - 1].iter().enumerate() {
            let child = *child;
            if is_comment(child) && self.is_trailing(child) {
                inner.push(Doc::TrailingComment(Rc::from(
                    self.text_of(child).trim_end(),
                )));
            } else {
                if i > 0 && self.blank_between(prev_end, child.start_byte()) {
                    inner.push(Doc::BlankLine);
                } else {
                    inner.push(Doc::HardLine);
                }
                if is_comment(child) {
                    inner.push(self.comment_text(child));
                } else {
                    inner.push(self.node(child));
                }
            }
            prev_end = child.end_byte();
        }
        concat(vec![
            text("{"),
            indent(concat(inner)),
            Doc::HardLine,
            text("}"),
        ])
    }

    /// A simple block (see [`is_simple_block`]) as `{ value }` on one line
    /// when the enclosing group fits, else over three lines.
    fn block_inline(&mut self, node: Node<'_>) -> Doc {
        let children = kids(node);
        if children.len() != 3 {
            return self.block(node);
        }
        let value = self.node(children[1].0);
        concat(vec![
            text("{"),
            indent(concat(vec![Doc::Line, value])),
            Doc::Line,
            text("}"),
        ])
    }

    /// `if c { a } else if d { b } else { c }`: on one line when all its
    /// blocks are simple, it is used as a value and it fits, else over
    /// several lines.
    fn if_expression(&mut self, node: Node<'_>) -> Doc {
        let inline = !in_statement_position(node) && if_chain_is_simple(node);
        let doc = self.if_chain(node, inline);
        if inline {
            group(doc)
        } else {
            doc
        }
    }

    fn if_chain(&mut self, node: Node<'_>, inline: bool) -> Doc {
        self.depth += 1;
        let doc = if self.depth > MAX_DEPTH {
            self.verbatim(node)
        } else {
            self.generic_with(node, |f, child, field| match field {
                Some("consequence" | "alternative") if child.kind() == "block" => Some(if inline {
                    f.block_inline(child)
                } else {
                    f.block(child)
                }),
                Some("alternative") if child.kind() == "if_expression" => {
                    Some(f.if_chain(child, inline))
                }
                _ => None,
            })
        };
        self.depth -= 1;
        doc
    }

    /// `fn(v: float) -> float { v * gain }`, on one line when its body is a
    /// simple block and it fits (never when `expanded`).
    fn closure(&mut self, node: Node<'_>, expanded: bool) -> Doc {
        let inline = !expanded
            && node
                .child_by_field_name("body")
                .is_some_and(is_simple_block);
        let doc = self.generic_with(node, |f, child, field| {
            if field == Some("body") && child.kind() == "block" {
                Some(if inline {
                    f.block_inline(child)
                } else {
                    f.block(child)
                })
            } else {
                None
            }
        });
        if inline {
            group(doc)
        } else {
            doc
        }
    }

    /// A chain of binary operators of one precedence, `a + b - c`: on one
    /// line when it fits, else broken before each operator, indented.
    fn binary(&mut self, node: Node<'_>) -> Doc {
        let class = |n: Node<'_>| {
            n.child_by_field_name("operator")
                .map(|op| precedence(op.kind()))
        };
        let top = class(node);
        // The left spine of operators of the same class, outermost first.
        let mut spine = vec![node];
        let mut current = node;
        while let Some(left) = current.child_by_field_name("left") {
            if left.kind() == "binary_expression" && class(left) == top {
                spine.push(left);
                current = left;
            } else {
                break;
            }
        }
        let mut head = Vec::new();
        let mut tail = Vec::new();
        let mut first = true;
        for (level, n) in spine.iter().rev().enumerate() {
            let children = kids(*n);
            for (i, &(child, field)) in children.iter().enumerate() {
                if is_comment(child) {
                    let doc = self.comment(child);
                    if first {
                        head.push(doc);
                    } else {
                        tail.push(doc);
                    }
                    continue;
                }
                match field {
                    Some("left") => {
                        if level == 0 {
                            head.push(self.node(child));
                            first = false;
                        }
                    }
                    Some("operator") => {
                        tail.push(self.break_before(&children, i));
                        tail.push(text(self.text_of(child)));
                    }
                    _ => {
                        tail.push(Doc::Space);
                        tail.push(self.node(child));
                    }
                }
            }
        }
        group(concat(vec![concat(head), indent(concat(tail))]))
    }

    /// A comma list in brackets: on one line when it fits, else one element
    /// per line with a trailing comma.
    fn list(&mut self, node: Node<'_>) -> Doc {
        let children = kids(node);
        let n = children.len();
        if n < 2 {
            return self.generic(node);
        }
        let (open, close) = (children[0].0, children[n - 1].0);
        if !matches!(open.kind(), "(" | "[") || !matches!(close.kind(), ")" | "]") {
            return self.generic(node);
        }
        let inner = &children[1..n - 1];
        if inner.is_empty() {
            return concat(vec![text(open.kind()), text(close.kind())]);
        }
        let is_element = |c: Node<'_>| !is_comment(c) && c.kind() != ",";
        let last_element = inner.iter().rposition(|(c, _)| is_element(*c));
        let trailing_comma =
            last_element.is_some_and(|last| inner[last + 1..].iter().any(|(c, _)| c.kind() == ","));
        let mut docs = Vec::new();
        let mut first = true;
        for (i, (child, _)) in inner.iter().enumerate() {
            let child = *child;
            if is_comment(child) {
                docs.push(self.comment(child));
            } else if child.kind() == "," {
                if last_element.is_some_and(|last| i > last) {
                    docs.push(Doc::IfBreak(","));
                } else {
                    docs.push(text(","));
                }
            } else {
                docs.push(if first { Doc::SoftLine } else { Doc::Line });
                first = false;
                docs.push(self.node(child));
                if Some(i) == last_element && !trailing_comma {
                    docs.push(Doc::IfBreak(","));
                }
            }
        }
        group(concat(vec![
            text(open.kind()),
            indent(concat(docs)),
            Doc::SoftLine,
            text(close.kind()),
        ]))
    }

    /// Call arguments: a list, where a last closure argument may overflow
    /// the call (`render(w, h, fn(x: int, y: int) -> color {` ... `})`).
    fn arguments(&mut self, node: Node<'_>) -> Doc {
        let whole = self.list(node);
        let children = kids(node);
        let n = children.len();
        if n < 3 || children.iter().any(|(c, _)| is_comment(*c)) {
            return whole;
        }
        let elements: Vec<Node<'_>> = children[1..n - 1]
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| c.kind() != ",")
            .collect();
        let Some((last, before)) = elements.split_last() else {
            return whole;
        };
        if last.kind() != "closure_expression" {
            return whole;
        }
        let mut docs = vec![text(children[0].0.kind())];
        for element in before {
            let doc = self.node(*element);
            if doc.is_hard() {
                return whole;
            }
            docs.push(doc);
            docs.push(text(","));
            docs.push(Doc::Space);
        }
        self.depth += 1;
        docs.push(self.closure(*last, true));
        self.depth -= 1;
        docs.push(text(children[n - 1].0.kind()));
        let overflow = concat(docs);
        let hard = whole.is_hard();
        Doc::Overflow(Rc::new((whole, overflow)), hard)
    }

    /// `pipeline p = a |> b(x: 1.0) |> c;` on one line when it fits, else
    /// one stage per line after the first, `|>` leading, indented.
    fn pipeline(&mut self, node: Node<'_>) -> Doc {
        let mut head = Vec::new();
        let mut tail = Vec::new();
        // The first stage, or the first comment, ends the head.
        let mut in_tail = false;
        let children = kids(node);
        for (i, &(child, _)) in children.iter().enumerate() {
            in_tail |= is_comment(child);
            let target = if in_tail { &mut tail } else { &mut head };
            if is_comment(child) {
                target.push(self.comment(child));
                continue;
            }
            match child.kind() {
                "pipeline" => target.push(text("pipeline")),
                "|>" => {
                    target.push(self.break_before(&children, i));
                    target.push(text("|>"));
                }
                ";" => target.push(text(";")),
                _ => {
                    target.push(Doc::Space);
                    target.push(self.node(child));
                    in_tail |= child.kind() == "pipeline_stage";
                }
            }
        }
        group(concat(vec![concat(head), indent(concat(tail))]))
    }
}

/// Whether every block of an `if` chain is simple (see [`is_simple_block`]).
fn if_chain_is_simple(node: Node<'_>) -> bool {
    let mut current = node;
    loop {
        if !current
            .child_by_field_name("consequence")
            .is_some_and(is_simple_block)
        {
            return false;
        }
        match current.child_by_field_name("alternative") {
            None => return true,
            Some(alt) if alt.kind() == "if_expression" => current = alt,
            Some(alt) => return is_simple_block(alt),
        }
    }
}
