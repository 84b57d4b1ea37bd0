//! Checking calls: of functions and filters, of closure values, of methods,
//! and of builtins (overloads, `print`, array builtins), with their arguments.

use super::{were, Checker, Want};
use crate::builtins::{self, Builtin, Overload, P};
use crate::check::{Callee, Res};
use crate::diag::{plural, Code};
use crate::syntax::ast::{Expr, ExprKind, Ident, ItemId};
use crate::syntax::span::Span;
use crate::types::Type;

impl<'f> Checker<'f> {
    // Calls are split into small functions: in debug builds a frame holds
    // the locals of every branch, and calls nest as deep as expressions do.
    pub(super) fn call(&mut self, expr: &'f Expr, callee: &'f Expr, args: &'f [Expr]) -> Type {
        match &callee.kind {
            ExprKind::Name(name) if !name.is_empty() => self.call_name(expr, callee, name, args),
            ExprKind::Field(receiver, method) => match self.module_item(receiver, method) {
                None => self.method_call(expr, callee, receiver, method, args),
                Some(Some(Res::Function(id))) => {
                    let name = format!("{}.{}", receiver_name(receiver), method.name);
                    self.call_function(expr, callee, id, &name, args)
                }
                Some(found) => {
                    if let Some(Res::Param(id)) = found {
                        self.an.names.insert(callee.id, Res::Param(id));
                        self.set_type(callee.id, self.an.item_type(id).clone());
                        self.not_callable(
                            callee.span,
                            format!("`{}` is a param, not a function", method.name),
                        );
                    }
                    self.args_any(args);
                    Type::Error
                }
            },
            _ => {
                let ty = self.expr(callee, Want::Value);
                self.call_value(expr, callee, &ty, args)
            }
        }
    }

    fn call_name(
        &mut self,
        expr: &'f Expr,
        callee: &'f Expr,
        name: &str,
        args: &'f [Expr],
    ) -> Type {
        match self.resolve(name) {
            Some(Res::Local(id)) => {
                self.an.names.insert(callee.id, Res::Local(id));
                self.use_local(id, true);
                let ty = self.an.binding_type(id).clone();
                self.set_type(callee.id, ty.clone());
                self.call_value(expr, callee, &ty, args)
            }
            Some(Res::Function(id)) => self.call_function(expr, callee, id, name, args),
            Some(Res::Param(id)) => {
                self.an.names.insert(callee.id, Res::Param(id));
                let ty = self.an.item_type(id).clone();
                self.set_type(callee.id, ty);
                self.not_callable(callee.span, format!("`{name}` is a param, not a function"));
                self.args_any(args);
                Type::Error
            }
            Some(Res::Builtin(builtin)) => {
                self.an.names.insert(callee.id, Res::Builtin(builtin));
                self.call_builtin(expr, callee, builtin, args)
            }
            None => {
                if self.item_named(name, super::ItemKindOf::Pipeline).is_some() {
                    self.not_callable(
                        callee.span,
                        format!("`{name}` is a pipeline, not a function"),
                    );
                } else {
                    self.unknown_name(callee.span, name);
                }
                self.set_type(callee.id, Type::Error);
                self.args_any(args);
                Type::Error
            }
        }
    }

    #[cold]
    fn not_callable(&mut self, span: Span, message: String) {
        self.error(Code::NotCallable, span, message);
    }

    fn call_function(
        &mut self,
        expr: &'f Expr,
        callee: &'f Expr,
        id: ItemId,
        name: &str,
        args: &'f [Expr],
    ) -> Type {
        self.an.names.insert(callee.id, Res::Function(id));
        let ty = self.an.item_type(id).clone();
        self.set_type(callee.id, ty.clone());
        self.an.calls.insert(expr.id, Callee::Function(id));
        match ty {
            Type::Fn(f) => {
                self.call_args(expr, name, &f.params, args);
                f.ret.clone()
            }
            _ => {
                self.args_any(args);
                Type::Error
            }
        }
    }

    fn args_any(&mut self, args: &'f [Expr]) {
        for arg in args {
            self.expr(arg, Want::Value);
        }
    }

    /// Checks arguments against parameter types (E0005 on a count mismatch);
    /// `name` is the function's name, or empty for a function value.
    fn call_args(&mut self, expr: &Expr, name: &str, params: &[Type], args: &'f [Expr]) {
        if params.len() != args.len() {
            self.arg_count(expr.span, name, params.len(), args.len(), None);
        }
        for (idx, arg) in args.iter().enumerate() {
            match params.get(idx) {
                Some(param) => self.expr(arg, Want::Ty(param)),
                None => self.expr(arg, Want::Value),
            };
        }
    }

    #[cold]
    fn arg_count(
        &mut self,
        span: Span,
        name: &str,
        wanted: usize,
        given: usize,
        help: Option<String>,
    ) {
        let what = if name.is_empty() {
            "this function".to_string()
        } else {
            format!("`{name}`")
        };
        let message = format!(
            "{what} takes {}, but {}",
            plural(wanted as u64, "argument"),
            were(given)
        );
        self.error_help(Code::ArgCount, span, message, help);
    }

    fn call_value(&mut self, expr: &Expr, callee: &Expr, ty: &Type, args: &'f [Expr]) -> Type {
        match ty {
            Type::Fn(f) => {
                let (params, ret) = (&f.params, &f.ret);
                self.an.calls.insert(expr.id, Callee::Value);
                let name = match &callee.kind {
                    ExprKind::Name(name) => name.as_str(),
                    _ => "",
                };
                self.call_args(expr, name, params, args);
                ret.clone()
            }
            Type::Error => {
                self.args_any(args);
                Type::Error
            }
            other => {
                let message = match &callee.kind {
                    ExprKind::Name(name) => {
                        format!("`{name}` is not a function: its type is `{other}`")
                    }
                    _ => format!("this is not a function: its type is `{other}`"),
                };
                self.not_callable(callee.span, message);
                self.args_any(args);
                Type::Error
            }
        }
    }

    fn method_call(
        &mut self,
        expr: &'f Expr,
        callee: &'f Expr,
        receiver: &'f Expr,
        method: &Ident,
        args: &'f [Expr],
    ) -> Type {
        let receiver_ty = self.expr(receiver, Want::Value);
        if receiver_ty.has_error() || method.name.is_empty() {
            self.set_type(callee.id, Type::Error);
            self.args_any(args);
            return Type::Error;
        }
        if let Some(found) = builtins::method(&receiver_ty, &method.name) {
            let params: Vec<Type> = found.params.iter().map(|(_, p)| p.to_type()).collect();
            let ret = found.ret.to_type();
            self.set_type(callee.id, Type::func(params.clone(), ret.clone()));
            self.an.calls.insert(expr.id, Callee::Method(found));
            self.call_args(expr, &method.name, &params, args);
            return ret;
        }
        self.bad_method(callee, &receiver_ty, method);
        self.args_any(args);
        Type::Error
    }

    #[cold]
    fn bad_method(&mut self, callee: &Expr, receiver_ty: &Type, method: &Ident) {
        if let Some(found) = builtins::field(receiver_ty, &method.name) {
            self.set_type(callee.id, found.ty.to_type());
            self.not_callable(
                callee.span,
                format!(
                    "`{}` is a field of `{receiver_ty}`, not a method",
                    method.name
                ),
            );
        } else {
            self.set_type(callee.id, Type::Error);
            self.unknown_member(receiver_ty, method, "method");
        }
    }

    fn call_builtin(
        &mut self,
        expr: &'f Expr,
        callee: &'f Expr,
        builtin: &'static Builtin,
        args: &'f [Expr],
    ) -> Type {
        self.set_type(callee.id, Type::Error);
        let variadic = builtin
            .overloads
            .iter()
            .find(|overload| overload.params.iter().any(|(_, p)| *p == P::Variadic));
        if let Some(overload) = variadic {
            return self.call_print(expr, builtin, overload, args);
        }
        match builtin.overloads {
            [overload] if overload.params.iter().any(|(_, p)| *p == P::AnyArray) => {
                self.call_any_array(expr, builtin, overload, args)
            }
            [overload] => {
                // One signature: each argument is checked against it, for precise messages.
                let params: Vec<Type> = overload.params.iter().map(|(_, p)| p.to_type()).collect();
                let ret = overload.ret.to_type();
                self.set_type(callee.id, Type::func(params.clone(), ret.clone()));
                self.call_args(expr, builtin.name, &params, args);
                self.an.calls.insert(expr.id, Callee::Builtin(overload.op));
                ret
            }
            _ => self.call_overloaded(expr, callee, builtin, args),
        }
    }

    /// `print`: any number of values of any type but `()` and functions.
    fn call_print(
        &mut self,
        expr: &'f Expr,
        builtin: &'static Builtin,
        overload: &'static Overload,
        args: &'f [Expr],
    ) -> Type {
        for arg in args {
            let ty = self.expr(arg, Want::Any);
            let problem = match ty {
                Type::Unit => Some("this has no value"),
                Type::Fn(..) if !ty.has_error() => Some("functions cannot be printed"),
                _ => None,
            };
            if let Some(problem) = problem {
                self.error(
                    Code::TypeMismatch,
                    arg.span,
                    format!("`{}` cannot print this: {problem}", builtin.name),
                );
            }
        }
        self.an.calls.insert(expr.id, Callee::Builtin(overload.op));
        overload.ret.to_type()
    }

    /// `len`: one array of any type.
    fn call_any_array(
        &mut self,
        expr: &'f Expr,
        builtin: &'static Builtin,
        overload: &'static Overload,
        args: &'f [Expr],
    ) -> Type {
        if args.len() != overload.params.len() {
            self.arg_count(
                expr.span,
                builtin.name,
                overload.params.len(),
                args.len(),
                None,
            );
        }
        for arg in args {
            let ty = self.expr(arg, Want::Value);
            if !matches!(ty, Type::Array(..) | Type::Error) {
                self.error(
                    Code::TypeMismatch,
                    arg.span,
                    format!("`{}` expects an array, found `{ty}`", builtin.name),
                );
            }
        }
        self.an.calls.insert(expr.id, Callee::Builtin(overload.op));
        overload.ret.to_type()
    }

    /// A builtin with several signatures: the first that fits the argument types.
    fn call_overloaded(
        &mut self,
        expr: &'f Expr,
        callee: &'f Expr,
        builtin: &'static Builtin,
        args: &'f [Expr],
    ) -> Type {
        let types: Vec<Type> = args.iter().map(|arg| self.expr(arg, Want::Value)).collect();
        let chosen = builtin.overloads.iter().find(|overload| {
            overload.params.len() == types.len()
                && overload
                    .params
                    .iter()
                    .zip(&types)
                    .all(|((_, param), ty)| ty.fits(&param.to_type()))
        });
        match chosen {
            Some(overload) => {
                let params: Vec<Type> = overload.params.iter().map(|(_, p)| p.to_type()).collect();
                let ret = overload.ret.to_type();
                self.set_type(callee.id, Type::func(params, ret.clone()));
                self.an.calls.insert(expr.id, Callee::Builtin(overload.op));
                ret
            }
            None => self.no_overload(expr, builtin, &types),
        }
    }

    #[cold]
    fn no_overload(&mut self, expr: &Expr, builtin: &'static Builtin, types: &[Type]) -> Type {
        let name = builtin.name;
        let first_ret = builtin
            .overloads
            .first()
            .map_or(P::Unit, |overload| overload.ret);
        let fallback = if builtin
            .overloads
            .iter()
            .all(|overload| overload.ret == first_ret)
        {
            first_ret.to_type()
        } else {
            Type::Error
        };
        let signatures = format!("the signatures are: {}", builtin.signatures().join("; "));
        let counts: Vec<usize> = builtin.overloads.iter().map(|o| o.params.len()).collect();
        if !counts.contains(&types.len()) {
            if counts.iter().all(|count| Some(count) == counts.first()) {
                let wanted = counts.first().copied().unwrap_or(0);
                self.arg_count(expr.span, name, wanted, types.len(), Some(signatures));
            } else {
                self.error_help(
                    Code::ArgCount,
                    expr.span,
                    format!(
                        "no signature of `{name}` takes {}",
                        plural(types.len() as u64, "argument")
                    ),
                    Some(signatures),
                );
            }
            return fallback;
        }
        let mut help = signatures;
        if types.contains(&Type::Int) && types.contains(&Type::Float) {
            help.push_str("; use float(x) to convert an int");
        }
        let shown: Vec<String> = types.iter().map(Type::to_string).collect();
        self.error_help(
            Code::TypeMismatch,
            expr.span,
            format!(
                "`{name}` cannot take arguments of types ({})",
                shown.join(", ")
            ),
            Some(help),
        );
        fallback
    }
}

/// The `m` of a qualified callee `m.name`.
fn receiver_name(receiver: &Expr) -> &str {
    match &receiver.kind {
        ExprKind::Name(name) => name,
        _ => "",
    }
}
