//! Re-lowering only what an edit touched.
//!
//! A keystroke changes one item of a file, but lowering the whole CST again
//! costs milliseconds on a big file. So each lowering leaves a [`Memo`]: for
//! every item, where its region begins (the end of the item before it: the
//! region holds its doc comments), the ids it was given and the
//! diagnostics lowering found in it. The next lowering compares regions by
//! their text: the items before the first changed one are shared as they
//! are, those after the last changed one are shared when nothing moved, or
//! copied with their spans moved by the edit's length and their ids
//! renumbered ([`Shift`]). Only the items in between are lowered from the
//! tree. Ids stay dense and in source order, so the result is exactly what
//! lowering the whole tree gives (a property test holds the two together).

use super::ast::{
    Binding, BindingId, Block, Closure, Expr, ExprId, ExprKind, Ident, Item, ItemKind, Param, Stmt,
    StmtKind, TypeExpr,
};
use super::span::Span;
use crate::diag::Diagnostic;
use std::ops::Range;
use std::sync::Arc;

/// What a lowering remembers of its items.
#[derive(Clone, Debug, Default)]
pub struct Memo {
    /// Shared: a parse is cloned wherever a program holds its file (one per program
    /// that uses it, each keystroke), and its memo is never changed once made.
    items: Arc<[ItemMemo]>,
    reusable: bool,
}

/// What a lowering remembers of one item.
#[derive(Clone, Debug)]
pub(crate) struct ItemMemo {
    /// Where the item's region starts: the end of the item before it, or 0.
    pub region: usize,
    /// The expression ids it holds.
    pub exprs: Range<u32>,
    /// The binding ids it holds.
    pub bindings: Range<u32>,
    /// The diagnostics lowering reported inside it (literals out of range,
    /// unknown escapes).
    pub diags: Vec<Diagnostic>,
    /// Whether it may be reused: a top-level item without syntax errors.
    pub reusable: bool,
    /// Where it comes from when it was reused: the index of the item in the
    /// last lowering, and how far it moved.
    pub origin: Option<(usize, Shift)>,
}

impl Memo {
    /// The memo of a lowering that gave `items` their ids in order;
    /// `clean` unless some limit of lowering was hit (whose one diagnostic
    /// belongs to the file, not to an item).
    pub(crate) fn new(items: Vec<ItemMemo>, clean: bool) -> Memo {
        let mut next = (0, 0);
        let dense = items.iter().all(|item| {
            let ok = item.exprs.start == next.0 && item.bindings.start == next.1;
            next = (item.exprs.end, item.bindings.end);
            ok
        });
        Memo {
            items: items.into(),
            reusable: clean && dense,
        }
    }

    /// The memo of a linked program's items (`crate::modules::link_reusing`): their
    /// ids and where each comes from in the last linked program; not for lowering.
    pub(crate) fn linked(items: Vec<ItemMemo>) -> Memo {
        Memo {
            items: items.into(),
            reusable: false,
        }
    }

    pub(crate) fn items(&self) -> &[ItemMemo] {
        &self.items
    }

    /// The memo of this lowering taken again for the same text: every item that
    /// lowering would reuse comes from itself, unmoved (the origins of this memo
    /// were about the lowering before).
    pub(crate) fn again(&self) -> Memo {
        let items = self
            .items
            .iter()
            .enumerate()
            .map(|(idx, item)| ItemMemo {
                origin: (self.reusable && item.reusable).then_some((idx, Shift::NONE)),
                ..item.clone()
            })
            .collect();
        Memo {
            items,
            reusable: self.reusable,
        }
    }

    pub(crate) fn is_reusable(&self) -> bool {
        self.reusable
    }

    /// The memo of item `idx`.
    pub(crate) fn item(&self, idx: usize) -> Option<&ItemMemo> {
        self.items.get(idx)
    }
}

/// How far an item moves: its spans by `bytes`, its expression and binding
/// ids by `exprs` and `bindings`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shift {
    pub bytes: isize,
    pub exprs: i64,
    pub bindings: i64,
}

impl Shift {
    /// Not moving at all.
    pub const NONE: Shift = Shift {
        bytes: 0,
        exprs: 0,
        bindings: 0,
    };

    /// The item moved: shared when it does not move, else a moved copy.
    pub fn item(self, item: &Arc<Item>) -> Arc<Item> {
        if self == Shift::NONE {
            return item.clone();
        }
        let mut moved = Item::clone(item);
        self.walk_item(&mut moved);
        Arc::new(moved)
    }

    /// The memo of the moved item.
    pub fn memo(self, memo: &ItemMemo) -> ItemMemo {
        let mut diags = memo.diags.clone();
        for diag in &mut diags {
            self.span(&mut diag.span);
        }
        ItemMemo {
            region: memo.region.saturating_add_signed(self.bytes),
            exprs: self.id(memo.exprs.start, self.exprs)..self.id(memo.exprs.end, self.exprs),
            bindings: self.id(memo.bindings.start, self.bindings)
                ..self.id(memo.bindings.end, self.bindings),
            diags,
            reusable: memo.reusable,
            origin: None,
        }
    }

    /// An expression id of the item, moved.
    pub fn expr_id(self, id: ExprId) -> ExprId {
        ExprId(self.id(id.0, self.exprs))
    }

    /// A binding id of the item, moved.
    pub fn binding_id(self, id: BindingId) -> BindingId {
        BindingId(self.id(id.0, self.bindings))
    }

    /// A span in the item, moved.
    pub fn moved(self, mut span: Span) -> Span {
        self.span(&mut span);
        span
    }

    fn id(self, id: u32, by: i64) -> u32 {
        u32::try_from(i64::from(id) + by).unwrap_or(u32::MAX)
    }

    fn span(self, span: &mut Span) {
        span.start = span.start.saturating_add_signed(self.bytes);
        span.end = span.end.saturating_add_signed(self.bytes);
    }

    fn ident(self, ident: &mut Ident) {
        self.span(&mut ident.span);
    }

    fn binding(self, binding: &mut Binding) {
        binding.id.0 = self.id(binding.id.0, self.bindings);
        self.ident(&mut binding.name);
    }

    fn walk_item(self, item: &mut Item) {
        self.ident(&mut item.name);
        self.span(&mut item.span);
        match &mut item.kind {
            ItemKind::Param(param) => {
                self.ty(&mut param.ty);
                self.expr(&mut param.default);
                if let Some((min, max)) = &mut param.range {
                    self.expr(min);
                    self.expr(max);
                }
            }
            ItemKind::Function(function) => {
                self.params(&mut function.params);
                if let Some(ret) = &mut function.ret {
                    self.ty(ret);
                }
                self.block(&mut function.body);
            }
            ItemKind::Pipeline(pipeline) => {
                for stage in &mut pipeline.stages {
                    if let Some(module) = &mut stage.module {
                        self.ident(module);
                    }
                    self.ident(&mut stage.name);
                    self.span(&mut stage.span);
                    for (name, value) in &mut stage.args {
                        self.ident(name);
                        self.expr(value);
                    }
                }
            }
        }
    }

    fn params(self, params: &mut [Param]) {
        for param in params {
            self.binding(&mut param.binding);
            self.ty(&mut param.ty);
            self.span(&mut param.span);
        }
    }

    fn ty(self, ty: &mut TypeExpr) {
        match ty {
            TypeExpr::Named(ident) => self.ident(ident),
            TypeExpr::Array(element, _, span) => {
                self.ty(element);
                self.span(span);
            }
            TypeExpr::Fn(params, ret, span) => {
                for param in params {
                    self.ty(param);
                }
                if let Some(ret) = ret {
                    self.ty(ret);
                }
                self.span(span);
            }
            TypeExpr::Error(span) => self.span(span),
        }
    }

    fn block(self, block: &mut Block) {
        for stmt in &mut block.stmts {
            self.stmt(stmt);
        }
        if let Some(value) = &mut block.value {
            self.expr(value);
        }
        self.span(&mut block.span);
    }

    fn stmt(self, stmt: &mut Stmt) {
        self.span(&mut stmt.span);
        match &mut stmt.kind {
            StmtKind::Let {
                binding, ty, value, ..
            } => {
                self.binding(binding);
                if let Some(ty) = ty {
                    self.ty(ty);
                }
                self.expr(value);
            }
            StmtKind::Assign { target, value, .. } => {
                self.expr(target);
                self.expr(value);
            }
            StmtKind::Expr(expr) | StmtKind::Return(Some(expr)) => self.expr(expr),
            StmtKind::Return(None) | StmtKind::Break | StmtKind::Continue => {}
            StmtKind::While { cond, body } => {
                self.expr(cond);
                self.block(body);
            }
            StmtKind::For {
                binding,
                start,
                end,
                body,
            } => {
                self.binding(binding);
                self.expr(start);
                self.expr(end);
                self.block(body);
            }
        }
    }

    fn expr(self, expr: &mut Expr) {
        expr.id = ExprId(self.id(expr.id.0, self.exprs));
        self.span(&mut expr.span);
        match &mut expr.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::Str(_)
            | ExprKind::Name(_)
            | ExprKind::Error => {}
            ExprKind::Binary(_, left, right)
            | ExprKind::Index(left, right)
            | ExprKind::ArrayRepeat(left, right) => {
                self.expr(left);
                self.expr(right);
            }
            ExprKind::Unary(_, operand) => self.expr(operand),
            ExprKind::Call(callee, args) => {
                self.expr(callee);
                for arg in args {
                    self.expr(arg);
                }
            }
            ExprKind::Field(value, field) => {
                self.expr(value);
                self.ident(field);
            }
            ExprKind::Array(elements) => {
                for element in elements {
                    self.expr(element);
                }
            }
            ExprKind::Closure(closure) => {
                let Closure { params, ret, body } = &mut **closure;
                self.params(params);
                if let Some(ret) = ret {
                    self.ty(ret);
                }
                self.block(body);
            }
            ExprKind::If(cond, then, otherwise) => {
                self.expr(cond);
                self.block(then);
                if let Some(otherwise) = otherwise {
                    self.expr(otherwise);
                }
            }
            ExprKind::Block(block) => self.block(block),
        }
    }
}
