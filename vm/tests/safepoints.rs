//! The whole state of a thread is chunks at every safe point: stop a running
//! thread at many safe points, encode what it reaches, decode it into a fresh
//! store on another node, resume there, and get exactly the output of an
//! uninterrupted run.

#![allow(clippy::unwrap_used)]

mod common;

use chunkvm::chunk::NodeId;
use chunkvm::driver::analyze;
use chunkvm::exec::{Capture, Stop, Vm};
use common::{chop_files, expectations, finish, lang_dir, vm_for_main};

/// The programs that run to completion without limits (single files: the cases of
/// `modules/` need the files they use).
fn runnable() -> Vec<(String, String)> {
    chop_files(&lang_dir())
        .into_iter()
        .filter(|path| !path.starts_with(lang_dir().join("modules")))
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            let expect = expectations(&text);
            let clean = !analyze(&text).has_errors()
                && expect.runtime_error.is_none()
                && expect.instructions.is_none()
                && expect.chunks.is_none();
            clean.then(|| (path.display().to_string(), text))
        })
        .collect()
}

/// Runs until the first safe point at or after `at` instructions; `None` if it finished first.
fn run_to(vm: &mut Vm, at: u64) -> Option<()> {
    let now = vm.instructions();
    vm.stop_after(at.saturating_sub(now).max(1));
    loop {
        match vm.run().expect("runs") {
            Stop::SafePoint => return Some(()),
            Stop::Finished(_) => return None,
            _ => continue,
        }
    }
}

/// Moves a stopped thread to a fresh store on `node` through its encoded chunks.
fn migrate(vm: &mut Vm, node: u16, capture: &Capture) -> Vm {
    let bytes = vm.snapshot().expect("snapshot");
    let mut moved = Vm::from_snapshot(&bytes, NodeId(node)).expect("restore");
    moved.set_output(Box::new(capture.clone()));
    moved
}

#[test]
fn resuming_from_any_safe_point_gives_the_same_output() {
    let programs = runnable();
    // What the suite reaches today: a floor far below it would let most of the
    // coverage go unnoticed.
    assert!(programs.len() >= 10, "too few programs: {}", programs.len());
    let mut stops = 0;
    let mut distinct = std::collections::HashSet::new();
    for (name, text) in &programs {
        let (mut reference, capture) = vm_for_main(text);
        finish(&mut reference).unwrap();
        let expected = capture.text();
        let total = reference.instructions();
        for step in 1..=16u64 {
            let at = total * step / 17;
            if at == 0 {
                continue;
            }
            let (mut vm, first) = vm_for_main(text);
            if run_to(&mut vm, at).is_none() {
                continue;
            }
            stops += 1;
            let stack = vm.stack();
            distinct.insert((
                name.clone(),
                stack.first().map(|f| (f.function.clone(), f.pc)),
            ));
            let second = Capture::new();
            let mut moved = migrate(&mut vm, 2, &second);
            assert_eq!(
                moved.instructions(),
                vm.instructions(),
                "{name}: the count moves too"
            );
            assert_eq!(
                moved.stack(),
                vm.stack(),
                "{name}: the same frames after the move"
            );
            finish(&mut moved).unwrap_or_else(|err| panic!("{name}: after a stop at {at}: {err}"));
            assert_eq!(
                format!("{}{}", first.text(), second.text()),
                expected,
                "{name}: stopped at instruction {at}"
            );
            assert_eq!(
                moved.instructions(),
                total,
                "{name}: same instruction count"
            );
        }
    }
    println!(
        "{} programs, {stops} stops, {} distinct safe points",
        programs.len(),
        distinct.len()
    );
    // 16 stops tried in each program; those that would come after its last safe point
    // (or at instruction 0) are skipped.
    assert!(stops >= 142, "only {stops} safe points were tested");
    assert!(
        distinct.len() >= 57,
        "only {} distinct safe points",
        distinct.len()
    );
}

#[test]
fn a_thread_can_hop_from_node_to_node_and_come_home() {
    let text = std::fs::read_to_string(lang_dir().join("run/closures.chop")).unwrap();
    let (mut reference, capture) = vm_for_main(&text);
    finish(&mut reference).unwrap();
    let expected = capture.text();
    let total = reference.instructions();

    let out = Capture::new();
    let (mut vm, first) = vm_for_main(&text);
    let mut hops = 0;
    let mut node = 1;
    let mut at = total / 10;
    while run_to(&mut vm, at).is_some() {
        node = if node == 3 { 1 } else { node + 1 };
        let count = vm.instructions();
        assert!(count >= at, "stopped at {count}, before {at}");
        let stack = vm.stack();
        vm = migrate(&mut vm, node, &out);
        assert_eq!(vm.instructions(), count, "hop {hops}: the count moves too");
        assert_eq!(
            vm.stack(),
            stack,
            "hop {hops}: the same frames after the move"
        );
        hops += 1;
        at += total / 10;
    }
    println!("{hops} hops");
    assert!(hops >= 10, "{hops} hops");
    assert_eq!(format!("{}{}", first.text(), out.text()), expected);
    assert_eq!(
        vm.instructions(),
        total,
        "with {hops} hops, the same instruction count as an uninterrupted run"
    );
}

#[test]
fn a_snapshot_holds_only_chunks_the_thread_reaches() {
    let text = "fn main() { var a = [1, 2, 3]; for i in 0..100 { a[i % 3] += i; } print(a); }";
    let (mut vm, _) = vm_for_main(text);
    run_to(&mut vm, 50).unwrap();
    let root = vm.materialize();
    let reached = vm.store().reachable(&[root]).unwrap();
    let set = chunkvm::chunk::decode_set(&vm.snapshot().unwrap()).unwrap();
    // The snapshot's own Thread chunk is new, the rest is the same graph.
    assert_eq!(set.chunks.len(), reached.len());
    let kinds: std::collections::HashSet<&str> =
        set.chunks.iter().map(|(_, c)| c.kind.name()).collect();
    for kind in [
        "thread", "frame", "regs", "program", "function", "block", "array",
    ] {
        assert!(kinds.contains(kind), "no {kind} chunk in {kinds:?}");
    }
}

/// A restore tells a chunk that is missing (a node fetches it and tries again) from a
/// chunk that is there but wrong (the thread is refused).
#[test]
fn a_restore_names_the_missing_chunk_and_refuses_a_wrong_one() {
    use chunkvm::chunk::{Kind, Store};
    use chunkvm::exec::ThreadError;
    let text = "fn f(n: int) -> int { if n == 0 { 0 } else { n + f(n - 1) } }\n\
                fn main() { print(f(30)); }";
    let (mut vm, _) = vm_for_main(text);
    run_to(&mut vm, 200).unwrap();
    let set = chunkvm::chunk::decode_set(&vm.snapshot().unwrap()).unwrap();
    let frame = set
        .chunks
        .iter()
        .find(|(_, c)| c.kind == Kind::Frame)
        .map(|(id, _)| *id)
        .expect("a frame chunk");

    let mut without = set.clone();
    without.chunks.retain(|(id, _)| *id != frame);
    let mut store = Store::new(NodeId(3));
    let root = store.import(without);
    match Vm::restore(store, root) {
        Err(ThreadError::Missing(id)) => assert_eq!(id, frame),
        other => panic!("not a missing chunk: {:?}", other.err()),
    }

    let mut wrong = set.clone();
    for (id, chunk) in &mut wrong.chunks {
        if *id == frame {
            chunk.kind = Kind::Regs;
        }
    }
    let mut store = Store::new(NodeId(3));
    let root = store.import(wrong);
    match Vm::restore(store, root) {
        Err(ThreadError::Malformed { chunk, why }) => {
            assert_eq!(chunk, frame);
            assert_eq!(why, "not a frame chunk");
        }
        other => panic!("not a malformed chunk: {:?}", other.err()),
    }

    let mut store = Store::new(NodeId(3));
    let root = store.import(set);
    let moved = Vm::restore(store, root).expect("the whole set restores");
    assert_eq!(moved.instructions(), vm.instructions());
}

/// The chunks of a stopped thread's home, fetched one at a time, each counted.
struct Home {
    store: chunkvm::chunk::Store,
    sent: std::sync::Arc<std::sync::Mutex<Vec<chunkvm::chunk::ChunkId>>>,
}

impl chunkvm::exec::Fetch for Home {
    fn fetch(
        &mut self,
        id: chunkvm::chunk::ChunkId,
    ) -> Result<Vec<(chunkvm::chunk::ChunkId, chunkvm::chunk::Chunk)>, chunkvm::exec::FetchError>
    {
        let chunk = self
            .store
            .get(id)
            .ok_or_else(|| chunkvm::exec::FetchError(format!("{id} is not at home")))?;
        self.sent.lock().unwrap().push(id);
        Ok(vec![(id, chunk.clone())])
    }
}

/// Lazy migration: the destination gets only the Thread chunk; every instruction that
/// needs a chunk it lacks stops before it changes anything, the chunk is fetched, and
/// the instruction runs again. Same output, same count, no chunk fetched twice.
#[test]
fn a_thread_moved_with_only_its_root_fetches_the_rest_on_demand() {
    use chunkvm::chunk::Store;
    let programs = runnable();
    let mut moves = 0;
    for (name, text) in &programs {
        let (mut reference, capture) = vm_for_main(text);
        finish(&mut reference).unwrap();
        let expected = capture.text();
        let total = reference.instructions();
        for step in [1u64, 3, 5] {
            let at = total * step / 7;
            if at == 0 {
                continue;
            }
            let (mut vm, first) = vm_for_main(text);
            if run_to(&mut vm, at).is_none() {
                continue;
            }
            let root = vm.materialize();
            let sent = std::sync::Arc::default();
            let home = Home {
                store: vm.store().clone(),
                sent: std::sync::Arc::clone(&sent),
            };
            let mut store = Store::new(NodeId(60));
            store.insert(root, vm.store().get(root).unwrap().clone());
            let mut moved = Vm::restore_fetching(store, root, Box::new(home))
                .unwrap_or_else(|err| panic!("{name}: {err}"));
            let second = Capture::new();
            moved.set_output(Box::new(second.clone()));
            finish(&mut moved).unwrap_or_else(|err| panic!("{name}: moved at {at}: {err}"));
            assert_eq!(
                format!("{}{}", first.text(), second.text()),
                expected,
                "{name}: moved at {at}"
            );
            assert_eq!(moved.instructions(), total, "{name}: moved at {at}");
            let sent = sent.lock().unwrap().clone();
            let unique: std::collections::HashSet<_> = sent.iter().collect();
            assert_eq!(
                unique.len(),
                sent.len(),
                "{name}: a chunk was fetched twice"
            );
            moves += 1;
        }
    }
    assert!(moves >= 25, "only {moves} lazy moves were tried");
}
