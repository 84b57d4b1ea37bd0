//! Linking: the files of a [`Graph`] made one program, each file's items moved to its
//! base and renamed into its namespace, with what each file sees ([`FileScope`]);
//! after an edit, what is as it was is shared with the last linked program.

use super::{past, same_path, stem, Graph, SourceUnit, SLOT_IDS, SPACING};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::{ItemId, SourceFile};
use crate::syntax::reuse::{ItemMemo, Shift};
use crate::syntax::span::Span;
use std::collections::HashMap;
use std::sync::Arc;

/// What one file of a linked program sees.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileScope {
    /// The names it can use: its own items, the public items of the files it uses
    /// (unqualified for a plain `use`), and `m.name` for every used file `m`.
    pub names: HashMap<String, ItemId>,
    /// Its own items, by their names as written.
    pub own: HashMap<String, ItemId>,
    /// Unqualified names that two used files define (and this file does not), with
    /// those files' paths: using one is E0026.
    pub ambiguous: HashMap<String, Vec<String>>,
    /// The namespaces of its uses (`m` of `m.name`) and the files they name.
    pub namespaces: HashMap<String, usize>,
    /// Names that used files define but keep private (`_name`), qualified (`m._name`).
    pub private: HashMap<String, usize>,
}

/// A program of several files as one [`SourceFile`].
#[derive(Clone, Debug)]
pub struct Linked {
    /// Every file's items, moved to the file's base and renumbered; a used file's
    /// items renamed `NS.name`.
    pub file: SourceFile,
    /// The file of each item, by `ItemId`.
    pub item_file: Vec<usize>,
    /// What each file sees, by file index (shared with the last linked program where
    /// nothing it is made of changed).
    pub scopes: Vec<Arc<FileScope>>,
    /// Where each file's spans start, and its length, by file index.
    pub bases: Vec<(usize, usize)>,
    /// Errors found while linking (namespaces two uses of one file share), per file
    /// in its own spans.
    pub diagnostics: Vec<(usize, Diagnostic)>,
    /// The index of each file's first item, by file index.
    firsts: Vec<usize>,
    /// How far each file's items were moved, by file index.
    shifts: Vec<Shift>,
    /// Each item's ids and, when it is an item of the last linked program at the same
    /// place, its index there: what the checker needs to take its body's results from
    /// the last analysis ([`crate::check::check_linked_reusing`]).
    pub(crate) memo: crate::syntax::reuse::Memo,
}

impl Linked {
    /// The file a span of the linked program is in, and the span in that file.
    pub fn locate(&self, span: Span) -> (usize, Span) {
        for (idx, &(base, len)) in self.bases.iter().enumerate().rev() {
            if span.start >= base && span.start <= base + len {
                return (
                    idx,
                    Span::new(
                        span.start - base,
                        span.end.saturating_sub(base).max(span.start - base),
                    ),
                );
            }
        }
        (0, span)
    }
}

/// Makes one program of a graph of files.
pub fn link(graph: &Graph) -> Linked {
    link_reusing(graph, None)
}

/// The linked items of the file at `path` in `previous`, when they are `unit`'s items
/// moved by `shift` and renamed into `unit`'s namespace: the same parse (the same
/// shared items), at the same place.
fn linked_before<'a>(
    previous: Option<(&Graph, &'a Linked)>,
    unit: &SourceUnit,
    shift: Shift,
) -> Option<(&'a [Arc<crate::syntax::ast::Item>], usize)> {
    let (graph, linked) = previous?;
    let old = graph
        .files
        .iter()
        .position(|old| same_path(&old.path, &unit.path))?;
    let old_unit = graph.files.get(old)?;
    let (new_items, old_items) = (&unit.parsed.file.items, &old_unit.parsed.file.items);
    let same = old_unit.namespace == unit.namespace
        && *linked.shifts.get(old)? == shift
        && new_items.len() == old_items.len()
        && new_items
            .iter()
            .zip(old_items)
            .all(|(a, b)| Arc::ptr_eq(a, b));
    if !same {
        return None;
    }
    let first = *linked.firsts.get(old)?;
    Some((
        linked.file.items.get(first..first + new_items.len())?,
        first,
    ))
}

/// What [`link_reusing`] compares with the last linked program to share a file's scope.
struct Before<'a> {
    previous: Option<(&'a Graph, &'a Linked)>,
    graph: &'a Graph,
    /// Each file's first item in the new program.
    firsts: &'a [usize],
    /// Whether each file's linked items were kept from the last program.
    kept: &'a [bool],
}

impl Before<'_> {
    /// The last program's index of the file at `path`, when its linked items were kept
    /// and start at the same item: its own names are the same items at the same ids.
    fn same_file(&self, idx: usize) -> Option<usize> {
        let (graph, linked) = self.previous?;
        let unit = self.graph.files.get(idx)?;
        let old = graph
            .files
            .iter()
            .position(|old| same_path(&old.path, &unit.path))?;
        let same = *self.kept.get(idx)? && linked.firsts.get(old) == self.firsts.get(idx);
        same.then_some(old)
    }

    /// File `idx`'s scope in the last linked program, shared, when it is what linking
    /// would make again: the file and every file it uses kept at the same ids, its
    /// uses naming the same files under the same aliases, and no linking error in it
    /// (an error's span is the file's own, which an edit may move).
    fn scope(&self, idx: usize) -> Option<Arc<FileScope>> {
        let (graph, linked) = self.previous?;
        let old = self.same_file(idx)?;
        let (unit, old_unit) = (self.graph.files.get(idx)?, graph.files.get(old)?);
        let (uses, old_uses) = (&unit.parsed.file.uses, &old_unit.parsed.file.uses);
        if uses.len() != old_uses.len()
            || unit.uses.len() != old_unit.uses.len()
            || linked.diagnostics.iter().any(|(file, _)| *file == old)
        {
            return None;
        }
        let alias = |used: &crate::syntax::ast::Use| used.alias.as_ref().map(|a| a.name.clone());
        for ((used, target), (old_used, old_target)) in uses
            .iter()
            .zip(&unit.uses)
            .zip(old_uses.iter().zip(&old_unit.uses))
        {
            if alias(used) != alias(old_used) {
                return None;
            }
            match (target, old_target) {
                (None, None) => {}
                (Some(target), Some(old_target)) => {
                    if self.same_file(*target)? != *old_target {
                        return None;
                    }
                }
                _ => return None,
            }
        }
        linked.scopes.get(old).cloned()
    }
}

/// The linked memo of `unit`'s items (file `idx`), moved by `shift`: the main file's
/// as its lowering left it (it is not moved; its origins are in the last version of
/// the main file, which was the last linked program's first file), a used file's with
/// its origin in the last linked program when its items were kept (from `kept` on).
fn item_memos(unit: &SourceUnit, idx: usize, shift: Shift, kept: Option<usize>) -> Vec<ItemMemo> {
    let own = unit.parsed.memo.items();
    if own.len() != unit.parsed.file.items.len() {
        return Vec::new();
    }
    if idx == 0 {
        return own.to_vec();
    }
    let moved = |range: &std::ops::Range<u32>, by: i64| {
        let at = |n: u32| u32::try_from(i64::from(n) + by).unwrap_or(n);
        at(range.start)..at(range.end)
    };
    own.iter()
        .enumerate()
        .map(|(k, memo)| ItemMemo {
            region: 0,
            exprs: moved(&memo.exprs, shift.exprs),
            bindings: moved(&memo.bindings, shift.bindings),
            diags: Vec::new(),
            reusable: memo.reusable,
            origin: kept.map(|first| (first + k, Shift::NONE)),
        })
        .collect()
}

/// [`link`], sharing the linked items of every file that is as it was in `previous`
/// (the same parse at the same place: in a [`Graph::spaced`] graph, every used file
/// after an edit of the main file) rather than moving copies of them again.
pub fn link_reusing(graph: &Graph, previous: Option<(&Graph, &Linked)>) -> Linked {
    let mut items = Vec::new();
    let mut item_file = Vec::new();
    let mut firsts = Vec::new();
    let mut shifts = Vec::new();
    let mut memos: Vec<ItemMemo> = Vec::new();
    let (mut exprs, mut bindings) = (0u32, 0u32);
    let mut bases = Vec::new();
    let mut kept_files = Vec::new();
    for (idx, unit) in graph.files.iter().enumerate() {
        let file = &unit.parsed.file;
        if graph.spaced && idx >= 1 {
            let quantum = if idx == 1 { SPACING.1 } else { SLOT_IDS };
            let gap = |n: u32| u32::try_from(past(n as usize, quantum)).unwrap_or(n);
            exprs = gap(exprs);
            bindings = gap(bindings);
        }
        let shift = Shift {
            bytes: unit.base as isize,
            exprs: i64::from(exprs),
            bindings: i64::from(bindings),
        };
        firsts.push(items.len());
        shifts.push(shift);
        let kept = linked_before(previous, unit, shift);
        kept_files.push(kept.is_some());
        memos.extend(item_memos(unit, idx, shift, kept.map(|(_, first)| first)));
        if let Some((kept, _)) = kept {
            items.extend(kept.iter().cloned());
            item_file.extend(std::iter::repeat_n(idx, kept.len()));
        } else {
            for item in &file.items {
                let mut moved = shift.item(item);
                if !unit.namespace.is_empty() && !moved.name.name.is_empty() {
                    let renamed = Arc::make_mut(&mut moved);
                    renamed.name.name = format!("{}.{}", unit.namespace, renamed.name.name);
                }
                items.push(moved);
                item_file.push(idx);
            }
        }
        exprs += file.expr_count;
        bindings += file.binding_count;
        bases.push((unit.base, unit.text.len()));
    }
    let own_of = |idx: usize| -> HashMap<String, ItemId> {
        let mut own = HashMap::new();
        if let Some(unit) = graph.files.get(idx) {
            let first = firsts.get(idx).copied().unwrap_or(0);
            for (k, item) in unit.parsed.file.items.iter().enumerate() {
                if !item.name.name.is_empty() {
                    own.entry(item.name.name.clone())
                        .or_insert(ItemId((first + k) as u32));
                }
            }
        }
        own
    };
    let mut scopes = Vec::new();
    let mut diagnostics = Vec::new();
    for (idx, unit) in graph.files.iter().enumerate() {
        let before = Before {
            previous,
            graph,
            firsts: &firsts,
            kept: &kept_files,
        };
        if let Some(scope) = before.scope(idx) {
            scopes.push(scope);
            continue;
        }
        let own = own_of(idx);
        let mut scope = FileScope {
            names: own.clone(),
            own,
            ..FileScope::default()
        };
        // Unqualified names of plain uses: name -> (item, file).
        let mut plain: HashMap<String, (ItemId, usize)> = HashMap::new();
        let mut ambiguous: HashMap<String, Vec<usize>> = HashMap::new();
        for (used, target) in unit.parsed.file.uses.iter().zip(&unit.uses) {
            let Some(target) = *target else { continue };
            let Some(target_unit) = graph.files.get(target) else {
                continue;
            };
            let namespace = match &used.alias {
                Some(alias) => alias.name.clone(),
                None => stem(&target_unit.path),
            };
            match scope.namespaces.get(&namespace) {
                Some(&other) if other != target => {
                    let span = used
                        .alias
                        .as_ref()
                        .map_or(used.path_span, |alias| alias.span);
                    diagnostics.push((
                        idx,
                        Diagnostic::error(
                            Code::Ambiguous,
                            span,
                            format!("two used files are both `{namespace}`"),
                        )
                        .with_help("rename one with `use \"...\" as name;`"),
                    ));
                    continue;
                }
                _ => {
                    scope.namespaces.insert(namespace.clone(), target);
                }
            }
            for (name, id) in own_of(target) {
                if name.starts_with('_') {
                    scope.private.insert(format!("{namespace}.{name}"), target);
                    continue;
                }
                scope.names.insert(format!("{namespace}.{name}"), id);
                if used.alias.is_some() || scope.own.contains_key(&name) {
                    continue;
                }
                match plain.get(&name) {
                    Some(&(_, file)) if file != target => {
                        let files = ambiguous.entry(name.clone()).or_insert_with(|| vec![file]);
                        if !files.contains(&target) {
                            files.push(target);
                        }
                    }
                    Some(_) => {}
                    None => {
                        plain.insert(name, (id, target));
                    }
                }
            }
        }
        for (name, (id, _)) in plain {
            if !ambiguous.contains_key(&name) {
                scope.names.insert(name, id);
            }
        }
        for (name, files) in ambiguous {
            let paths = files
                .iter()
                .filter_map(|&file| graph.files.get(file))
                .map(|file| file.path.display().to_string())
                .collect();
            scope.ambiguous.insert(name, paths);
        }
        scopes.push(Arc::new(scope));
    }
    let file = SourceFile {
        doc: graph
            .files
            .first()
            .and_then(|unit| unit.parsed.file.doc.clone()),
        uses: Vec::new(),
        items,
        expr_count: exprs,
        binding_count: bindings,
    };
    Linked {
        file,
        item_file,
        scopes,
        bases,
        diagnostics,
        firsts,
        shifts,
        memo: crate::syntax::reuse::Memo::linked(memos),
    }
}
