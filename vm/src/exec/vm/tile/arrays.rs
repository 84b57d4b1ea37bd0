//! Lane arrays: arrays made inside a span's calls, in scratch memory (no chunk), each
//! element's slots over the lanes.

use super::lanes::*;
use super::*;
use crate::chunk::array_chunk_count;

impl Vm {
    /// `NewArr` over the lanes of group `w`: a fresh lane array of the shape `ins.k`
    /// says, refused (a bail) where a per-pixel run's chunks would not fit the quota.
    #[inline(always)]
    pub(super) fn lanes_new_arr(&mut self, st: &mut Lanes, ins: Instr, w: W, rb: usize) -> Ran<()> {
        let (len, width, link) = unpack_shape(ins.k);
        let (len, width) = (len as u64, width as u64);
        if link || !(1..=2).contains(&width) || len * width > 1 << 14 {
            return Err(Bail::Here);
        }
        // A per-pixel run would make the array's chunks: what would not fit
        // the quota there is the interpreter's to report.
        let chunks = array_chunk_count(len, width).ok_or(Bail::Here)?;
        if self.store.data_len() as u64 + chunks > self.limits.chunks as u64 {
            return Err(Bail::Here);
        }
        let id = st.arrays.len() as u32;
        st.arrays.push(LaneArray {
            len,
            width,
            data: vec![0; (len * width) as usize * LANES],
            same: vec![true; len as usize],
        });
        let ra = rb + ins.a as usize;
        for lane in bits(w.mask) {
            st.r[ra][lane] = RVal::Arr(id);
        }
        st.ru[ra] = w.full;
        Ok(())
    }
}

/// The one lane array every lane of `w` holds in reference register `reg`, if they
/// hold one.
#[inline(always)]
fn one_array(st: &Lanes, w: W, reg: usize) -> Option<u32> {
    let head = st.r[reg][w.first];
    let RVal::Arr(id) = head else {
        return None;
    };
    if st.ru[reg] || bits(w.mask).all(|lane| st.r[reg][lane] == head) {
        Some(id)
    } else {
        None
    }
}

/// The index register `c`'s value if it is the same in every lane of `w`.
#[inline(always)]
fn one_index(st: &Lanes, w: W, c: usize) -> Option<u64> {
    if st.u[c] || uniform(&st.s[c], w.mask) {
        Some(st.s[c][w.first])
    } else {
        None
    }
}

/// `ArrCopy` over the lanes of group `w`: a copy of the one lane array every lane
/// holds.
#[inline(always)]
pub(super) fn lanes_arr_copy(st: &mut Lanes, ins: Instr, w: W, rb: usize) -> Ran<()> {
    let (ra, rsrc) = (rb + ins.a as usize, rb + ins.b as usize);
    let src = one_array(st, w, rsrc).ok_or(Bail::Here)?;
    let Some(from) = st.arrays.get(src as usize) else {
        return Err(Bail::Here);
    };
    let copy = LaneArray {
        len: from.len,
        width: from.width,
        data: from.data.clone(),
        same: from.same.clone(),
    };
    let id = st.arrays.len() as u32;
    st.arrays.push(copy);
    for lane in bits(w.mask) {
        st.r[ra][lane] = RVal::Arr(id);
    }
    st.ru[ra] = w.full;
    Ok(())
}

/// `ArrLen` over the lanes of group `w`: each lane's array's length into `a`.
#[inline(always)]
pub(super) fn lanes_arr_len(st: &mut Lanes, ins: Instr, w: W, rb: usize, a: usize) -> Ran<()> {
    let rsrc = rb + ins.b as usize;
    if let Some(id) = one_array(st, w, rsrc) {
        let len = st.arrays.get(id as usize).ok_or(Bail::Here)?.len;
        fill(&mut st.s, &mut st.u, w, a, len);
        return Ok(());
    }
    let mut out = [0u64; LANES];
    for lane in bits(w.mask) {
        let RVal::Arr(id) = st.r[rsrc][lane] else {
            return Err(Bail::Here);
        };
        out[lane] = st.arrays.get(id as usize).ok_or(Bail::Here)?.len;
    }
    put(&mut st.s[a], &out, w.mask);
    st.u[a] = false;
    Ok(())
}

/// `ArrGet`/`ArrGet2` over the lanes of group `w`: each lane's element at index `c`
/// into `a`; at once when every lane reads the same array at the same index (a
/// kernel's table), and as one value the same in every lane when that element is.
#[inline(always)]
pub(super) fn lanes_arr_get(
    st: &mut Lanes,
    ins: Instr,
    w: W,
    rb: usize,
    a: usize,
    c: usize,
) -> Ran<()> {
    let wide = ins.op == Op::ArrGet2;
    let rsrc = rb + ins.b as usize;
    let mask = w.mask;
    if let (Some(id), Some(idx)) = (one_array(st, w, rsrc), one_index(st, w, c)) {
        let arr = st.arrays.get(id as usize).ok_or(Bail::Here)?;
        if idx >= arr.len || arr.width != 1 + wide as u64 {
            return Err(Bail::Here);
        }
        let at = (idx * arr.width) as usize * LANES;
        if arr.same[idx as usize] {
            let lo = arr.data[at];
            let hi = if wide { arr.data[at + LANES] } else { 0 };
            fill(&mut st.s, &mut st.u, w, a, lo);
            if wide {
                fill(&mut st.s, &mut st.u, w, a + 1, hi);
            }
            return Ok(());
        }
        let mut lo = [0u64; LANES];
        let mut hi = [0u64; LANES];
        let width = arr.width as usize * LANES;
        let data = arr.data.get(at..at + width).ok_or(Bail::Here)?;
        for (dst, src) in [&mut lo, &mut hi].into_iter().zip(data.chunks_exact(LANES)) {
            dst.copy_from_slice(src);
        }
        put(&mut st.s[a], &lo, w.wmask);
        st.u[a] = false;
        if wide {
            put(&mut st.s[a + 1], &hi, w.wmask);
            st.u[a + 1] = false;
        }
        return Ok(());
    }
    let mut lo = [0u64; LANES];
    let mut hi = [0u64; LANES];
    for lane in bits(mask) {
        let RVal::Arr(id) = st.r[rsrc][lane] else {
            return Err(Bail::Here);
        };
        let arr = st.arrays.get(id as usize).ok_or(Bail::Here)?;
        let idx = st.s[c][lane];
        if idx >= arr.len || arr.width != 1 + wide as u64 {
            return Err(Bail::Here);
        }
        let at = (idx * arr.width) as usize * LANES + lane;
        lo[lane] = arr.data[at];
        if wide {
            hi[lane] = arr.data[at + LANES];
        }
    }
    put(&mut st.s[a], &lo, mask);
    st.u[a] = false;
    if wide {
        put(&mut st.s[a + 1], &hi, mask);
        st.u[a + 1] = false;
    }
    Ok(())
}

/// `ArrSet`/`ArrSet2` over the lanes of group `w`: each lane's value from `c` into its
/// array's element at index `b`. A group of every lane writing one array at one index
/// writes the element's lanes whole, and keeps it known the same in every lane when
/// the value is.
#[inline(always)]
pub(super) fn lanes_arr_set(
    st: &mut Lanes,
    ins: Instr,
    w: W,
    rb: usize,
    b: usize,
    c: usize,
) -> Ran<()> {
    let wide = ins.op == Op::ArrSet2;
    let rdst = rb + ins.a as usize;
    if let (Some(id), Some(idx)) = (one_array(st, w, rdst), one_index(st, w, b)) {
        let same = w.full && st.u[c] && (!wide || st.u[c + 1]);
        let (s, arrays) = (&st.s, &mut st.arrays);
        let arr = arrays.get_mut(id as usize).ok_or(Bail::Here)?;
        if idx >= arr.len || arr.width != 1 + wide as u64 {
            return Err(Bail::Here);
        }
        let at = (idx * arr.width) as usize * LANES;
        let slots = arr.width as usize;
        let data = arr.data.get_mut(at..at + slots * LANES).ok_or(Bail::Here)?;
        for (slot, dst) in data.chunks_exact_mut(LANES).enumerate() {
            let dst: &mut Lane = dst.try_into().map_err(|_| Bail::Here)?;
            if same {
                *dst = [s[c + slot][w.first]; LANES];
            } else {
                put(dst, &s[c + slot], w.wmask);
            }
        }
        arr.same[idx as usize] = same;
        return Ok(());
    }
    for lane in bits(w.mask) {
        let RVal::Arr(id) = st.r[rdst][lane] else {
            return Err(Bail::Here);
        };
        let (idx, v0) = (st.s[b][lane], st.s[c][lane]);
        let v1 = if wide { st.s[c + 1][lane] } else { 0 };
        let arr = st.arrays.get_mut(id as usize).ok_or(Bail::Here)?;
        if idx >= arr.len || arr.width != 1 + wide as u64 {
            return Err(Bail::Here);
        }
        let at = (idx * arr.width) as usize * LANES + lane;
        arr.data[at] = v0;
        if wide {
            arr.data[at + LANES] = v1;
        }
        arr.same[idx as usize] = false;
    }
    Ok(())
}
