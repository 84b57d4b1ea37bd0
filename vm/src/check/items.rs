//! The item level: names and signatures first (items may be used before
//! their definition), then `param` constants, bodies, pipelines, and the
//! unused-variable warnings.

use super::consts::{self, compare, show, within, NoValue};
use super::infer::{contains_str, BindingKind, Checker, FnCtx, ItemKindOf, RetMode, Want};
use super::suggest::did_you_mean;
use super::{Analysis, Body, Const, Owner, ParamInfo, Res, StageInfo};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::{
    BindingId, ExprId, FnItem, ItemId, ItemKind, ParamItem, PipelineItem, SourceFile,
};
use crate::syntax::reuse::{Memo, Shift};
use crate::syntax::span::Span;
use crate::types::Type;
use foldhash::{HashMap, HashMapExt};
use std::cmp::Ordering;

/// The last version of a file, whose checked function bodies may be reused.
pub(super) struct Reuse<'a> {
    /// The lowering memo of the file being checked (which items it reused).
    pub memo: &'a Memo,
    /// The last version's AST, lowering memo and analysis.
    pub old_file: &'a SourceFile,
    pub old_memo: &'a Memo,
    pub old: &'a Analysis,
}

/// Checks a whole file; with `reuse`, a function whose item lowering reused
/// takes its body's results from the last analysis instead of being checked
/// again, when the items it may refer to are as they were.
pub(super) fn check_file(file: &SourceFile, reuse: Option<Reuse<'_>>) -> Analysis {
    check_items(file, None, reuse)
}

/// Checks a program of several files linked into one (`crate::modules::link`): each
/// file's items see that file's scope.
pub(super) fn check_linked(
    linked: &crate::modules::Linked,
    previous: Option<(&crate::modules::Linked, &Analysis)>,
) -> Analysis {
    let reuse = previous
        .filter(|(old, _)| old.scopes == linked.scopes && old.item_file == linked.item_file)
        .map(|(old, analysis)| Reuse {
            memo: &linked.memo,
            old_file: &old.file,
            old_memo: &old.memo,
            old: analysis,
        });
    check_items(&linked.file, Some(linked), reuse)
}

fn check_items(
    file: &SourceFile,
    link: Option<&crate::modules::Linked>,
    reuse: Option<Reuse<'_>>,
) -> Analysis {
    let mut checker = Checker::new(file);
    checker.an.bodies = vec![None; file.items.len()];
    checker.collect_items();
    if let Some(link) = link {
        checker.link = Some(link);
        checker.enter_file_of(ItemId(0));
    }
    for (idx, item) in file.items.iter().enumerate() {
        if let ItemKind::Param(param) = &item.kind {
            checker.enter_file_of(ItemId(idx as u32));
            checker.check_param(ItemId(idx as u32), param);
        }
    }
    let reuse = reuse.filter(|reuse| checker.same_context(reuse));
    for (idx, item) in file.items.iter().enumerate() {
        if let ItemKind::Function(function) = &item.kind {
            let id = ItemId(idx as u32);
            if reuse
                .as_ref()
                .is_some_and(|reuse| checker.copy_body(id, reuse))
            {
                continue;
            }
            let start = checker.an.diagnostics.len();
            checker.enter_file_of(id);
            checker.check_function(id, function);
            let diags = checker
                .an
                .diagnostics
                .get(start..)
                .unwrap_or_default()
                .to_vec();
            if let Some(slot) = checker.an.bodies.get_mut(idx) {
                *slot = Some(Body {
                    diags,
                    broken: false,
                    reused: false,
                });
            }
        }
    }
    for (idx, item) in file.items.iter().enumerate() {
        if let ItemKind::Pipeline(pipeline) = &item.kind {
            checker.enter_file_of(ItemId(idx as u32));
            checker.check_pipeline(ItemId(idx as u32), pipeline);
        }
    }
    if link.is_some() && !file.items.is_empty() {
        checker.enter_file_of(ItemId(0));
    }
    checker.check_main();
    checker.unused();
    for (idx, body) in checker.an.bodies.iter_mut().enumerate() {
        if let Some(body) = body {
            body.broken = checker.broken_items.contains(&ItemId(idx as u32));
        }
    }
    let mut analysis = checker.an;
    // A total order: the same diagnostics come out in the same order however
    // they were found (checked or reused).
    analysis.diagnostics.sort_by(|a, b| {
        (
            a.span.start,
            a.span.end,
            a.code,
            a.is_error(),
            &a.message,
            &a.help,
        )
            .cmp(&(
                b.span.start,
                b.span.end,
                b.code,
                b.is_error(),
                &b.message,
                &b.help,
            ))
    });
    analysis
}

fn is_param_type(ty: &Type) -> bool {
    matches!(ty, Type::Int | Type::Float | Type::Bool | Type::Color)
}

impl<'f> Checker<'f> {
    /// Whether the bodies of the last version of the file saw the same items
    /// as this one (names, kinds, types): then a body whose text did not change
    /// checks to what it did then. A param's value and range are not part of it:
    /// bodies read a param as a value of its type (only pipelines, checked every
    /// time, read its range).
    fn same_context(&self, reuse: &Reuse<'_>) -> bool {
        let (new, old) = (&self.file.items, &reuse.old_file.items);
        let kind = |kind: &ItemKind| match kind {
            ItemKind::Param(_) => 0,
            ItemKind::Function(function) => 1 + u8::from(function.is_filter),
            ItemKind::Pipeline(_) => 3,
        };
        new.len() == old.len()
            && reuse.old.bodies.len() == old.len()
            && new
                .iter()
                .zip(old)
                .all(|(a, b)| a.name.name == b.name.name && kind(&a.kind) == kind(&b.kind))
            && self.an.item_types == reuse.old.item_types
    }

    /// Takes the results of checking function `id`'s body from the last
    /// analysis, moved as lowering moved the item; `false` (nothing done)
    /// when the item was lowered afresh.
    fn copy_body(&mut self, id: ItemId, reuse: &Reuse<'_>) -> bool {
        let idx = id.0 as usize;
        let Some(memo) = reuse.memo.item(idx) else {
            return false;
        };
        let Some((old_idx, shift)) = memo.origin else {
            return false;
        };
        let (Some(old_memo), Some(Some(body))) =
            (reuse.old_memo.item(old_idx), reuse.old.bodies.get(old_idx))
        else {
            return false;
        };
        if old_idx != idx
            || old_memo.exprs.len() != memo.exprs.len()
            || old_memo.bindings.len() != memo.bindings.len()
        {
            return false;
        }
        let old = reuse.old;
        // The ids all move by one offset: the types are copied range to range.
        let span = |ids: &std::ops::Range<u32>| ids.start as usize..ids.end as usize;
        let exprs = span(&old_memo.exprs);
        let bindings = span(&old_memo.bindings);
        let moved = |ids: &std::ops::Range<usize>, to: usize| to..to + ids.len();
        let to_exprs = moved(
            &exprs,
            shift.expr_id(ExprId(old_memo.exprs.start)).0 as usize,
        );
        let to_bindings = moved(
            &bindings,
            shift.binding_id(BindingId(old_memo.bindings.start)).0 as usize,
        );
        if let (Some(from), Some(to)) = (
            old.expr_types.get(exprs.clone()),
            self.an.expr_types.get_mut(to_exprs),
        ) {
            to.clone_from_slice(from);
        }
        if let (Some(from), Some(to)) = (
            old.binding_types.get(bindings.clone()),
            self.an.binding_types.get_mut(to_bindings.clone()),
        ) {
            to.clone_from_slice(from);
        }
        if let (Some(from), Some(to)) = (
            old.binding_mutable.get(bindings.clone()),
            self.an.binding_mutable.get_mut(to_bindings),
        ) {
            to.copy_from_slice(from);
        }
        if shift == Shift::NONE {
            // Unmoved (a used file's item, an item before the edit): slots copied.
            self.an.names.copy_range(&old.names, exprs.clone());
            self.an.calls.copy_range(&old.calls, exprs.clone());
            if let (Some(from), Some(to)) = (
                old.binding_owner.get(bindings.clone()),
                self.an.binding_owner.get_mut(bindings.clone()),
            ) {
                to.copy_from_slice(from);
            }
            if !old.captured.is_empty() {
                for raw in old_memo.bindings.clone() {
                    if old.captured.contains(&BindingId(raw)) {
                        self.an.captured.insert(BindingId(raw));
                    }
                }
            }
            return self.reuse_diags(id, body, shift);
        }
        for raw in old_memo.exprs.clone() {
            let (from, to) = (ExprId(raw), shift.expr_id(ExprId(raw)));
            if let Some(res) = old.names.get(&from) {
                let res = match *res {
                    Res::Local(binding) => Res::Local(shift.binding_id(binding)),
                    other => other,
                };
                self.an.names.insert(to, res);
            }
            if let Some(callee) = old.calls.get(&from) {
                self.an.calls.insert(to, *callee);
            }
        }
        for raw in old_memo.bindings.clone() {
            let (from, to) = (raw as usize, shift.binding_id(BindingId(raw)));
            let at = to.0 as usize;
            if let (Some(owner), Some(slot)) = (
                old.binding_owner.get(from),
                self.an.binding_owner.get_mut(at),
            ) {
                *slot = match *owner {
                    Owner::Closure(expr) => Owner::Closure(shift.expr_id(expr)),
                    other => other,
                };
            }
            if old.captured.contains(&BindingId(raw)) {
                self.an.captured.insert(to);
            }
        }
        self.reuse_diags(id, body, shift)
    }

    /// The rest of [`Checker::copy_body`]: the body's diagnostics, moved, and whether
    /// it is broken.
    fn reuse_diags(&mut self, id: ItemId, body: &Body, shift: Shift) -> bool {
        let idx = id.0 as usize;
        let diags: Vec<Diagnostic> = body
            .diags
            .iter()
            .map(|diag| Diagnostic {
                span: shift.moved(diag.span),
                ..diag.clone()
            })
            .collect();
        self.an.diagnostics.extend(diags.iter().cloned());
        if body.broken {
            self.broken_items.insert(id);
        }
        if let Some(slot) = self.an.bodies.get_mut(idx) {
            *slot = Some(Body {
                diags,
                broken: body.broken,
                reused: true,
            });
        }
        true
    }

    /// Item names (E0007 on duplicates) and types.
    fn collect_items(&mut self) {
        let file = self.file;
        let mut seen: HashMap<&str, ItemId> = HashMap::new();
        for (idx, item) in file.items.iter().enumerate() {
            let id = ItemId(idx as u32);
            let name = item.name.name.as_str();
            if !name.is_empty() {
                if seen.contains_key(name) {
                    self.error_help(
                        Code::Duplicate,
                        item.name.span,
                        format!("`{name}` is defined more than once"),
                        Some("items share one namespace: rename one of them".into()),
                    );
                } else {
                    seen.insert(name, id);
                }
            }
            let ty = match &item.kind {
                ItemKind::Param(param) => {
                    let ty = self.resolve_type(&param.ty);
                    if !is_param_type(&ty) && !ty.has_error() {
                        self.error(
                            Code::UnsupportedType,
                            param.ty.span(),
                            format!("a `param` must be an int, float, bool or color, not `{ty}`"),
                        );
                    }
                    if !name.is_empty() {
                        self.param_items.entry(name).or_insert(id);
                    }
                    ty
                }
                ItemKind::Function(function) => {
                    let params = self.param_types(&function.params);
                    let ret = match &function.ret {
                        Some(ret) => {
                            let ty = self.resolve_type(ret);
                            if contains_str(&ty) {
                                self.error_help(
                                    Code::UnsupportedType,
                                    ret.span(),
                                    "a function cannot return a `str`",
                                    Some("strings can only be printed".into()),
                                );
                            }
                            ty
                        }
                        None => Type::Unit,
                    };
                    if function.is_filter {
                        self.check_filter_signature(item, function, &params, &ret);
                    }
                    if !name.is_empty() {
                        self.fn_items.entry(name).or_insert(id);
                    }
                    Type::func(params, ret)
                }
                ItemKind::Pipeline(_) => {
                    if !name.is_empty() {
                        self.pipeline_items.entry(name).or_insert(id);
                    }
                    Type::Unit
                }
            };
            if let Some(slot) = self.an.item_types.get_mut(idx) {
                *slot = ty;
            }
        }
    }

    /// E0018 unless the filter is `(color) -> color` or `(image, int, int) -> color`.
    fn check_filter_signature(
        &mut self,
        item: &crate::syntax::ast::Item,
        function: &FnItem,
        params: &[Type],
        ret: &Type,
    ) {
        if params.iter().any(Type::has_error) || ret.has_error() {
            return;
        }
        let point = params == [Type::Color];
        let kernel = params == [Type::Image, Type::Int, Type::Int];
        if (point || kernel) && *ret == Type::Color {
            return;
        }
        let end = function
            .ret
            .as_ref()
            .map(|ret| ret.span().end)
            .or_else(|| function.params.last().map(|param| param.span.end))
            .unwrap_or(item.name.span.end)
            .max(item.name.span.end);
        self.error_help(
            Code::BadFilterSignature,
            Span::new(item.span.start, end),
            "a filter must be a point filter `filter f(c: color) -> color` or a kernel filter `filter f(src: image, x: int, y: int) -> color`",
            Some(format!(
                "this one is `fn({}) -> {ret}`",
                params
                    .iter()
                    .map(Type::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }

    /// Enters a context outside any function (constants).
    fn const_context(&mut self) {
        self.scopes = vec![Vec::new()];
        self.fns.push(FnCtx {
            owner: Owner::None,
            ret: RetMode::Nothing,
            loops: 0,
            desc: String::new(),
        });
    }

    fn leave_context(&mut self) {
        self.fns.pop();
        self.scopes.clear();
        self.current_item = None;
    }

    /// Checks `expr` and evaluates it as a constant (E0017 when it is not one).
    fn constant(
        &mut self,
        expr: &'f crate::syntax::ast::Expr,
        ty: &Type,
        what: &str,
    ) -> Option<Const> {
        let before = self.errors;
        let want = if ty.has_error() {
            Want::Value
        } else {
            Want::Ty(ty)
        };
        let found = self.expr(expr, want);
        if self.errors != before || found.has_error() {
            return None;
        }
        match consts::eval(&self.an, expr) {
            Ok(value) => Some(value),
            Err(NoValue::Broken) => None,
            Err(NoValue::NotConstant) => {
                self.error_help(
                    Code::NotConstant,
                    expr.span,
                    format!("{what} must be a constant"),
                    Some(
                        "use a literal such as `0.5` or `-1`, or rgb/rgba/gray of literals".into(),
                    ),
                );
                None
            }
            Err(NoValue::Overflow) => {
                self.error(
                    Code::NotConstant,
                    expr.span,
                    format!("{what} overflows: its value does not fit its type"),
                );
                None
            }
        }
    }

    fn check_param(&mut self, id: ItemId, param: &'f ParamItem) {
        let ty = self.an.item_type(id).clone();
        let supported = is_param_type(&ty);
        let name = self
            .file
            .items
            .get(id.0 as usize)
            .map_or("", |item| item.name.name.as_str());
        self.const_context();
        self.current_item = Some(id);
        let before = self.errors;
        let expected = if supported { ty.clone() } else { Type::Error };
        let default = self.constant(&param.default, &expected, "the default of a `param`");
        let mut range = None;
        let mut range_ok = true;
        if let Some((min, max)) = &param.range {
            let span = min.span.cover(max.span);
            if supported && !matches!(ty, Type::Int | Type::Float) {
                self.error(
                    Code::UnsupportedType,
                    span,
                    format!("a range is only allowed on int and float params, not `{ty}`"),
                );
                self.expr(min, Want::Value);
                self.expr(max, Want::Value);
                range_ok = false;
            } else {
                let low = self.constant(min, &expected, "the range of a `param`");
                let high = self.constant(max, &expected, "the range of a `param`");
                match (low, high) {
                    (Some(low), Some(high)) => {
                        if compare(low, high) == Some(Ordering::Greater) {
                            self.error(
                                Code::ParamOutOfRange,
                                span,
                                format!(
                                    "the range `{}..{}` of `{name}` is empty: its min is above its max",
                                    show(low),
                                    show(high)
                                ),
                            );
                            range_ok = false;
                        } else {
                            range = Some((low, high));
                        }
                    }
                    _ => range_ok = false,
                }
            }
        }
        if let (Some(value), Some((low, high))) = (default, range) {
            if !within(value, low, high) {
                self.error(
                    Code::ParamOutOfRange,
                    param.default.span,
                    format!(
                        "the default `{}` of `{name}` is outside its range `{}..{}`",
                        show(value),
                        show(low),
                        show(high)
                    ),
                );
            }
        }
        self.leave_context();
        if let Some(default) = default {
            if supported && range_ok && self.errors == before {
                self.an.params.insert(id, ParamInfo { default, range });
            }
        }
    }

    fn check_function(&mut self, id: ItemId, function: &'f FnItem) {
        let Some(item) = self.file.items.get(id.0 as usize) else {
            return;
        };
        let (params, ret) = match self.an.item_type(id) {
            Type::Fn(f) => (f.params.clone(), f.ret.clone()),
            _ => (Vec::new(), Type::Error),
        };
        let word = if function.is_filter {
            "filter"
        } else {
            "function"
        };
        self.current_item = Some(id);
        self.scopes = vec![Vec::new()];
        self.fns.push(FnCtx {
            owner: Owner::Item(id),
            ret: RetMode::Declared(ret.clone()),
            loops: 0,
            desc: format!("{word} `{}`", item.name.name),
        });
        for (param, ty) in function
            .params
            .iter()
            .zip(params.iter().chain(std::iter::repeat(&Type::Error)))
        {
            self.declare(&param.binding, ty.clone(), BindingKind::Param);
        }
        self.body(&function.body, &ret);
        self.fns.pop();
        self.scopes.clear();
        self.current_item = None;
    }

    fn check_pipeline(&mut self, id: ItemId, pipeline: &'f PipelineItem) {
        let file = self.file;
        for (index, stage) in pipeline.stages.iter().enumerate() {
            let filter = self.stage_filter(stage);
            let mut overrides = Vec::new();
            let mut seen: Vec<&str> = Vec::new();
            self.const_context();
            self.current_item = Some(id);
            for (name, value) in &stage.args {
                if name.name.is_empty() {
                    self.expr(value, Want::Value);
                    continue;
                }
                if seen.contains(&name.name.as_str()) {
                    self.error(
                        Code::Duplicate,
                        name.span,
                        format!("`{}` is overridden twice in this stage", name.name),
                    );
                }
                seen.push(name.name.as_str());
                let Some(param) = self.stage_param(filter, &name.name) else {
                    let is_other_item = file.item(&name.name).is_some();
                    let message = if is_other_item {
                        format!("`{}` is not a param", name.name)
                    } else {
                        format!("unknown param `{}`", name.name)
                    };
                    let candidates = self.names_of(ItemKindOf::Param);
                    let mut sorted = candidates;
                    sorted.sort_unstable();
                    let help = did_you_mean(&name.name, sorted);
                    self.error_help(Code::BadPipelineStage, name.span, message, help);
                    self.expr(value, Want::Value);
                    continue;
                };
                let ty = self.an.item_type(param).clone();
                let expected = if is_param_type(&ty) { ty } else { Type::Error };
                let Some(constant) = self.constant(value, &expected, "a pipeline argument") else {
                    continue;
                };
                if let Some(ParamInfo {
                    range: Some((low, high)),
                    ..
                }) = self.an.params.get(&param)
                {
                    let (low, high) = (*low, *high);
                    if !within(constant, low, high) {
                        self.error(
                            Code::ParamOutOfRange,
                            value.span,
                            format!(
                                "`{}` is outside the range `{}..{}` of `{}`",
                                show(constant),
                                show(low),
                                show(high),
                                name.name
                            ),
                        );
                        continue;
                    }
                }
                overrides.push((param, constant));
            }
            self.leave_context();
            if let Some(filter) = filter {
                self.an
                    .stages
                    .insert((id, index), StageInfo { filter, overrides });
            }
        }
    }

    /// The param `name` a stage of `filter` overrides: one of the filter's own file
    /// (in a linked program), else of the current file.
    fn stage_param(&self, filter: Option<ItemId>, name: &str) -> Option<ItemId> {
        if let (Some(link), Some(filter)) = (self.link, filter) {
            let file = link.item_file.get(filter.0 as usize).copied()?;
            let id = *link.scopes.get(file)?.own.get(name)?;
            return matches!(
                self.file.items.get(id.0 as usize).map(|item| &item.kind),
                Some(ItemKind::Param(_))
            )
            .then_some(id);
        }
        self.item_named(name, ItemKindOf::Param)
    }

    /// E0025/E0026 for a stage naming `m.name` that is not there, or an ambiguous
    /// unqualified name; `true` when reported.
    fn stage_link_error(&mut self, stage: &crate::syntax::ast::Stage, key: &str) -> bool {
        let Some(link) = self.link else { return false };
        let Some(scope) = link.scopes.get(self.cur_file) else {
            return false;
        };
        let name = &stage.name.name;
        if let Some(module) = &stage.module {
            let span = module.span.cover(stage.name.span);
            let message = if scope.private.contains_key(key) {
                format!(
                    "`{name}` is private to `{}` (it starts with `_`)",
                    module.name
                )
            } else if scope.namespaces.contains_key(&module.name) {
                format!("`{}` has no public filter `{name}`", module.name)
            } else {
                format!("no used file is called `{}`", module.name)
            };
            let mut namespaces: Vec<&str> = scope.namespaces.keys().map(String::as_str).collect();
            namespaces.sort_unstable();
            let help = (!scope.namespaces.contains_key(&module.name))
                .then(|| did_you_mean(&module.name, namespaces))
                .flatten();
            self.error_help(Code::UnknownItem, span, message, help);
            return true;
        }
        if let Some(files) = scope.ambiguous.get(name.as_str()) {
            self.error_help(
                Code::Ambiguous,
                stage.name.span,
                format!("`{name}` is defined by {}", files.join(" and ")),
                Some("qualify it with the file's name: `m.name`".into()),
            );
            return true;
        }
        false
    }

    /// The filter item a stage names (E0019 when it names none).
    fn stage_filter(&mut self, stage: &crate::syntax::ast::Stage) -> Option<ItemId> {
        let file = self.file;
        let name = &stage.name.name;
        if name.is_empty() {
            return None;
        }
        let key = match &stage.module {
            Some(module) => format!("{}.{name}", module.name),
            None => name.clone(),
        };
        let found = self.item_named(&key, ItemKindOf::Function);
        if found.is_none() && self.stage_link_error(stage, &key) {
            return None;
        }
        if let Some(id) = found {
            if let Some(ItemKind::Function(FnItem {
                is_filter: true, ..
            })) = file.items.get(id.0 as usize).map(|item| &item.kind)
            {
                return Some(id);
            }
            self.error_help(
                Code::BadPipelineStage,
                stage.name.span,
                format!("`{name}` is a function, not a filter"),
                Some("declare it with `filter` and a filter signature".into()),
            );
            return None;
        }
        let filters = file.items.iter().filter_map(|item| match &item.kind {
            ItemKind::Function(FnItem {
                is_filter: true, ..
            }) => Some(item.name.name.as_str()),
            _ => None,
        });
        let help = did_you_mean(name, filters);
        let message = if file.item(name).is_some() {
            format!("`{name}` is not a filter")
        } else {
            format!("unknown filter `{name}`")
        };
        self.error_help(Code::BadPipelineStage, stage.name.span, message, help);
        None
    }

    /// E0021 when `main` exists but `chunkvm run` cannot call it.
    fn check_main(&mut self) {
        let Some((_, item)) = self.file.item("main") else {
            return;
        };
        let fine = matches!(
            &item.kind,
            ItemKind::Function(FnItem {
                is_filter: false,
                params,
                ret: None,
                ..
            }) if params.is_empty()
        );
        if !fine {
            self.error(
                Code::NoMain,
                item.name.span,
                "`main` must be a function without parameters or return type: `fn main()`",
            );
        }
    }

    /// W0002 for each `let` or `var` never read.
    fn unused(&mut self) {
        let decls = std::mem::take(&mut self.decls);
        for (id, ident, item) in decls {
            let read = self.read.get(id.0 as usize).copied().unwrap_or(true);
            if read || ident.name.is_empty() || ident.name.starts_with('_') {
                continue;
            }
            // A function with text that did not parse may use it there.
            if item.is_some_and(|item| self.broken_items.contains(&item)) {
                continue;
            }
            let warning = Diagnostic::warning(
                Code::UnusedVariable,
                ident.span,
                format!("variable `{}` is never read", ident.name),
            )
            .with_help(format!(
                "remove it, or name it `_{}` if it is meant to be unused",
                ident.name
            ));
            // A function's warnings are part of what checking its body found.
            let body = item.and_then(|item| self.an.bodies.get_mut(item.0 as usize));
            if let Some(Some(body)) = body {
                body.diags.push(warning.clone());
            }
            self.report(warning);
        }
    }
}
