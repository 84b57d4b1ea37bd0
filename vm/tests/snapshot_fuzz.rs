//! Snapshots come from other nodes: a damaged one must be refused with an
//! error, or, when it still decodes into a well-formed thread, run to an end
//! or to a runtime error. Never a panic.

#![allow(clippy::unwrap_used)]

mod common;

use chunkvm::chunk::NodeId;
use chunkvm::exec::{Limits, Stop, Vm};
use common::{lang_dir, vm_for_main};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn snapshot_of(file: &str, at: u64) -> Vec<u8> {
    let text = std::fs::read_to_string(lang_dir().join(file)).unwrap();
    let (mut vm, _) = vm_for_main(&text);
    vm.set_output(Box::new(std::io::sink()));
    vm.stop_after(at);
    while let Ok(stop) = vm.run() {
        if stop == Stop::SafePoint || matches!(stop, Stop::Finished(_)) {
            break;
        }
    }
    vm.snapshot().unwrap()
}

#[test]
fn damaged_snapshots_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let bases = [
        snapshot_of("run/closures.chop", 200),
        snapshot_of("run/arrays.chop", 500),
        snapshot_of("run/factorial.chop", 40),
        snapshot_of("run/builtins.chop", 300),
    ];
    let (mut refused, mut finished, mut failed, mut unended, mut stopped_midway) = (0, 0, 0, 0, 0);
    for round in 0..3000 {
        let mut bytes = bases[round % bases.len()].clone();
        for _ in 0..1 + rng.below(4) {
            let len = bytes.len();
            match rng.below(4) {
                0 => {
                    let idx = rng.below(len);
                    bytes[idx] ^= 1 << rng.below(8);
                }
                1 => {
                    let idx = rng.below(len);
                    bytes[idx] = rng.next() as u8;
                }
                2 => {
                    // Overwrite one slot of one entry (after the 20-byte header; 269 bytes
                    // per entry: id, kind, mask, 32 slots).
                    let entries = (len - 20) / 269;
                    let entry = 20 + 269 * rng.below(entries);
                    let slot = entry + 13 + 8 * rng.below(32);
                    let value = match rng.below(3) {
                        0 => rng.next() % 64,
                        1 => rng.next(),
                        _ => u64::MAX - rng.next() % 4,
                    };
                    bytes[slot..slot + 8].copy_from_slice(&value.to_le_bytes());
                }
                _ => {
                    // Flip one link-mask bit.
                    let entries = (len - 20) / 269;
                    let entry = 20 + 269 * rng.below(entries);
                    bytes[entry + 9 + rng.below(4)] ^= 1 << rng.below(8);
                }
            }
        }
        match Vm::from_snapshot(&bytes, NodeId(2)) {
            Err(message) => {
                assert!(!message.to_string().is_empty());
                refused += 1;
            }
            Ok(mut vm) => {
                vm.set_output(Box::new(std::io::sink()));
                vm.set_limits(Limits {
                    instructions: vm.instructions().saturating_add(100_000),
                    chunks: 50_000,
                    depth: 200,
                });
                // Nothing asks a restored thread to stop (no breakpoint, step, pause or
                // `stop_after`), so each `run` ends it: with its value, or with an error
                // (the budget above bounds the instructions). A run that stops otherwise
                // breaks the promise; the bound on calls only keeps a broken VM from
                // looping here.
                let mut calls = 0;
                let ended = loop {
                    calls += 1;
                    match vm.run() {
                        Ok(Stop::Finished(_)) => break Some(true),
                        Err(err) => {
                            assert!(!err.message.is_empty(), "round {round}: an empty error");
                            break Some(false);
                        }
                        Ok(_) if calls < 100 => continue,
                        Ok(stop) => {
                            println!("round {round}: still running after {calls} calls ({stop:?})");
                            break None;
                        }
                    }
                };
                match ended {
                    Some(true) => finished += 1,
                    Some(false) => failed += 1,
                    None => unended += 1,
                }
                if calls > 1 {
                    stopped_midway += 1;
                }
            }
        }
    }
    println!(
        "{refused} refused; {finished} ran to the end, {failed} to a runtime error, \
         {unended} neither; {stopped_midway} stopped on the way"
    );
    assert!(refused > 100, "refused only {refused}");
    assert!(finished + failed > 100, "ran only {}", finished + failed);
    assert!(
        finished > 0 && failed > 0,
        "{finished} ended, {failed} failed"
    );
    assert_eq!(unended, 0, "runs that reached neither an end nor an error");
    assert_eq!(stopped_midway, 0, "runs that stopped with no one asking");
}
