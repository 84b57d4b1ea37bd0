//! Items across files: an item named the same way from the file that declares it
//! and from every file that uses it ([`ItemRef`]), its uses in one file
//! ([`uses_of`]), and what would clash there if it were renamed ([`rename_clash`]).
//! A server runs these over each file of the workspace and gathers the results.

use super::rename::{line, RenameRefused};
use crate::index::{lookup, Access, Index};
use crate::{Doc, Symbol};
use chunkvm::modules::normalize;
use chunkvm::syntax::ast::ItemId;
use chunkvm::syntax::span::Span;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// An item as every file names it: the file declaring it and its place there.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ItemRef {
    /// The declaring file's path (normalized: `.` and `..` resolved).
    pub path: PathBuf,
    /// The item's id in that file analysed alone.
    pub item: ItemId,
    /// Its name, unqualified.
    pub name: String,
}

/// One use of an item in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemUse {
    /// The name alone (in `m.f` and in a stage `m.f(...)`, only `f`).
    pub span: Span,
    /// The declaration itself.
    pub decl: bool,
    /// Written with its namespace (`m.f`).
    pub qualified: bool,
}

/// The item `id` of `doc`'s program (its own, or a used file's), `path` being
/// `doc`'s file.
fn item_ref(doc: &Doc, path: &Path, id: ItemId) -> Option<ItemRef> {
    let idx = id.0 as usize;
    if let Some(item) = doc.file().items.get(idx) {
        return (!item.name.name.is_empty()).then(|| ItemRef {
            path: normalize(path),
            item: id,
            name: item.name.name.clone(),
        });
    }
    let modules = doc.program.as_ref()?.modules()?;
    let file = *modules.linked.item_file.get(idx)?;
    let first = modules.linked.item_file.iter().position(|&f| f == file)?;
    let unit = modules.graph.files.get(file)?;
    let item = unit.parsed.file.items.get(idx - first)?;
    (!item.name.name.is_empty()).then(|| ItemRef {
        path: normalize(&unit.path),
        item: ItemId((idx - first) as u32),
        name: item.name.name.clone(),
    })
}

/// The item named at `offset` of `doc` (the file at `path`): one of its own or
/// of a file it uses. `None` for locals, builtins, fields and blank space.
pub fn item_ref_at(doc: &Doc, path: &Path, offset: usize) -> Option<ItemRef> {
    let index = Index::new(doc);
    match lookup(&index, offset)?.symbol {
        Symbol::Item(id) => item_ref(doc, path, id),
        Symbol::Local(_) | Symbol::Builtin(_) | Symbol::Member(..) => None,
    }
}

/// Whether `doc` (the file at `path`, analysed alone) may name `target`: it is the
/// declaring file, or it mentions the name and uses a file of the declaring
/// file's name. A cheap test before analysing a file with the files it uses.
pub fn may_refer(doc: &Doc, path: &Path, target: &ItemRef) -> bool {
    if normalize(path) == target.path {
        return true;
    }
    let wanted = target.path.file_name();
    doc.text.contains(target.name.as_str())
        && doc
            .file()
            .uses
            .iter()
            .any(|used| Path::new(&used.path).file_name() == wanted)
}

/// The ids in `doc`'s program that are `target`.
fn ids_of(doc: &Doc, path: &Path, target: &ItemRef) -> HashSet<ItemId> {
    let own = doc.file().items.len();
    let total = doc
        .program
        .as_ref()
        .and_then(|program| program.modules())
        .map_or(own, |modules| modules.linked.item_file.len().max(own));
    (0..total)
        .map(|idx| ItemId(idx as u32))
        .filter(|id| item_ref(doc, path, *id).as_ref() == Some(target))
        .collect()
}

/// The uses of `target` in `doc` (the file at `path`, analysed with the files it
/// uses), sorted, its declaration included when it is there.
pub fn uses_of(doc: &Doc, path: &Path, target: &ItemRef) -> Vec<ItemUse> {
    let ids = ids_of(doc, path, target);
    if ids.is_empty() {
        return Vec::new();
    }
    let index = Index::new(doc);
    let mut found: Vec<ItemUse> = index
        .occurrences
        .iter()
        .filter(|occ| matches!(occ.symbol, Symbol::Item(id) if ids.contains(&id)))
        .filter_map(|occ| {
            let written = doc.slice(occ.span);
            let (span, dotted) = match written.rfind('.') {
                Some(dot) => (Span::new(occ.span.start + dot + 1, occ.span.end), true),
                None => (occ.span, false),
            };
            (doc.slice(span) == target.name).then(|| ItemUse {
                span,
                decl: occ.access == Access::Decl,
                qualified: dotted || after_dot(&doc.text, span.start),
            })
        })
        .collect();
    found.sort_by_key(|found| (found.span.start, found.span.end));
    found.dedup_by_key(|found| found.span);
    found
}

/// Whether a `.` comes right before `offset` (spaces between).
fn after_dot(text: &str, offset: usize) -> bool {
    text.get(..offset)
        .map(str::trim_end)
        .is_some_and(|before| before.ends_with('.'))
}

/// Why renaming `target` to `new` would break `doc` (the file at `path`, with
/// `uses` of it from [`uses_of`]): another item of the file named `new`, a local
/// `new` hiding an unqualified use, a private name used from another file, or
/// an unqualified use made ambiguous by another used file's `new`. The new
/// name itself is checked by [`check_new_name`](super::check_new_name).
pub fn rename_clash(
    doc: &Doc,
    path: &Path,
    target: &ItemRef,
    new: &str,
    uses: &[ItemUse],
) -> Result<(), RenameRefused> {
    let declaring = normalize(path) == target.path;
    if let Some((_, other)) =
        doc.file().items.iter().enumerate().find(|(idx, item)| {
            item.name.name == new && !(declaring && *idx == target.item.0 as usize)
        })
    {
        return Err(RenameRefused::ItemExists {
            new: new.to_string(),
            line: line(doc, other.name.span.start),
        });
    }
    if !declaring && new.starts_with('_') {
        if let Some(first) = uses.first() {
            return Err(RenameRefused::Private {
                new: new.to_string(),
                line: line(doc, first.span.start),
            });
        }
    }
    let index = Index::new(doc);
    let unqualified = uses.iter().filter(|used| !used.decl && !used.qualified);
    for used in unqualified.clone() {
        if let Some(local) = index.resolve_local(new, used.span.start) {
            return Err(RenameRefused::HiddenByLocal {
                new: new.to_string(),
                local_line: line(doc, local.name.span.start),
                old: target.name.clone(),
                use_line: line(doc, used.span.start),
            });
        }
    }
    if declaring {
        return Ok(());
    }
    let Some(first) = unqualified.clone().next() else {
        return Ok(());
    };
    let other = doc
        .used_names()
        .into_iter()
        .filter(|(name, _)| *name == new)
        .find_map(|(_, id)| item_ref(doc, path, id).filter(|item| item.path != target.path));
    match other {
        Some(other) => Err(RenameRefused::Ambiguous {
            new: new.to_string(),
            other: other.path.display().to_string(),
            line: line(doc, first.span.start),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chunkvm::modules::Resolver;
    use std::collections::HashMap;

    /// Files in memory.
    struct Memory(HashMap<PathBuf, String>);

    impl Resolver for Memory {
        fn read(&self, path: &Path) -> std::io::Result<String> {
            self.0
                .get(path)
                .cloned()
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        }
    }

    const LIB: &str = "param amount: float = 0.5 in 0.0..1.0;\nfn f(x: float) -> float { x * amount }\nfilter warm(c: color) -> color { c }\n";
    const OTHER: &str = "fn g(x: float) -> float { x }\n";
    const USER: &str = "use \"lib.chop\";\nuse \"lib.chop\" as m;\nuse \"other.chop\";\nfn h(y: float) -> float {\n    let g2 = 1.0;\n    f(y) + m.f(g2) + m.amount\n}\npipeline p = warm |> lib.warm(amount: 0.2);\n";

    fn program(text: &str) -> Doc {
        let files = Memory(HashMap::from([
            (PathBuf::from("/w/lib.chop"), LIB.to_string()),
            (PathBuf::from("/w/other.chop"), OTHER.to_string()),
        ]));
        let parsed = chunkvm::syntax::lower::parse(text);
        Doc::with_program(
            text,
            parsed,
            Path::new("/w/user.chop"),
            &files,
            &[],
            None,
            None,
        )
    }

    /// Unqualified, qualified and stage uses of a used item are found from the
    /// user, each span the name alone; the same item as named in its own file.
    #[test]
    fn uses_of_a_used_item_in_a_user() {
        let user = program(USER);
        assert!(user.diagnostics().is_empty(), "{:?}", user.diagnostics());
        let path = Path::new("/w/user.chop");
        let target = item_ref_at(&user, path, USER.find("f(y)").unwrap_or(0)).expect("f");
        let lib = Doc::new(LIB);
        let lib_path = Path::new("/w/./lib.chop");
        assert_eq!(
            item_ref_at(&lib, lib_path, LIB.find("fn f").unwrap_or(0) + 3),
            Some(target.clone())
        );
        let uses = uses_of(&user, path, &target);
        let texts: Vec<(&str, bool)> = uses
            .iter()
            .map(|used| (user.slice(used.span), used.qualified))
            .collect();
        assert_eq!(texts, vec![("f", false), ("f", true)]);
        assert_eq!(uses_of(&lib, lib_path, &target).len(), 1);
        let amount = item_ref_at(&lib, lib_path, 7).expect("amount");
        let uses = uses_of(&user, path, &amount);
        assert_eq!(uses.len(), 2, "{uses:?}");
        assert!(uses.iter().all(|used| user.slice(used.span) == "amount"));
        let warm = item_ref_at(&user, path, USER.find("= warm").unwrap_or(0) + 2).expect("warm");
        let uses = uses_of(&user, path, &warm);
        let texts: Vec<&str> = uses.iter().map(|used| user.slice(used.span)).collect();
        assert_eq!(texts, vec!["warm", "warm"]);
        assert!(uses[1].qualified && !uses[0].qualified);
        // Definition and hover reach the used file from a qualified use too.
        let qualified = USER.find("m.f(").unwrap_or(0) + 2;
        assert!(matches!(
            super::super::definition_target(&user, qualified),
            Some(super::super::Target::There(..))
        ));
        assert!(may_refer(&Doc::new(USER), path, &target));
        assert!(!may_refer(
            &Doc::new(OTHER),
            Path::new("/w/other.chop"),
            &target
        ));
    }

    /// Clashes in a user: its own item, a local at an unqualified use, another
    /// used file's item, a private name.
    #[test]
    fn clashes_in_a_user() {
        let user = program(USER);
        let path = Path::new("/w/user.chop");
        let target = item_ref_at(&user, path, USER.find("f(y)").unwrap_or(0)).expect("f");
        let uses = uses_of(&user, path, &target);
        let clash = |new: &str| rename_clash(&user, path, &target, new, &uses);
        assert_eq!(
            clash("h"),
            Err(RenameRefused::ItemExists {
                new: "h".into(),
                line: 4
            })
        );
        assert_eq!(
            clash("g2"),
            Err(RenameRefused::HiddenByLocal {
                new: "g2".into(),
                local_line: 5,
                old: "f".into(),
                use_line: 6
            })
        );
        let err = clash("g").expect_err("other.chop has g");
        assert_eq!(
            err,
            RenameRefused::Ambiguous {
                new: "g".into(),
                other: "/w/other.chop".into(),
                line: 6
            }
        );
        assert_eq!(
            clash("_f"),
            Err(RenameRefused::Private {
                new: "_f".into(),
                line: 6
            })
        );
        assert_eq!(clash("scale"), Ok(()));
        let lib = Doc::new(LIB);
        let lib_uses = uses_of(&lib, Path::new("/w/lib.chop"), &target);
        assert_eq!(
            rename_clash(&lib, Path::new("/w/lib.chop"), &target, "_f", &lib_uses),
            Ok(())
        );
        assert_eq!(
            rename_clash(&lib, Path::new("/w/lib.chop"), &target, "warm", &lib_uses),
            Err(RenameRefused::ItemExists {
                new: "warm".into(),
                line: 3
            })
        );
    }
}
