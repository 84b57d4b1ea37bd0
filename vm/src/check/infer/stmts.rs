//! Checking blocks and statements: `let`, loops, `return`, and assignments
//! with the places they assign to.

use super::{binop_type, int_to_float_help, BindingKind, Checker, FnCtx, RetMode, Want};
use crate::check::flow::block_exits;
use crate::check::{Owner, Res};
use crate::diag::{Code, Diagnostic, TypeFacts};
use crate::syntax::ast::{BinOp, Block, Expr, ExprKind, Stmt, StmtKind};
use crate::syntax::span::Span;
use crate::types::Type;

impl<'f> Checker<'f> {
    pub fn block(&mut self, block: &'f Block, want: Want<'_>) -> Type {
        self.scopes.push(Vec::new());
        let mut dead: Option<&'static str> = None;
        let mut warned = false;
        for stmt in &block.stmts {
            if let Some(after) = dead {
                if !warned {
                    warned = true;
                    self.report(Diagnostic::warning(
                        Code::Unreachable,
                        stmt.span,
                        format!("unreachable code after `{after}`"),
                    ));
                }
            }
            self.stmt(stmt);
            let in_loop = self.fns.last().is_some_and(|ctx| ctx.loops > 0);
            match stmt.kind {
                StmtKind::Return(_) => dead = Some("return"),
                StmtKind::Break if in_loop => dead = Some("break"),
                StmtKind::Continue if in_loop => dead = Some("continue"),
                _ => {}
            }
        }
        let ty = match block.value.as_deref() {
            Some(value) => {
                if let Some(after) = dead {
                    if !warned && !matches!(value.kind, ExprKind::Error) {
                        self.report(Diagnostic::warning(
                            Code::Unreachable,
                            value.span,
                            format!("unreachable code after `{after}`"),
                        ));
                    }
                }
                self.expr(value, want)
            }
            None => match want {
                Want::Stmt | Want::Any => Type::Unit,
                Want::Ty(ty) if *ty == Type::Unit || ty.has_error() => ty.clone(),
                Want::Ty(ty) => {
                    if block_exits(block, true) {
                        ty.clone()
                    } else {
                        self.error(
                            Code::TypeMismatch,
                            block.span,
                            format!("expected a value of type `{ty}`, but this block has no value"),
                        );
                        Type::Error
                    }
                }
                Want::Value => {
                    if !block_exits(block, true) {
                        self.error(Code::TypeMismatch, block.span, "this block has no value");
                    }
                    Type::Unit
                }
            },
        };
        self.scopes.pop();
        ty
    }

    fn stmt(&mut self, stmt: &'f Stmt) {
        match &stmt.kind {
            StmtKind::Let {
                binding,
                mutable,
                ty,
                value,
            } => {
                let declared = ty.as_ref().map(|ty| self.resolve_type(ty));
                let mut ty = match &declared {
                    Some(declared) => {
                        self.expr(value, Want::Ty(declared));
                        declared.clone()
                    }
                    None => self.expr(value, Want::Value),
                };
                if ty == Type::Unit {
                    ty = Type::Error;
                }
                self.check_storable(&ty, binding.name.span, "a variable");
                let kind = if *mutable {
                    BindingKind::Var
                } else {
                    BindingKind::Let
                };
                self.declare(binding, ty, kind);
            }
            StmtKind::Assign { target, op, value } => self.assign(stmt, target, *op, value),
            StmtKind::Expr(expr) => {
                self.expr(expr, Want::Stmt);
            }
            StmtKind::Return(value) => self.ret(stmt, value.as_ref()),
            StmtKind::Break | StmtKind::Continue => {
                let inside = self.fns.last().is_some_and(|ctx| ctx.loops > 0);
                if !inside {
                    let word = if matches!(stmt.kind, StmtKind::Break) {
                        "break"
                    } else {
                        "continue"
                    };
                    self.error(
                        Code::BreakOutsideLoop,
                        stmt.span,
                        format!("`{word}` outside a loop"),
                    );
                }
            }
            StmtKind::While { cond, body } => {
                self.expr(cond, Want::Ty(&Type::Bool));
                self.in_loop(|this| {
                    this.block(body, Want::Stmt);
                });
            }
            StmtKind::For {
                binding,
                start,
                end,
                body,
            } => {
                self.expr(start, Want::Ty(&Type::Int));
                self.expr(end, Want::Ty(&Type::Int));
                self.scopes.push(Vec::new());
                self.declare(binding, Type::Int, BindingKind::For);
                self.in_loop(|this| {
                    this.block(body, Want::Stmt);
                });
                self.scopes.pop();
            }
        }
    }

    fn in_loop(&mut self, run: impl FnOnce(&mut Self)) {
        if let Some(ctx) = self.fns.last_mut() {
            ctx.loops += 1;
        } else {
            // Outside any function (broken code): a context keeps the count.
            self.fns.push(FnCtx {
                owner: Owner::None,
                ret: RetMode::Nothing,
                loops: 1,
                desc: String::new(),
            });
            run(self);
            self.fns.pop();
            return;
        }
        run(self);
        if let Some(ctx) = self.fns.last_mut() {
            ctx.loops = ctx.loops.saturating_sub(1);
        }
    }

    pub(super) fn ret(&mut self, stmt: &Stmt, value: Option<&'f Expr>) {
        let (mode, desc) = match self.fns.last() {
            Some(ctx) => (ctx.ret.clone(), ctx.desc.clone()),
            None => (RetMode::Nothing, String::new()),
        };
        match mode {
            RetMode::Infer(_) => {
                let (ty, span) = match value {
                    Some(value) => (self.expr(value, Want::Any), value.span),
                    None => (Type::Unit, stmt.span),
                };
                if let Some(FnCtx {
                    ret: RetMode::Infer(returns),
                    ..
                }) = self.fns.last_mut()
                {
                    returns.push((ty, span));
                }
            }
            RetMode::Nothing => {
                if let Some(value) = value {
                    self.expr(value, Want::Any);
                }
            }
            RetMode::Declared(Type::Unit) => {
                if let Some(value) = value {
                    let ty = self.expr(value, Want::Any);
                    if ty != Type::Unit && !ty.has_error() {
                        self.error_help(
                            Code::TypeMismatch,
                            value.span,
                            format!(
                                "{desc} returns nothing, but this `return` has a value of type `{ty}`"
                            ),
                            Some(format!("declare the return type `-> {ty}`")),
                        );
                    }
                }
            }
            RetMode::Declared(ret) => match value {
                Some(value) => {
                    self.expr(value, Want::Ty(&ret));
                }
                None => {
                    if !ret.has_error() {
                        self.error(
                            Code::TypeMismatch,
                            stmt.span,
                            format!("`return;` needs a value: {desc} returns `{ret}`"),
                        );
                    }
                }
            },
        }
    }

    pub(super) fn assign(
        &mut self,
        stmt: &Stmt,
        target: &'f Expr,
        op: Option<BinOp>,
        value: &'f Expr,
    ) {
        let target_ty = self.place(target);
        let Some(op) = op else {
            self.expr(value, Want::Ty(&target_ty));
            return;
        };
        let value_ty = self.expr(value, Want::Value);
        if target_ty.has_error() || value_ty.has_error() {
            return;
        }
        let fits = binop_type(op, &target_ty, &value_ty).is_some_and(|ty| ty.fits(&target_ty));
        if !fits {
            let help = match (&target_ty, &value_ty) {
                (Type::Float | Type::Color, Type::Int) => Some(int_to_float_help(value)),
                (Type::Int, Type::Float) => Some("use int(x) to convert a float to an int".into()),
                _ => None,
            };
            let mut diag = Diagnostic::error(
                Code::TypeMismatch,
                Span::new(target.span.start, stmt.span.end.max(value.span.end)),
                format!(
                    "cannot apply `{}=` to `{target_ty}` and `{value_ty}`",
                    op.as_str()
                ),
            )
            .with_types(TypeFacts::Operands {
                op,
                assign: true,
                left: target_ty.clone(),
                right: value_ty.clone(),
            });
            diag.help = help;
            self.report(diag);
        }
    }

    /// Checks the left of an assignment; returns the type stored there.
    fn place(&mut self, target: &'f Expr) -> Type {
        let ty = match &target.kind {
            ExprKind::Name(name) => return self.place_name(target, name),
            ExprKind::Index(base, index) => {
                let base_ty = self.place_base(base);
                self.expr(index, Want::Ty(&Type::Int));
                self.element_type(target, &base_ty)
            }
            ExprKind::Error => Type::Error,
            ExprKind::Field(..) => {
                self.error_help(
                    Code::InvalidAssignTarget,
                    target.span,
                    "cannot assign to a field: colours and images cannot be changed",
                    Some("build a new value instead, e.g. `c = rgba(0.0, c.g, c.b, c.a);`".into()),
                );
                self.expr(target, Want::Any);
                return Type::Error;
            }
            _ => {
                self.error_help(
                    Code::InvalidAssignTarget,
                    target.span,
                    "cannot assign to this expression",
                    Some(
                        "the left of `=` must be a `var` or an element of one, like `a[i]`".into(),
                    ),
                );
                self.expr(target, Want::Any);
                return Type::Error;
            }
        };
        self.set_type(target.id, ty.clone());
        ty
    }

    fn place_base(&mut self, base: &'f Expr) -> Type {
        match &base.kind {
            ExprKind::Name(_) | ExprKind::Index(..) | ExprKind::Error => self.place(base),
            _ => {
                self.error_help(
                    Code::InvalidAssignTarget,
                    base.span,
                    "cannot assign to an element of a temporary value",
                    Some("store the array in a `var` first".into()),
                );
                self.expr(base, Want::Value);
                Type::Error
            }
        }
    }

    fn place_name(&mut self, target: &'f Expr, name: &str) -> Type {
        if name.is_empty() {
            return Type::Error;
        }
        let span = target.span;
        let ty = match self.resolve(name) {
            Some(Res::Local(id)) => {
                self.an.names.insert(target.id, Res::Local(id));
                self.use_local(id, false);
                let (message, help) = match self.binding_kind(id) {
                    BindingKind::Var => (None, None),
                    BindingKind::Let => (
                        Some(format!(
                            "cannot assign to `{name}`: it is declared with `let`"
                        )),
                        Some(format!("declare it with `var {name}` to change it")),
                    ),
                    BindingKind::Param => (
                        Some(format!("cannot assign to parameter `{name}`")),
                        Some(format!(
                            "copy it into a variable first: `var {name} = {name};`"
                        )),
                    ),
                    BindingKind::For => (
                        Some(format!("cannot assign to loop variable `{name}`")),
                        None,
                    ),
                };
                if let Some(message) = message {
                    self.error_help(Code::Immutable, span, message, help);
                }
                self.an.binding_type(id).clone()
            }
            Some(Res::Param(id)) => {
                self.an.names.insert(target.id, Res::Param(id));
                self.error(
                    Code::Immutable,
                    span,
                    format!("cannot assign to param `{name}`: params are read-only"),
                );
                self.an.item_type(id).clone()
            }
            Some(Res::Function(id)) => {
                self.an.names.insert(target.id, Res::Function(id));
                self.error(
                    Code::Immutable,
                    span,
                    format!("cannot assign to function `{name}`"),
                );
                Type::Error
            }
            Some(Res::Builtin(builtin)) => {
                self.an.names.insert(target.id, Res::Builtin(builtin));
                self.error(
                    Code::Immutable,
                    span,
                    format!("cannot assign to builtin `{name}`"),
                );
                Type::Error
            }
            None if self.item_named(name, super::ItemKindOf::Pipeline).is_some() => {
                self.error(
                    Code::Immutable,
                    span,
                    format!("cannot assign to pipeline `{name}`"),
                );
                Type::Error
            }
            None => {
                self.unknown_name(span, name);
                Type::Error
            }
        };
        self.set_type(target.id, ty.clone());
        ty
    }
}
