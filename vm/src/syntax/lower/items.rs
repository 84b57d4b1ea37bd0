//! Lowering items: doc comments, the items of a file (reusing those of the
//! last lowering whose text is unchanged), their names, parameters and types.

use super::recovery::{split_ranges, unclosed_body};
use super::{
    field_children, named_children, new_parser, span_of, FieldOf, Lowerer, Parsed, ITEM_KINDS,
};
use crate::diag::Code;
use crate::syntax::ast::{
    Binding, BindingId, Block, FnItem, Ident, Item, ItemKind, Param, ParamItem, PipelineItem,
    Stage, TypeExpr, Use,
};
use crate::syntax::reuse::{ItemMemo, Shift};
use crate::syntax::span::Span;
use std::sync::Arc;
use tree_sitter::Node;

impl<'t> Lowerer<'t> {
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
            lines.push(*text);
            next = span.start;
        }
        if lines.is_empty() {
            return None;
        }
        lines.reverse();
        Some(lines.join("\n"))
    }

    /// The `//!` comments before the first item, joined.
    pub(super) fn file_doc(&self, items: &[Arc<Item>]) -> Option<String> {
        let limit = items
            .first()
            .map_or(self.text.len(), |item| item.span.start);
        let lines: Vec<&str> = self
            .inner_docs
            .iter()
            .filter(|(span, _)| span.end <= limit)
            .map(|(_, text)| *text)
            .collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    // ------------------------------------------------------------ uses

    /// Lowers the `use` items among the top-level children of `root` (they
    /// are not items: lowering reuse never sees them). A `use` after an item
    /// is an error (E0030), and still used.
    pub(super) fn uses_in(&mut self, root: Node) -> Vec<Use> {
        let mut uses = Vec::new();
        let mut seen_item = false;
        let mut cursor = root.walk();
        let children: Vec<Node> = root.children(&mut cursor).collect();
        for child in children {
            // Once an item was seen only `use` items matter: most children are items.
            let kind = child.kind();
            if kind != "use_item" {
                seen_item = seen_item || ITEM_KINDS.contains(&kind);
                continue;
            }
            if child.is_missing() {
                continue;
            }
            let Some(path_node) = child.field("path") else {
                continue;
            };
            let path = self.string(path_node);
            let alias = child
                .field("alias")
                .map(|_| self.ident_field(child, "alias"));
            let span = span_of(child);
            if seen_item {
                self.error(
                    Code::UseAfterItem,
                    span,
                    "a `use` must come before the file's params, functions, filters and pipelines",
                );
            }
            uses.push(Use {
                path,
                path_span: span_of(path_node),
                alias,
                span,
            });
        }
        uses
    }

    // ------------------------------------------------------------ items

    /// Lowers the items among the children of `node`, looking into `ERROR`
    /// nodes for items that did parse.
    pub(super) fn items_in(&mut self, node: Node, items: &mut Vec<Arc<Item>>) {
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
    pub(super) fn reuse_items(
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

    pub(super) fn item(&mut self, node: Node, after: usize) -> Item {
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
        let module = node
            .field("module")
            .map(|_| self.ident_field(node, "module"));
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
            module,
            name,
            args,
            span: span_of(node),
        }
    }

    pub(super) fn params(&mut self, node: Node) -> Vec<Param> {
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

    pub(super) fn ident_field(&self, node: Node, field: &str) -> Ident {
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

    pub(super) fn binding(&mut self, node: Node, field: &str) -> Binding {
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

    pub(super) fn type_node(&mut self, node: Node) -> TypeExpr {
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
}
