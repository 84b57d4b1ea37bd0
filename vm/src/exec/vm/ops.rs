//! What the dispatch loop hands off: the instructions that touch the store or print
//! (out of the hot loop, so that it keeps its state in registers), pixel access, and
//! the pure builtins over a register window.

use super::*;

impl Vm {
    /// Pixel `(x, y)` of image `img`, edge-clamped, through the view of the last image
    /// read (a kernel reads one image over and over).
    #[inline]
    pub(super) fn pixel(&mut self, img: ChunkId, x: i64, y: i64) -> Result<[u8; 4], StoreError> {
        if !matches!(&self.image, Some((id, ..)) if *id == img) {
            self.image = Some((img, self.open_image(img)?, tile::RowCache::default()));
        }
        match &mut self.image {
            Some((_, view, _)) => view.pixel(&self.store, x, y),
            None => Ok([0; 4]),
        }
    }

    /// The instructions that touch the store or print: out of the hot loop, so that
    /// the loop keeps its state in registers.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn slow_op(
        &mut self,
        ins: Instr,
        s: &mut [u64],
        r: &mut [ChunkId],
        sb: usize,
        rb: usize,
        env: ChunkId,
        loaded: &Loaded,
    ) -> Result<(), Fault> {
        let (a, b, c) = (ins.a as usize, ins.b as usize, ins.c as usize);
        macro_rules! se {
            ($res:expr) => {
                $res.map_err(Fault::from)?
            };
        }
        macro_rules! i {
            ($reg:expr) => {
                s[sb + $reg as usize] as i64
            };
        }
        macro_rules! col {
            ($reg:expr) => {{
                let base = sb + $reg as usize;
                color_of(s[base], s[base + 1])
            }};
        }
        match ins.op {
            Op::Glob => s[sb + a] = self.globals.get(ins.k as usize).copied().unwrap_or(0),
            Op::Glob2 => {
                s[sb + a] = self.globals.get(ins.k as usize).copied().unwrap_or(0);
                s[sb + a + 1] = self.globals.get(ins.k as usize + 1).copied().unwrap_or(0);
            }
            Op::Str => {
                r[rb + a] = loaded
                    .ids
                    .strings
                    .get(ins.k as usize)
                    .copied()
                    .unwrap_or(ChunkId::NIL)
            }
            Op::ImgW | Op::ImgH => {
                let img = r[rb + b];
                let chunk = se!(self.store.try_get(img));
                let slot = if ins.op == Op::ImgW {
                    IMAGE_WIDTH
                } else {
                    IMAGE_WIDTH + 1
                };
                s[sb + a] = chunk.get(slot);
            }
            Op::Math => {
                let Some(op) = builtin_of_code(ins.k) else {
                    return Err("unknown builtin".into());
                };
                math(op, &mut s[sb..], a, b);
            }
            Op::Print | Op::PrintR => {
                let ty = loaded
                    .program
                    .types
                    .get(ins.k as usize)
                    .cloned()
                    .unwrap_or(Type::Unit);
                let value = if ins.op == Op::Print {
                    Value::from_slots(&ty, &s[sb + a..])
                } else {
                    // A thread that is not all here fetches what it prints first (an
                    // image prints its size only).
                    if self.fetch.is_some() && ty != Type::Image {
                        let (_, missing) = self.store.reachable_partial(&[r[rb + a]]);
                        if let Some(id) = missing.first() {
                            return Err(Fault::from(StoreError::Missing(*id)));
                        }
                    }
                    self.ref_value(&ty, r[rb + a])
                };
                self.print_value(value);
            }
            Op::PrintEnd => {
                let line = std::mem::take(&mut self.line);
                if let Err(err) = writeln!(self.out, "{line}") {
                    return Err(if err.kind() == std::io::ErrorKind::BrokenPipe {
                        Fault::new(ErrorKind::OutputClosed, "the output was closed")
                    } else {
                        format!("cannot write the output: {err}").into()
                    });
                }
            }
            Op::NewArr => {
                let (len, width, link) = unpack_shape(ins.k);
                self.room_for(r, crate::chunk::array_chunk_count(len as u64, width as u64))?;
                let id = se!(array_new(&mut self.store, len as u64, width as u64, link));
                r[rb + a] = id;
                if self.store.data_len() >= self.gc_at {
                    self.check_chunks_with(r)?;
                }
            }
            Op::ArrGet | Op::ArrGet2 | Op::ArrGetR => {
                let arr = r[rb + b];
                let idx = i!(c);
                let element = u64::try_from(idx)
                    .map_err(|_| StoreError::OutOfBounds {
                        id: arr,
                        index: 0,
                        len: 0,
                    })
                    .and_then(|idx| array_element(&self.store, arr, idx));
                let [v0, v1] = match element {
                    Ok(values) => values,
                    Err(StoreError::OutOfBounds { .. }) => {
                        let len = se!(array_len(&self.store, arr));
                        return Err(format!(
                            "index {idx} out of range for an array of length {len}"
                        )
                        .into());
                    }
                    Err(err) => return Err(Fault::from(err)),
                };
                match ins.op {
                    Op::ArrGet => s[sb + a] = v0,
                    Op::ArrGetR => r[rb + a] = ChunkId(v0),
                    _ => {
                        s[sb + a] = v0;
                        s[sb + a + 1] = v1;
                    }
                }
            }
            Op::ArrSet | Op::ArrSet2 | Op::ArrSetR => {
                let arr = r[rb + a];
                let idx = i!(b);
                let values = match ins.op {
                    Op::ArrSet => [s[sb + c], 0],
                    Op::ArrSetR => [r[rb + c].0, 0],
                    _ => [s[sb + c], s[sb + c + 1]],
                };
                let set = u64::try_from(idx)
                    .map_err(|_| StoreError::OutOfBounds {
                        id: arr,
                        index: 0,
                        len: 0,
                    })
                    .and_then(|idx| array_set_element(&mut self.store, arr, idx, values));
                match set {
                    Ok(()) => {}
                    Err(StoreError::OutOfBounds { .. }) => {
                        let len = se!(array_len(&self.store, arr));
                        return Err(format!(
                            "index {idx} out of range for an array of length {len}"
                        )
                        .into());
                    }
                    Err(err) => return Err(Fault::from(err)),
                }
            }
            Op::ArrLen => {
                let len = se!(array_len(&self.store, r[rb + b]));
                s[sb + a] = len;
            }
            Op::ArrCopy => {
                let info = se!(array_info(&self.store, r[rb + b]));
                self.room_for(r, crate::chunk::array_chunk_count(info.len, info.width))?;
                let copy = se!(deep_copy(&mut self.store, r[rb + b]));
                r[rb + a] = copy;
            }
            Op::EnvGet | Op::EnvGetR => {
                let value = se!(self.env_get(env, b as u16, c as u16));
                if ins.op == Op::EnvGet {
                    s[sb + a] = value;
                } else {
                    r[rb + a] = ChunkId(value);
                }
            }
            Op::EnvGet2 => {
                let lo = se!(self.env_get(env, b as u16, c as u16));
                let hi = se!(self.env_get(env, b as u16, c as u16 + 1));
                s[sb + a] = lo;
                s[sb + a + 1] = hi;
            }
            Op::EnvSet => se!(self.env_set(env, a as u16, b as u16, s[sb + c], false)),
            Op::EnvSetR => se!(self.env_set(env, a as u16, b as u16, r[rb + c].0, true)),
            Op::EnvSet2 => {
                let (lo, hi) = (s[sb + c], s[sb + c + 1]);
                se!(self.env_set(env, a as u16, b as u16, lo, false));
                se!(self.env_set(env, a as u16, b as u16 + 1, hi, false));
            }
            Op::MkClo => {
                let fid = loaded
                    .ids
                    .functions
                    .get(ins.k as usize)
                    .copied()
                    .unwrap_or(ChunkId::NIL);
                let captured = if loaded
                    .program
                    .functions
                    .get(ins.k as usize)
                    .is_some_and(|f| f.is_closure)
                {
                    env
                } else {
                    ChunkId::NIL
                };
                let mut chunk = Chunk::new(Kind::Closure);
                chunk.set_link(0, fid);
                chunk.set_link(1, captured);
                r[rb + a] = self.store.alloc(chunk);
            }
            Op::Blank | Op::ImgNew => {
                let (w, h) = (i!(b), i!(b + 1));
                if !(0..=1 << 16).contains(&w) || !(0..=1 << 16).contains(&h) {
                    return Err(format!("image size {w}x{h} is out of range (0 to 65536)").into());
                }
                let fill = if ins.op == Op::Blank {
                    let c = col!(b + 2);
                    [to_u8(c[0]), to_u8(c[1]), to_u8(c[2]), to_u8(c[3])]
                } else {
                    [0; 4]
                };
                let tiles = (w as u64).div_ceil(8) * (h as u64).div_ceil(8);
                if self.store.data_len() as u64 + tiles > self.limits.chunks as u64 {
                    return Err(Fault::new(
                        ErrorKind::Quota,
                        format!(
                            "chunk quota exceeded: a {w}x{h} image needs {}, the limit is {}",
                            crate::diag::plural(tiles, "chunk"),
                            self.limits.chunks
                        ),
                    ));
                }
                let pixels: Vec<u8> = fill
                    .iter()
                    .copied()
                    .cycle()
                    .take((w * h * 4) as usize)
                    .collect();
                let id = se!(image_from_rgba8(
                    &mut self.store,
                    w as u32,
                    h as u32,
                    &pixels
                ));
                r[rb + a] = id;
            }
            Op::ImgSet => {
                let img = r[rb + a];
                let (x, y) = (i!(b), i!(b + 1));
                let px = col!(c);
                se!(set_pixel(
                    &mut self.store,
                    img,
                    x,
                    y,
                    [to_u8(px[0]), to_u8(px[1]), to_u8(px[2]), to_u8(px[3])]
                ));
                if matches!(&self.image, Some((id, ..)) if *id == img) {
                    self.image = None;
                }
            }
            _ => {
                return Err(
                    format!("{} is not an instruction of the slow path", ins.op.name()).into(),
                )
            }
        }
        Ok(())
    }
}

pub(super) fn set_pixel(
    store: &mut Store,
    img: ChunkId,
    x: i64,
    y: i64,
    rgba: [u8; 4],
) -> Result<(), StoreError> {
    let root = store.try_get(img)?;
    let (w, h) = (
        root.get(IMAGE_WIDTH) as i64,
        root.get(IMAGE_WIDTH + 1) as i64,
    );
    if x < 0 || y < 0 || x >= w || y >= h {
        return Ok(());
    }
    let tiles = root
        .link(IMAGE_TILES)
        .ok_or(StoreError::Missing(ChunkId::NIL))?;
    let tiles_x = (w as u64).div_ceil(TILE_SIZE as u64);
    let tile_idx = (y as u64 / TILE_SIZE as u64) * tiles_x + x as u64 / TILE_SIZE as u64;
    let tile = ChunkId(array_get_slot(store, tiles, tile_idx)?);
    let chunk = store.get_mut(tile)?;
    set_tile_pixel(
        chunk,
        (x % TILE_SIZE as i64) as u32,
        (y % TILE_SIZE as i64) as u32,
        rgba,
    );
    Ok(())
}

/// Computes a pure builtin over a register window: arguments from `b`, result to `a`.
pub(super) fn math(op: BuiltinOp, s: &mut [u64], a: usize, b: usize) {
    let out = math_of(op, &s[b..]);
    s[a] = out[0];
    if crate::compile::ir::math_widths(op).1 == 2 {
        s[a + 1] = out[1];
    }
}

/// A pure builtin of the arguments `s[0..]`: its result's slots (the second 0 for a
/// one-slot result). Inlined, so that a caller passing a constant `op` (the
/// tile-wide lane loops) gets that builtin's code alone.
#[inline(always)]
pub(super) fn math_of(op: BuiltinOp, s: &[u64]) -> [u64; 2] {
    let b = 0;
    let f = |s: &[u64], idx: usize| f64::from_bits(s[b + idx]);
    let i = |s: &[u64], idx: usize| s[b + idx] as i64;
    let col = |s: &[u64], idx: usize| color_of(s[b + idx], s[b + idx + 1]);
    use BuiltinOp::*;
    let float = |value: f64| value.to_bits();
    let out: [u64; 2] = match op {
        Gray => {
            let v = f(s, 0) as f32;
            let (lo, hi) = color_slots([v, v, v, 1.0]);
            [lo, hi]
        }
        MixColor => {
            let (x, y, t) = (col(s, 0), col(s, 2), f(s, 4) as f32);
            let m = |i: usize| x[i] * (1.0 - t) + y[i] * t;
            let (lo, hi) = color_slots([m(0), m(1), m(2), m(3)]);
            [lo, hi]
        }
        ClampColor => {
            let (x, lo, hi) = (col(s, 0), f(s, 2) as f32, f(s, 3) as f32);
            let m = |i: usize| x[i].max(lo).min(hi);
            let (l, h) = color_slots([m(0), m(1), m(2), m(3)]);
            [l, h]
        }
        ClampColors => {
            let (x, lo, hi) = (col(s, 0), col(s, 2), col(s, 4));
            let m = |i: usize| x[i].max(lo[i]).min(hi[i]);
            let (l, h) = color_slots([m(0), m(1), m(2), m(3)]);
            [l, h]
        }
        MinColor | MaxColor => {
            let (x, y) = (col(s, 0), col(s, 2));
            let m = |i: usize| {
                if op == MinColor {
                    x[i].min(y[i])
                } else {
                    x[i].max(y[i])
                }
            };
            let (l, h) = color_slots([m(0), m(1), m(2), m(3)]);
            [l, h]
        }
        MixFloat => [float(f(s, 0) * (1.0 - f(s, 2)) + f(s, 1) * f(s, 2)), 0],
        ClampFloat => [float(f(s, 0).max(f(s, 1)).min(f(s, 2))), 0],
        ClampInt => [i(s, 0).max(i(s, 1)).min(i(s, 2)) as u64, 0],
        MinFloat => [float(f(s, 0).min(f(s, 1))), 0],
        MinInt => [i(s, 0).min(i(s, 1)) as u64, 0],
        MaxFloat => [float(f(s, 0).max(f(s, 1))), 0],
        MaxInt => [i(s, 0).max(i(s, 1)) as u64, 0],
        AbsFloat => [float(f(s, 0).abs()), 0],
        AbsInt => [i(s, 0).wrapping_abs() as u64, 0],
        Sqrt => [float(f(s, 0).sqrt()), 0],
        Pow => [float(f(s, 0).powf(f(s, 1))), 0],
        Exp => [float(f(s, 0).exp()), 0],
        Log => [float(f(s, 0).ln()), 0],
        Floor => [float(f(s, 0).floor()), 0],
        Ceil => [float(f(s, 0).ceil()), 0],
        Round => [float(f(s, 0).round()), 0],
        Fract => [float(f(s, 0) - f(s, 0).floor()), 0],
        Sin => [float(f(s, 0).sin()), 0],
        Cos => [float(f(s, 0).cos()), 0],
        Atan2 => [float(f(s, 0).atan2(f(s, 1))), 0],
        Smoothstep => {
            let (e0, e1, x) = (f(s, 0), f(s, 1), f(s, 2));
            let t = if e1 == e0 {
                if x < e0 {
                    0.0
                } else {
                    1.0
                }
            } else {
                ((x - e0) / (e1 - e0)).clamp(0.0, 1.0)
            };
            [float(t * t * (3.0 - 2.0 * t)), 0]
        }
        Luma => {
            let c = col(s, 0);
            [
                float(0.299 * c[0] as f64 + 0.587 * c[1] as f64 + 0.114 * c[2] as f64),
                0,
            ]
        }
        ToFloat => [float(i(s, 0) as f64), 0],
        ToInt => [(f(s, 0) as i64) as u64, 0],
        Print | Rgb | Rgba | Len | Blank | Render => [0, 0],
    };
    out
}
