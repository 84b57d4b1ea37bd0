//! The dispatch loop of one group of lanes: each instruction once for all the group's
//! lanes, branches that split the group, calls and returns.

use super::arrays::*;
use super::builtins::lanes_math;
use super::lanes::*;
use super::*;

impl Vm {
    /// Runs one group of lanes to the filter's return, or until it splits in two or
    /// waits for a group behind it (it is then back in `st.pending`): compiled for AVX2
    /// when the processor has it (the lane loops then do four `f64` or eight `f32` at a
    /// time; the same IEEE operations, so the same bits), else for the baseline.
    #[inline(never)]
    pub(super) fn run_group(
        &mut self,
        st: &mut Lanes,
        group: Group,
        loaded: &Loaded,
        counted: &mut u64,
        allowance: u64,
    ) -> Ran<()> {
        #[cfg(target_arch = "x86_64")]
        if crate::exec::simd::avx2() {
            // SAFETY: the processor has AVX2 (`avx2` checks it).
            return unsafe { self.run_group_avx2(st, group, loaded, counted, allowance) };
        }
        self.group_body(st, group, loaded, counted, allowance)
    }

    /// [`Vm::run_group`] compiled for AVX2.
    ///
    /// # Safety
    /// Only on a processor with AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline(never)]
    unsafe fn run_group_avx2(
        &mut self,
        st: &mut Lanes,
        group: Group,
        loaded: &Loaded,
        counted: &mut u64,
        allowance: u64,
    ) -> Ran<()> {
        self.group_body(st, group, loaded, counted, allowance)
    }

    /// What [`Vm::run_group`] does, inlined in each of its two compilations.
    #[inline(always)]
    fn group_body(
        &mut self,
        st: &mut Lanes,
        group: Group,
        loaded: &Loaded,
        counted: &mut u64,
        allowance: u64,
    ) -> Ran<()> {
        let Group {
            mut callers,
            mut func,
            mut pc,
            mut sb,
            mut rb,
            mask,
        } = group;
        let mut lf = &loaded.funcs[func as usize];
        let mut code: &[Instr] = &lf.code;
        let weight = mask.count_ones() as u64;
        // A group of every lane of the span writes whole registers, and keeps what is
        // the same in every lane once.
        let w = W {
            mask,
            full: mask == st.live,
            wmask: if mask == st.live { FULL } else { mask },
            first: mask.trailing_zeros() as usize,
        };
        let (wmask, first) = (w.wmask, w.first);
        // Instructions of this group not yet added to `counted` (a straight run).
        let mut run = 0u64;
        let mut flags_at = POLL;
        let depth_limit = self.limits.depth;
        // The reference register last found to hold one image in every lane of the
        // group (kernels read `src` over and over); forgotten when a reference
        // register is written.
        let mut same_image = usize::MAX;
        macro_rules! at_jump {
            () => {{
                *counted = counted.saturating_add(run.saturating_mul(weight));
                run = 0;
                if *counted >= allowance {
                    return Err(Bail::Here);
                }
                if *counted >= flags_at {
                    flags_at = counted.saturating_add(POLL);
                    let cancel = self
                        .cancel
                        .as_ref()
                        .is_some_and(|flag| flag.load(Ordering::Relaxed));
                    if cancel || self.pause.load(Ordering::Relaxed) {
                        return Err(Bail::Here);
                    }
                }
            }};
        }
        // A group of some lanes about to run from `pc` stops when another group of the
        // same call waits at or before `pc`: the scheduler runs the one furthest behind
        // first, and groups that meet at one place run on as one.
        macro_rules! rejoin {
            () => {{
                if !w.full
                    && st
                        .pending
                        .iter()
                        .any(|g| g.pc <= pc && g.same_call(func, sb, rb, &callers))
                {
                    st.pending.push(Group {
                        callers,
                        func,
                        pc,
                        sb,
                        rb,
                        mask,
                    });
                    return Ok(());
                }
            }};
        }
        // Goes to `then` for the lanes of `t`, to `otherwise` for the others. When the
        // lanes go both ways, the group ends here as two groups the scheduler picks up
        // (`Lanes::next_group`); when all go one way, a group of some lanes first waits
        // for a group of the same call that is behind it (`rejoin!`).
        macro_rules! branch {
            ($t:expr, $k:expr) => {{
                let t: u64 = $t;
                let (then, otherwise) = (($k as u32) as usize, (($k >> 32) as u32) as usize);
                if t == mask {
                    pc = then;
                    rejoin!();
                } else if t == 0 {
                    pc = otherwise;
                    rejoin!();
                } else {
                    st.pending.push(Group {
                        callers: callers.clone(),
                        func,
                        pc: otherwise,
                        sb,
                        rb,
                        mask: mask & !t,
                    });
                    st.pending.push(Group {
                        callers,
                        func,
                        pc: then,
                        sb,
                        rb,
                        mask: t,
                    });
                    return Ok(());
                }
            }};
        }
        // Runs the rest of the loop that the `ForStep` at `$at` closes at once when it
        // is a kernel's row of taps (`taps`; by its code, `LoadedFn::tap_rows`, then by
        // its registers), and goes on after it.
        macro_rules! fuse {
            ($at:expr) => {{
                let at: usize = $at;
                if lf.tap_rows.get(at) == Some(&true) {
                    let step = code[at];
                    let back = taps::Back {
                        code,
                        recomputed: &lf.recomputed,
                        at,
                        ins: step,
                    };
                    let left = allowance.saturating_sub(*counted);
                    if let Some(ran) = self.fused_taps(st, back, sb, rb, same_image, left)? {
                        *counted += ran;
                        pc = ((step.k >> 32) as u32) as usize;
                        continue;
                    }
                }
            }};
        }
        loop {
            let Some(ins) = code.get(pc).copied() else {
                return Err(Bail::Here);
            };
            pc += 1;
            run += 1;
            if lf.recomputed.get(pc - 1) == Some(&true) {
                // It would write what its registers hold (in every lane of the group,
                // which ran the first of the two in this block): counted, not run.
                continue;
            }
            let (a, b, c) = (
                sb + ins.a as usize,
                sb + ins.b as usize,
                sb + ins.c as usize,
            );
            if matches!(ins.op, Op::MovR | Op::RetR | Op::NewArr | Op::ArrCopy) {
                same_image = usize::MAX;
            }
            if !keeps_flags(ins.op) {
                forget(&mut st.u, a);
                forget(&mut st.u, a + 1);
            }
            // What stays `v + lane` (see `Lanes::step`): a move of such a register, and
            // such a register plus or minus a value the same in every lane, written
            // whole. Every other write forgets it.
            let stepped = w.full && stays_step(ins.op, &st.step, &st.u, b, c);
            if writes_a(ins.op) {
                forget(&mut st.step, a);
                forget(&mut st.step, a + 1);
            }
            let (s, u) = (&mut st.s, &mut st.u);
            match ins.op {
                Op::Nop => {}
                Op::Const => fill(s, u, w, a, ins.k),
                Op::Const2 => {
                    let rgba = (ins.k as u32).to_le_bytes();
                    let (lo, hi) = color_slots(rgba.map(from_u8));
                    fill(s, u, w, a, lo);
                    fill(s, u, w, a + 1, hi);
                }
                Op::Mov => {
                    m1(s, u, w, a, b, |x| x);
                    st.step[a] = stepped;
                }
                Op::Mov2 => {
                    m1(s, u, w, a, b, |x| x);
                    m1(s, u, w, a + 1, b + 1, |x| x);
                }
                Op::MovR => {
                    let (ra, rbb) = (rb + ins.a as usize, rb + ins.b as usize);
                    let src = st.r[rbb];
                    for lane in bits(mask) {
                        st.r[ra][lane] = src[lane];
                    }
                    st.ru[ra] = w.full && st.ru[rbb];
                }
                Op::AddI => {
                    m2(s, u, w, a, b, c, |x, y| {
                        (x as i64).wrapping_add(y as i64) as u64
                    });
                    st.step[a] = stepped;
                }
                Op::SubI => {
                    m2(s, u, w, a, b, c, |x, y| {
                        (x as i64).wrapping_sub(y as i64) as u64
                    });
                    st.step[a] = stepped;
                }
                Op::MulI => m2(s, u, w, a, b, c, |x, y| {
                    (x as i64).wrapping_mul(y as i64) as u64
                }),
                Op::DivI | Op::RemI => {
                    let zero = if u[c] {
                        s[c][first] == 0
                    } else {
                        test(mask, |l| s[c][l] == 0) != 0
                    };
                    if zero {
                        return Err(Bail::Here);
                    }
                    let rem = ins.op == Op::RemI;
                    m2(s, u, w, a, b, c, |x, y| {
                        let (x, y) = (x as i64, y as i64);
                        match (y, rem) {
                            (0, _) => 0,
                            (_, false) => x.wrapping_div(y) as u64,
                            (_, true) => x.wrapping_rem(y) as u64,
                        }
                    })
                }
                Op::NegI => m1(s, u, w, a, b, |x| (x as i64).wrapping_neg() as u64),
                Op::AddIK => {
                    m1(s, u, w, a, b, |x| {
                        (x as i64).wrapping_add(ins.k as i64) as u64
                    });
                    st.step[a] = stepped;
                }
                Op::MulIK => m1(s, u, w, a, b, |x| {
                    (x as i64).wrapping_mul(ins.k as i64) as u64
                }),
                Op::DivIK | Op::RemIK => {
                    let k = ins.k as i64;
                    if k == 0 {
                        return Err(Bail::Here);
                    }
                    if ins.op == Op::DivIK {
                        m1(s, u, w, a, b, |x| (x as i64).wrapping_div(k) as u64)
                    } else {
                        m1(s, u, w, a, b, |x| (x as i64).wrapping_rem(k) as u64)
                    }
                }
                Op::AddFK => m1(s, u, w, a, b, |x| (fl(x) + fl(ins.k)).to_bits()),
                Op::SubFK => m1(s, u, w, a, b, |x| (fl(x) - fl(ins.k)).to_bits()),
                Op::RSubFK => m1(s, u, w, a, b, |x| (fl(ins.k) - fl(x)).to_bits()),
                Op::MulFK => m1(s, u, w, a, b, |x| (fl(x) * fl(ins.k)).to_bits()),
                Op::DivFK => m1(s, u, w, a, b, |x| (fl(x) / fl(ins.k)).to_bits()),
                Op::MulCFK => chalves_k(s, wmask, a, b, fl(ins.k) as f32, |p, q| p * q),
                Op::DivCFK => chalves_k(s, wmask, a, b, fl(ins.k) as f32, |p, q| p / q),
                Op::AddF => m2(s, u, w, a, b, c, |x, y| (fl(x) + fl(y)).to_bits()),
                Op::SubF => m2(s, u, w, a, b, c, |x, y| (fl(x) - fl(y)).to_bits()),
                Op::MulF => m2(s, u, w, a, b, c, |x, y| (fl(x) * fl(y)).to_bits()),
                Op::DivF => m2(s, u, w, a, b, c, |x, y| (fl(x) / fl(y)).to_bits()),
                Op::RemF => m2(s, u, w, a, b, c, |x, y| (fl(x) % fl(y)).to_bits()),
                Op::NegF => m1(s, u, w, a, b, |x| (-fl(x)).to_bits()),
                Op::AddC => chalves(s, wmask, a, b, c, |p, q| p + q),
                Op::SubC => chalves(s, wmask, a, b, c, |p, q| p - q),
                Op::MulC => chalves(s, wmask, a, b, c, |p, q| p * q),
                Op::MulCF | Op::DivCF if u[c] => {
                    // One factor for every lane (a kernel weight): narrowed once.
                    let k = fl(s[c][first]) as f32;
                    if ins.op == Op::MulCF {
                        chalves_k(s, wmask, a, b, k, |p, q| p * q)
                    } else {
                        chalves_k(s, wmask, a, b, k, |p, q| p / q)
                    }
                }
                Op::MulCF => chalves_f(s, wmask, a, b, c, |p, q| p * q),
                Op::DivCF => chalves_f(s, wmask, a, b, c, |p, q| p / q),
                Op::NegC => cmap(s, wmask, a, b, b, |x, _, _| [-x[0], -x[1], -x[2], -x[3]]),
                Op::EqI => m2(s, u, w, a, b, c, |x, y| (x == y) as u64),
                Op::NeI => m2(s, u, w, a, b, c, |x, y| (x != y) as u64),
                Op::LtI => m2(s, u, w, a, b, c, |x, y| ((x as i64) < (y as i64)) as u64),
                Op::LeI => m2(s, u, w, a, b, c, |x, y| ((x as i64) <= (y as i64)) as u64),
                Op::EqF => m2(s, u, w, a, b, c, |x, y| (fl(x) == fl(y)) as u64),
                Op::NeF => m2(s, u, w, a, b, c, |x, y| (fl(x) != fl(y)) as u64),
                Op::LtF => m2(s, u, w, a, b, c, |x, y| (fl(x) < fl(y)) as u64),
                Op::LeF => m2(s, u, w, a, b, c, |x, y| (fl(x) <= fl(y)) as u64),
                Op::EqC | Op::NeC => {
                    let eq = ins.op == Op::EqC;
                    let (x0, x1, y0, y1) = (&s[b], &s[b + 1], &s[c], &s[c + 1]);
                    let out: Lane = lanes_from(|l| {
                        ((color_of(x0[l], x1[l]) == color_of(y0[l], y1[l])) == eq) as u64
                    });
                    put(&mut s[a], &out, wmask);
                }
                Op::Not => m1(s, u, w, a, b, |x| (x == 0) as u64),
                Op::Jmp => {
                    at_jump!();
                    pc = ins.k as usize;
                    rejoin!();
                }
                Op::Br => {
                    at_jump!();
                    let x = &s[a];
                    branch!(when(mask, first, u[a], |l| x[l] != 0), ins.k);
                }
                Op::BrLtI => {
                    at_jump!();
                    let (x, y) = (&s[a], &s[b]);
                    let same = u[a] && u[b];
                    let t = when(mask, first, same, |l| (x[l] as i64) < (y[l] as i64));
                    // Every lane of the span enters a kernel's row of taps: all its
                    // iterations at once.
                    if t == FULL && w.full {
                        if let Some(at) = taps::entered(code, ins) {
                            fuse!(at);
                        }
                    }
                    branch!(t, ins.k);
                }
                Op::BrLtF => {
                    at_jump!();
                    let (x, y) = (&s[a], &s[b]);
                    let same = u[a] && u[b];
                    branch!(when(mask, first, same, |l| fl(x[l]) < fl(y[l])), ins.k);
                }
                Op::BrLtIK => {
                    at_jump!();
                    let k = (ins.c as i16) as i64;
                    let x = &s[a];
                    let t = when(mask, first, u[a], |l| (x[l] as i64) < k);
                    if t == FULL && w.full {
                        if let Some(at) = taps::entered(code, ins) {
                            fuse!(at);
                        }
                    }
                    branch!(t, ins.k);
                }
                Op::ForStepK | Op::ForStep => {
                    at_jump!();
                    m1(s, u, w, a, a, |x| (x as i64).wrapping_add(1) as u64);
                    let x = &s[a];
                    let t = if ins.op == Op::ForStepK {
                        let k = (ins.c as i16) as i64;
                        when(mask, first, u[a], |l| (x[l] as i64) < k)
                    } else {
                        let y = &s[b];
                        let same = u[a] && u[b];
                        when(mask, first, same, |l| (x[l] as i64) < (y[l] as i64))
                    };
                    // Every lane of the span goes round again: a kernel's row of taps
                    // runs its remaining iterations at once.
                    if t == FULL && w.full {
                        fuse!(pc - 1);
                    }
                    branch!(t, ins.k);
                }
                Op::Call => {
                    at_jump!();
                    let callee = ins.k as u32;
                    // The job's frame is the first of the thread's frames.
                    if callers.len() + 2 > depth_limit {
                        return Err(Bail::Here);
                    }
                    let Some(callee_fn) = loaded.funcs.get(callee as usize) else {
                        return Err(Bail::Here);
                    };
                    let (nsb, nrb) = (a, rb + ins.b as usize);
                    let want_s = nsb + callee_fn.nregs as usize + 2;
                    if st.s.len() < want_s {
                        st.s.resize(want_s, [0; LANES]);
                        st.u.resize(want_s, true);
                        st.step.resize(want_s, false);
                    }
                    let want_r = nrb + callee_fn.nrefs as usize + 1;
                    if st.r.len() < want_r {
                        st.r.resize(want_r, [RVal::Id(ChunkId::NIL); LANES]);
                        st.ru.resize(want_r, true);
                    }
                    callers.push(TFrame { func, pc, sb, rb });
                    func = callee;
                    lf = callee_fn;
                    code = &lf.code;
                    pc = 0;
                    sb = nsb;
                    rb = nrb;
                }
                Op::Ret | Op::Ret2 | Op::RetR | Op::RetU => {
                    match ins.op {
                        Op::Ret => {
                            let returned = w.full && st.step[a];
                            m1(s, u, w, sb, a, |x| x);
                            st.step[sb] = returned;
                            forget(&mut st.step, sb + 1);
                        }
                        Op::Ret2 => {
                            m1(s, u, w, sb, a, |x| x);
                            m1(s, u, w, sb + 1, a + 1, |x| x);
                            forget(&mut st.step, sb);
                            forget(&mut st.step, sb + 1);
                        }
                        Op::RetR => {
                            let src = st.r[rb + ins.a as usize];
                            for lane in bits(mask) {
                                st.r[rb][lane] = src[lane];
                            }
                            st.ru[rb] = w.full && st.ru[rb + ins.a as usize];
                        }
                        _ => {}
                    }
                    at_jump!();
                    let Some(caller) = callers.pop() else {
                        return Ok(());
                    };
                    func = caller.func;
                    lf = &loaded.funcs[func as usize];
                    code = &lf.code;
                    pc = caller.pc;
                    sb = caller.sb;
                    rb = caller.rb;
                }
                Op::Glob => {
                    let v = self.globals.get(ins.k as usize).copied().unwrap_or(0);
                    fill(s, u, w, a, v);
                }
                Op::Glob2 => {
                    let lo = self.globals.get(ins.k as usize).copied().unwrap_or(0);
                    let hi = self.globals.get(ins.k as usize + 1).copied().unwrap_or(0);
                    fill(s, u, w, a, lo);
                    fill(s, u, w, a + 1, hi);
                }
                Op::Rgb | Op::Rgba => {
                    let alpha = ins.op == Op::Rgba;
                    let srcs = [b, b + 1, b + 2, if alpha { b + 3 } else { b }];
                    let pack = |l: usize, x: [&Lane; 4]| {
                        let av = if alpha { fl(x[3][l]) as f32 } else { 1.0 };
                        color_slots([
                            fl(x[0][l]) as f32,
                            fl(x[1][l]) as f32,
                            fl(x[2][l]) as f32,
                            av,
                        ])
                    };
                    // Straight into the destination when the group writes it whole
                    // and the channels are other registers.
                    let mut done = false;
                    if wmask == FULL {
                        if let Some(([d0, d1], rest)) = around(s, a, 2) {
                            if let [Some(p), Some(q), Some(r), Some(x)] = srcs.map(|i| rest.get(i))
                            {
                                for l in 0..LANES {
                                    (d0[l], d1[l]) = pack(l, [p, q, r, x]);
                                }
                                done = true;
                            }
                        }
                    }
                    if !done {
                        let mut lo = [0u64; LANES];
                        let mut hi = [0u64; LANES];
                        let x = srcs.map(|i| &s[i]);
                        for l in 0..LANES {
                            (lo[l], hi[l]) = pack(l, x);
                        }
                        put(&mut s[a], &lo, wmask);
                        put(&mut s[a + 1], &hi, wmask);
                    }
                }
                Op::Chan => {
                    // Channel `ch` is the low or high `f32` of the colour's first or
                    // second slot: once when that slot is the same in every lane.
                    let ch = ins.c as usize & 3;
                    let shift = (ch & 1) * 32;
                    m1(s, u, w, a, b + ch / 2, |x| {
                        (f32::from_bits((x >> shift) as u32) as f64).to_bits()
                    });
                }
                Op::At | Op::AtOff | Op::AtOffAcc | Op::AtOffMulAcc => {
                    self.lanes_at(st, ins, w, sb, rb, &mut same_image)?
                }
                Op::ImgW | Op::ImgH => self.lanes_img_dim(st, ins, mask, rb, a)?,
                Op::Math => lanes_math(s, u, w, ins, mask, a, b)?,
                Op::NewArr => self.lanes_new_arr(st, ins, w, rb)?,
                Op::ArrCopy => lanes_arr_copy(st, ins, w, rb)?,
                Op::ArrLen => lanes_arr_len(st, ins, w, rb, a)?,
                Op::ArrGet | Op::ArrGet2 => lanes_arr_get(st, ins, w, rb, a, c)?,
                Op::ArrSet | Op::ArrSet2 => lanes_arr_set(st, ins, w, rb, b, c)?,
                _ => return Err(Bail::Here),
            }
        }
    }
}
