//! The dispatch loop: one instruction after another from the decoded blocks,
//! registers in plain slices, limits and stop requests checked at safe points only.

use super::*;

impl Vm {
    #[inline(never)]
    pub(super) fn run_loop<const DEBUG: bool>(&mut self) -> Result<Stop, RuntimeError> {
        let loaded = self.loaded.clone();
        let Some(top) = self.frames.last().copied() else {
            return Ok(Stop::Finished(Value::Unit));
        };
        let mut func = top.func;
        let mut lf = &loaded.funcs[func as usize];
        let mut code: &[Instr] = &lf.code;
        let mut pc = top.pc as usize;
        let mut sb = top.sbase as usize;
        let mut rb = top.rbase as usize;
        let mut env = top.env;
        let mut s = std::mem::take(&mut self.s);
        let mut r = std::mem::take(&mut self.r);
        let mut check_at = self.next_check();
        // A run goes on from where it stopped without stopping there again, unless it
        // stopped before an instruction the debugger did not look at (not while stepping).
        let recheck = std::mem::take(&mut self.check_first)
            && self
                .debug
                .as_ref()
                .is_some_and(|d| d.step == StepState::None);
        let mut first = !recheck;
        // Instructions are counted a run at a time: `count` holds those before `entry`,
        // the offset where the current straight run began; `save!` writes the sum back.
        let mut count = self.count;
        let mut entry = pc;
        // Hot blocks run compiled. A thread whose debugger looks at its instructions
        // (`DEBUG`) only while it continues, with regions of its own that leave out every
        // instruction the debugger may stop at (see `exec::jit`).
        #[cfg(feature = "jit")]
        let debug_jit = if DEBUG && self.jit {
            self.debug_jit()
        } else {
            None
        };
        #[cfg(feature = "jit")]
        let (jit_on, jit_hot) = (
            if DEBUG { debug_jit.is_some() } else { self.jit },
            self.jit_hot,
        );
        #[cfg(feature = "jit")]
        let jit_code: &crate::exec::jit::Jit = debug_jit.as_deref().unwrap_or(&loaded.jit);

        macro_rules! save {
            () => {{
                self.count = count.saturating_add((pc - entry) as u64);
                if let Some(frame) = self.frames.last_mut() {
                    frame.pc = pc as u32;
                }
                self.s = std::mem::take(&mut s);
                self.r = std::mem::take(&mut r);
            }};
        }
        // A fault at instruction `$at` (the one just decoded). A chunk missing from a
        // thread that can fetch it is not a failure: the instruction has changed nothing
        // yet, so the thread stops *before* it (uncounted) and `run` fetches the chunk
        // and runs it again.
        macro_rules! fail {
            ($at:expr, $msg:expr) => {{
                let at = $at as u32;
                let fault: Fault = $msg.into();
                if let (Some(id), true) = (fault.missing, self.fetch.is_some()) {
                    count = count.saturating_add((pc - entry) as u64).saturating_sub(1);
                    pc = at as usize;
                    entry = pc;
                    save!();
                    self.missing = Some(id);
                    return Err(self.error_at(
                        at,
                        Fault::new(ErrorKind::Missing, format!("chunk {id} is not here")),
                    ));
                }
                save!();
                return Err(self.error_at(at, fault));
            }};
        }
        macro_rules! store_err {
            ($at:expr, $res:expr) => {
                match $res {
                    Ok(value) => value,
                    Err(err) => fail!($at, Fault::from(err)),
                }
            };
        }
        // At a safe point: poll the limits and flags when it is time. `$at` is where the
        // thread resumes if it stops here: the jump itself (not yet done, so it is not
        // counted), or the instruction after a finished return.
        macro_rules! safe_point {
            ($at:expr) => {
                count = count.saturating_add((pc - entry) as u64);
                entry = pc;
                if count >= check_at {
                    save!();
                    let at = $at;
                    let polled = self.poll(at as u32);
                    s = std::mem::take(&mut self.s);
                    r = std::mem::take(&mut self.r);
                    match polled {
                        Ok(None) => check_at = self.next_check(),
                        Ok(Some(stop)) => {
                            if at + 1 == pc {
                                count = count.saturating_sub(1);
                            }
                            // After a return (or a pixel's new call) the instruction at
                            // `at` was not looked at for breakpoints yet: the next run does.
                            self.check_first = at == pc;
                            pc = at;
                            entry = pc;
                            save!();
                            return Ok(stop);
                        }
                        Err(err) => {
                            save!();
                            return Err(err);
                        }
                    }
                }
            };
        }
        // Where a straight run begins (`pc == entry`, `count` exact): run the compiled
        // region there, if any, within the instructions left before the next check.
        macro_rules! jit {
            () => {
                // A region that left for a block outside it: that block may have one.
                #[cfg(feature = "jit")]
                while jit_on {
                    let limit = check_at.saturating_sub(count);
                    let depth = self.frames.len();
                    let at = crate::exec::jit::At {
                        s: &mut s,
                        sb,
                        r_len: r.len(),
                        rb,
                        frames: &mut self.frames,
                        depth: self.limits.depth,
                    };
                    match jit_code.run(lf, func, pc, at, limit, jit_hot) {
                        Some(exit) if exit.ran > 0 => {
                            if self.frames.len() != depth {
                                // It called its function: on in the frame it pushed last.
                                if let Some(top) = self.frames.last() {
                                    sb = top.sbase as usize;
                                    rb = top.rbase as usize;
                                    env = top.env;
                                }
                            }
                            count = count.saturating_add(exit.ran);
                            self.jit_count = self.jit_count.saturating_add(exit.ran);
                            pc = exit.next;
                            entry = pc;
                            if DEBUG {
                                // The debugger's look at the next instruction compares it
                                // with the last one run. Where the region does not know
                                // it, `pc` is one of its instructions, which no debugger
                                // stops at: that look does not read it.
                                if let Some(debug) = self.debug.as_mut() {
                                    let last = exit.from.unwrap_or(pc) as u32;
                                    debug.prev = (self.frames.len(), func, last);
                                }
                            }
                            if !exit.again {
                                break;
                            }
                        }
                        _ => break,
                    }
                }
            };
        }
        // A two-way branch: to `k.then` (low half) or `k.else` (high half).
        macro_rules! branch {
            ($cond:expr, $targets:expr) => {{
                pc = if $cond {
                    $targets as u32
                } else {
                    ($targets >> 32) as u32
                } as usize;
                entry = pc;
                jit!();
            }};
        }
        macro_rules! col {
            ($reg:expr) => {{
                let base = sb + $reg as usize;
                color_of(s[base], s[base + 1])
            }};
        }
        macro_rules! set_col {
            ($reg:expr, $c:expr) => {{
                let base = sb + $reg as usize;
                let (lo, hi) = color_slots($c);
                s[base] = lo;
                s[base + 1] = hi;
            }};
        }
        macro_rules! f {
            ($reg:expr) => {
                f64::from_bits(s[sb + $reg as usize])
            };
        }
        macro_rules! i {
            ($reg:expr) => {
                s[sb + $reg as usize] as i64
            };
        }

        loop {
            if DEBUG {
                if !first {
                    if let Some(stop) = self.debug_check(func, pc as u32) {
                        save!();
                        return Ok(stop);
                    }
                }
                first = false;
            }
            let ins = code[pc];
            pc += 1;
            let (a, b, c) = (ins.a as usize, ins.b as usize, ins.c as usize);
            match ins.op {
                Op::Nop => {}
                Op::Const => s[sb + a] = ins.k,
                Op::Const2 => {
                    let rgba = (ins.k as u32).to_le_bytes();
                    set_col!(
                        a,
                        [
                            from_u8(rgba[0]),
                            from_u8(rgba[1]),
                            from_u8(rgba[2]),
                            from_u8(rgba[3])
                        ]
                    );
                }
                Op::Mov => s[sb + a] = s[sb + b],
                Op::Mov2 => {
                    s[sb + a] = s[sb + b];
                    s[sb + a + 1] = s[sb + b + 1];
                }
                Op::MovR => r[rb + a] = r[rb + b],
                Op::AddI => s[sb + a] = i!(b).wrapping_add(i!(c)) as u64,
                Op::SubI => s[sb + a] = i!(b).wrapping_sub(i!(c)) as u64,
                Op::MulI => s[sb + a] = i!(b).wrapping_mul(i!(c)) as u64,
                Op::DivI => {
                    let divisor = i!(c);
                    if divisor == 0 {
                        fail!(pc - 1, "division by zero");
                    }
                    s[sb + a] = i!(b).wrapping_div(divisor) as u64;
                }
                Op::RemI => {
                    let divisor = i!(c);
                    if divisor == 0 {
                        fail!(pc - 1, "remainder by zero");
                    }
                    s[sb + a] = i!(b).wrapping_rem(divisor) as u64;
                }
                Op::NegI => s[sb + a] = i!(b).wrapping_neg() as u64,
                Op::AddIK => s[sb + a] = i!(b).wrapping_add(ins.k as i64) as u64,
                Op::MulIK => s[sb + a] = i!(b).wrapping_mul(ins.k as i64) as u64,
                Op::DivIK => s[sb + a] = i!(b).wrapping_div(ins.k as i64) as u64,
                Op::RemIK => s[sb + a] = i!(b).wrapping_rem(ins.k as i64) as u64,
                Op::AddFK => s[sb + a] = (f!(b) + f64::from_bits(ins.k)).to_bits(),
                Op::SubFK => s[sb + a] = (f!(b) - f64::from_bits(ins.k)).to_bits(),
                Op::RSubFK => s[sb + a] = (f64::from_bits(ins.k) - f!(b)).to_bits(),
                Op::MulFK => s[sb + a] = (f!(b) * f64::from_bits(ins.k)).to_bits(),
                Op::DivFK => s[sb + a] = (f!(b) / f64::from_bits(ins.k)).to_bits(),
                Op::MulCFK => {
                    let (x, k) = (col!(b), f64::from_bits(ins.k) as f32);
                    set_col!(a, [x[0] * k, x[1] * k, x[2] * k, x[3] * k]);
                }
                Op::DivCFK => {
                    let (x, k) = (col!(b), f64::from_bits(ins.k) as f32);
                    set_col!(a, [x[0] / k, x[1] / k, x[2] / k, x[3] / k]);
                }
                Op::AddF => s[sb + a] = (f!(b) + f!(c)).to_bits(),
                Op::SubF => s[sb + a] = (f!(b) - f!(c)).to_bits(),
                Op::MulF => s[sb + a] = (f!(b) * f!(c)).to_bits(),
                Op::DivF => s[sb + a] = (f!(b) / f!(c)).to_bits(),
                Op::RemF => s[sb + a] = (f!(b) % f!(c)).to_bits(),
                Op::NegF => s[sb + a] = (-f!(b)).to_bits(),
                Op::AddC => {
                    let (x, y) = (col!(b), col!(c));
                    set_col!(a, [x[0] + y[0], x[1] + y[1], x[2] + y[2], x[3] + y[3]]);
                }
                Op::SubC => {
                    let (x, y) = (col!(b), col!(c));
                    set_col!(a, [x[0] - y[0], x[1] - y[1], x[2] - y[2], x[3] - y[3]]);
                }
                Op::MulC => {
                    let (x, y) = (col!(b), col!(c));
                    set_col!(a, [x[0] * y[0], x[1] * y[1], x[2] * y[2], x[3] * y[3]]);
                }
                Op::MulCF => {
                    let (x, k) = (col!(b), f!(c) as f32);
                    set_col!(a, [x[0] * k, x[1] * k, x[2] * k, x[3] * k]);
                }
                Op::DivCF => {
                    let (x, k) = (col!(b), f!(c) as f32);
                    set_col!(a, [x[0] / k, x[1] / k, x[2] / k, x[3] / k]);
                }
                Op::NegC => {
                    let x = col!(b);
                    set_col!(a, [-x[0], -x[1], -x[2], -x[3]]);
                }
                Op::EqI => s[sb + a] = (s[sb + b] == s[sb + c]) as u64,
                Op::NeI => s[sb + a] = (s[sb + b] != s[sb + c]) as u64,
                Op::LtI => s[sb + a] = (i!(b) < i!(c)) as u64,
                Op::LeI => s[sb + a] = (i!(b) <= i!(c)) as u64,
                Op::EqF => s[sb + a] = (f!(b) == f!(c)) as u64,
                Op::NeF => s[sb + a] = (f!(b) != f!(c)) as u64,
                Op::LtF => s[sb + a] = (f!(b) < f!(c)) as u64,
                Op::LeF => s[sb + a] = (f!(b) <= f!(c)) as u64,
                Op::EqC => s[sb + a] = (col!(b) == col!(c)) as u64,
                Op::NeC => s[sb + a] = (col!(b) != col!(c)) as u64,
                Op::Not => s[sb + a] = (s[sb + b] == 0) as u64,
                Op::Jmp => {
                    safe_point!(pc - 1);
                    pc = ins.k as usize;
                    entry = pc;
                    jit!();
                }
                Op::Br => {
                    safe_point!(pc - 1);
                    branch!(s[sb + a] != 0, ins.k);
                }
                Op::BrLtI => {
                    safe_point!(pc - 1);
                    branch!(i!(a) < i!(b), ins.k);
                }
                Op::BrLtF => {
                    safe_point!(pc - 1);
                    branch!(f!(a) < f!(b), ins.k);
                }
                Op::BrLtIK => {
                    safe_point!(pc - 1);
                    branch!(i!(a) < (c as u16 as i16) as i64, ins.k);
                }
                Op::ForStepK => {
                    safe_point!(pc - 1);
                    let next = i!(a).wrapping_add(1);
                    s[sb + a] = next as u64;
                    branch!(next < (c as u16 as i16) as i64, ins.k);
                }
                Op::ForStep => {
                    safe_point!(pc - 1);
                    let next = i!(a).wrapping_add(1);
                    s[sb + a] = next as u64;
                    branch!(next < i!(b), ins.k);
                }
                Op::Call | Op::CallV => {
                    safe_point!(pc - 1);
                    let (callee, parent_env) = if ins.op == Op::Call {
                        (ins.k as u32, ChunkId::NIL)
                    } else {
                        let clo = r[rb + c];
                        let chunk = store_err!(pc - 1, self.store.try_get(clo));
                        let fid = chunk.link(0).unwrap_or(ChunkId::NIL);
                        let parent = chunk.link(1).unwrap_or(ChunkId::NIL);
                        let Some(idx) = loaded.func_of_chunk.get(&fid).copied() else {
                            fail!(
                                pc - 1,
                                format!("closure {clo} links to unknown function {fid}")
                            );
                        };
                        (idx, parent)
                    };
                    if self.frames.len() >= self.limits.depth {
                        fail!(
                            pc - 1,
                            Fault::new(
                                ErrorKind::Depth,
                                format!(
                                    "recursion too deep: more than {} nested calls",
                                    self.limits.depth
                                )
                            )
                        );
                    }
                    let callee_fn = &loaded.funcs[callee as usize];
                    let nsb = sb + a;
                    let nrb = rb + b;
                    if s.len() < nsb + callee_fn.nregs as usize + 2 {
                        s.resize(nsb + callee_fn.nregs as usize + 2, 0);
                    }
                    if r.len() < nrb + callee_fn.nrefs as usize + 1 {
                        r.resize(nrb + callee_fn.nrefs as usize + 1, ChunkId::NIL);
                    }
                    if let Some(frame) = self.frames.last_mut() {
                        frame.pc = pc as u32;
                    }
                    let new_env = if callee_fn.env_slots > 0 {
                        self.s = std::mem::take(&mut s);
                        self.r = std::mem::take(&mut r);
                        let made = self.new_env(callee, parent_env);
                        s = std::mem::take(&mut self.s);
                        r = std::mem::take(&mut self.r);
                        made
                    } else {
                        parent_env
                    };
                    self.frames.push(Frame {
                        func: callee,
                        pc: 0,
                        sbase: nsb as u32,
                        rbase: nrb as u32,
                        env: new_env,
                    });
                    func = callee;
                    lf = callee_fn;
                    code = &lf.code;
                    pc = 0;
                    entry = 0;
                    sb = nsb;
                    rb = nrb;
                    env = new_env;
                    jit!();
                }
                Op::Ret | Op::Ret2 | Op::RetR | Op::RetU => {
                    if self.frames.len() == 1 && self.job.is_some() {
                        // What the next pixel reads, read before this frame is gone.
                        store_err!(pc - 1, self.job_ready());
                    }
                    count = count.saturating_add((pc - entry) as u64);
                    match ins.op {
                        Op::Ret => s[sb] = s[sb + a],
                        Op::Ret2 => {
                            let (lo, hi) = (s[sb + a], s[sb + a + 1]);
                            s[sb] = lo;
                            s[sb + 1] = hi;
                        }
                        Op::RetR => r[rb] = r[rb + a],
                        _ => {}
                    }
                    self.frames.pop();
                    if self.frames.is_empty() && self.job.is_some() {
                        // A filter over a region: keep the pixel and go on with the next one
                        // without leaving the loop.
                        let next = store_err!(pc - 1, self.next_pixel(&mut s, &mut r));
                        if let Some(next) = next {
                            self.frames.push(next);
                            func = next.func;
                            lf = &loaded.funcs[func as usize];
                            code = &lf.code;
                            pc = 0;
                            entry = 0;
                            sb = 0;
                            rb = 0;
                            env = ChunkId::NIL;
                            safe_point!(pc);
                            // At a pixel boundary: the next pixels tile-wide, a span at a
                            // time, each span's end a safe point.
                            while !DEBUG && self.tiles {
                                match self.tile_span(count, &mut s, &mut r) {
                                    Ok(Some(counted)) => {
                                        count = count.saturating_add(counted);
                                        safe_point!(pc);
                                    }
                                    Ok(None) => break,
                                    Err(err) => fail!(pc, Fault::from(err)),
                                }
                            }
                            continue;
                        }
                    }
                    let Some(caller) = self.frames.last().copied() else {
                        let job_image = self
                            .job
                            .as_ref()
                            .map(|job| job.result)
                            .filter(|id| !id.is_nil());
                        let value = match ins.op {
                            _ if job_image.is_some() => {
                                let id = job_image.unwrap_or(ChunkId::NIL);
                                self.ref_value(&Type::Image, id)
                            }
                            Op::RetR => {
                                let ty = self.result_type.clone();
                                self.ref_value(&ty, r[rb])
                            }
                            Op::RetU => Value::Unit,
                            _ => Value::from_slots(&self.result_type, &s[sb..]),
                        };
                        self.result = Some(value.clone());
                        self.count = count;
                        self.s = std::mem::take(&mut s);
                        self.r = std::mem::take(&mut r);
                        self.flush_line();
                        return Ok(Stop::Finished(value));
                    };
                    func = caller.func;
                    lf = &loaded.funcs[func as usize];
                    code = &lf.code;
                    pc = caller.pc as usize;
                    entry = pc;
                    sb = caller.sbase as usize;
                    rb = caller.rbase as usize;
                    env = caller.env;
                    safe_point!(pc);
                    jit!();
                }
                Op::Rgb => set_col!(a, [f!(b) as f32, f!(b + 1) as f32, f!(b + 2) as f32, 1.0]),
                Op::Rgba => set_col!(
                    a,
                    [
                        f!(b) as f32,
                        f!(b + 1) as f32,
                        f!(b + 2) as f32,
                        f!(b + 3) as f32
                    ]
                ),
                Op::Chan => s[sb + a] = (col!(b)[c & 3] as f64).to_bits(),
                Op::At | Op::AtOff | Op::AtOffAcc | Op::AtOffMulAcc => {
                    let img = r[rb + b];
                    let (x, y) = if ins.op == Op::At {
                        (i!(c), i!(c + 1))
                    } else {
                        let k = ins.k;
                        (
                            i!(k as u16).wrapping_add(i!((k >> 16) as u16)),
                            i!((k >> 32) as u16).wrapping_add(i!((k >> 48) as u16)),
                        )
                    };
                    let px = store_err!(pc - 1, self.pixel(img, x, y));
                    let px = [
                        from_u8(px[0]),
                        from_u8(px[1]),
                        from_u8(px[2]),
                        from_u8(px[3]),
                    ];
                    if ins.op == Op::AtOffMulAcc {
                        let (sum, k) = (col!(a), f!(c) as f32);
                        set_col!(
                            a,
                            [
                                sum[0] + px[0] * k,
                                sum[1] + px[1] * k,
                                sum[2] + px[2] * k,
                                sum[3] + px[3] * k
                            ]
                        );
                    } else if ins.op == Op::AtOffAcc {
                        let sum = col!(a);
                        set_col!(
                            a,
                            [
                                sum[0] + px[0],
                                sum[1] + px[1],
                                sum[2] + px[2],
                                sum[3] + px[3]
                            ]
                        );
                    } else {
                        set_col!(a, px);
                    }
                }
                _ => {
                    if let Err(message) =
                        self.slow_op(ins, &mut s, &mut r, sb, rb, env, loaded.as_ref())
                    {
                        fail!(pc - 1, message);
                    }
                }
            }
        }
    }
}
