//! The planning of regions: segments, their ends, the instructions left out, the
//! entries.

use super::*;
use crate::compile::ir::pack_targets;

fn ins(op: Op, a: u16, b: u16, c: u16, k: u64) -> Instr {
    Instr::with_k(op, a, b, c, k)
}

#[test]
fn a_loop_is_one_region_and_a_call_ends_a_segment() {
    // 0: Const; 1: BrLtI -> 2 else 6; 2..5: the body, ForStep back to 2; 6: Ret.
    let code = [
        ins(Op::Const, 1, 0, 0, 0),
        ins(Op::BrLtI, 2, 3, 0, pack_targets(2, 6)),
        ins(Op::MulI, 4, 2, 2, 0),
        ins(Op::RemIK, 5, 4, 0, 7),
        ins(Op::AddI, 1, 1, 5, 0),
        ins(Op::ForStep, 2, 3, 0, pack_targets(2, 6)),
        ins(Op::Ret, 1, 0, 0, 0),
    ];
    let plan = Plan::new(&code, 0, &[], None).unwrap();
    assert_eq!(
        plan.segments,
        vec![
            Segment {
                start: 0,
                end: 2,
                jumps: true
            },
            Segment {
                start: 2,
                end: 6,
                jumps: true
            }
        ]
    );
    assert_eq!((plan.regs, plan.instructions()), (6, 6));
    assert_eq!(segment_at(&code, 6, &[], None), None);
    // Straight code before a call, too short to be worth it.
    let call = [
        ins(Op::AddIK, 1, 0, 0, (-1i64) as u64),
        ins(Op::Call, 1, 0, 0, 0),
    ];
    assert_eq!(
        segment_at(&call, 0, &[], None),
        Some(Segment {
            start: 0,
            end: 1,
            jumps: false
        })
    );
    assert_eq!(Plan::new(&call, 0, &[], None), None);
}

#[test]
fn marked_instructions_are_left_out_of_a_region() {
    // 0: Const; 1: BrLtI -> 2 else 7; 2, 3: the body, Br -> 4 else 5; 4: the
    // block of an `if` (a breakpoint's line when marked); 5, 6: AddI, ForStep back
    // to 2; 7: Ret.
    let code = [
        ins(Op::Const, 1, 0, 0, 0),
        ins(Op::BrLtI, 2, 3, 0, pack_targets(2, 7)),
        ins(Op::LtI, 4, 1, 0, 0),
        ins(Op::Br, 4, 0, 0, pack_targets(4, 5)),
        ins(Op::Const, 1, 0, 0, 0),
        ins(Op::AddI, 1, 1, 2, 0),
        ins(Op::ForStep, 2, 3, 0, pack_targets(2, 7)),
        ins(Op::Ret, 1, 0, 0, 0),
    ];
    let all = Plan::new(&code, 0, &[], None).unwrap();
    assert_eq!(all.segments.len(), 4);
    let mut stops = vec![false; code.len()];
    stops[4] = true;
    let plan = Plan::new(&code, 0, &stops, None).unwrap();
    assert_eq!(
        plan.segments,
        vec![
            Segment {
                start: 0,
                end: 2,
                jumps: true
            },
            Segment {
                start: 2,
                end: 4,
                jumps: true
            },
            Segment {
                start: 5,
                end: 7,
                jumps: true
            }
        ]
    );
    // A marked jump ends its segment before it; a marked entry is no region.
    stops[4] = false;
    stops[3] = true;
    assert_eq!(
        segment_at(&code, 2, &stops, None),
        Some(Segment {
            start: 2,
            end: 3,
            jumps: false
        })
    );
    assert_eq!(Plan::new(&code, 3, &stops, None), None);
}

#[test]
fn a_call_of_the_function_itself_and_its_returns_are_in_the_region() {
    // fib: 0: BrLtIK -> 1 else 2; 1: Ret; 2..7: n - 1, Call, n - 2, Call, AddI, Ret.
    let code = [
        ins(Op::BrLtIK, 0, 0, 2, pack_targets(1, 2)),
        ins(Op::Ret, 0, 0, 0, 0),
        ins(Op::AddIK, 1, 0, 0, (-1i64) as u64),
        ins(Op::Call, 1, 0, 0, 0),
        ins(Op::AddIK, 2, 0, 0, (-2i64) as u64),
        ins(Op::Call, 2, 0, 0, 0),
        ins(Op::AddI, 3, 1, 2, 0),
        ins(Op::Ret, 3, 0, 0, 0),
    ];
    let calls = SelfCalls {
        func: 0,
        nregs: 4,
        nrefs: 0,
    };
    let plan = Plan::new(&code, 0, &[], Some(calls)).unwrap();
    let spans: Vec<(usize, usize, bool)> = plan
        .segments
        .iter()
        .map(|s| (s.start, s.end, s.jumps))
        .collect();
    assert_eq!(
        spans,
        vec![
            (0, 1, true),
            (1, 2, true),
            (2, 4, true),
            (4, 6, true),
            (6, 8, true)
        ]
    );
    assert_eq!((plan.regs, plan.calls), (4, Some(calls)));
    // Entered at every segment but the bare return's: 2 (the branch's `else`), 4
    // and 6 (after the calls) run the same code.
    assert_eq!(plan.entries, vec![0, 2, 3, 4]);
    // Without calls (a debugger's cache), or calling another function: no call nor
    // return, and too short.
    assert_eq!(Plan::new(&code, 0, &[], None), None);
    let other = SelfCalls { func: 1, ..calls };
    assert_eq!(Plan::new(&code, 0, &[], Some(other)), None);
    // Entered after the first call: its return goes on at 4 and 6 as well.
    let plan = Plan::new(&code, 4, &[], Some(calls)).unwrap();
    assert_eq!(plan.segments.len(), 5);
}
