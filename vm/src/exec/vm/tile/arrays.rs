//! Lane arrays: arrays made inside a span's calls, in scratch memory (no chunk), each
//! element's slots over the lanes.

use super::lanes::*;
use super::*;
use crate::chunk::array_chunk_count;

impl Vm {
    /// `NewArr` over the lanes of `mask`: a fresh lane array of the shape `ins.k` says,
    /// refused (a bail) where a per-pixel run's chunks would not fit the quota.
    #[inline(always)]
    pub(super) fn lanes_new_arr(
        &mut self,
        st: &mut Lanes,
        ins: Instr,
        mask: u64,
        rb: usize,
    ) -> Ran<()> {
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
        });
        let ra = rb + ins.a as usize;
        for lane in bits(mask) {
            st.r[ra][lane] = RVal::Arr(id);
        }
        Ok(())
    }
}

/// `ArrCopy` over the lanes of `mask`: a copy of the one lane array every lane holds.
#[inline(always)]
pub(super) fn lanes_arr_copy(st: &mut Lanes, ins: Instr, mask: u64, rb: usize) -> Ran<()> {
    let (ra, rsrc) = (rb + ins.a as usize, rb + ins.b as usize);
    let first = st.r[rsrc][mask.trailing_zeros() as usize];
    let RVal::Arr(src) = first else {
        return Err(Bail::Here);
    };
    if bits(mask).any(|lane| st.r[rsrc][lane] != first) {
        return Err(Bail::Here);
    }
    let Some(from) = st.arrays.get(src as usize) else {
        return Err(Bail::Here);
    };
    let copy = LaneArray {
        len: from.len,
        width: from.width,
        data: from.data.clone(),
    };
    let id = st.arrays.len() as u32;
    st.arrays.push(copy);
    for lane in bits(mask) {
        st.r[ra][lane] = RVal::Arr(id);
    }
    Ok(())
}

/// `ArrLen` over the lanes of `mask`: each lane's array's length into `a`.
#[inline(always)]
pub(super) fn lanes_arr_len(st: &mut Lanes, ins: Instr, mask: u64, rb: usize, a: usize) -> Ran<()> {
    let rsrc = rb + ins.b as usize;
    let mut out = [0u64; LANES];
    for lane in bits(mask) {
        let RVal::Arr(id) = st.r[rsrc][lane] else {
            return Err(Bail::Here);
        };
        out[lane] = st.arrays.get(id as usize).ok_or(Bail::Here)?.len;
    }
    put(&mut st.s[a], &out, mask);
    Ok(())
}

/// `ArrGet`/`ArrGet2` over the lanes of `mask`: each lane's element at index `c` into
/// `a` (at once when every lane reads the same array at the same index).
#[inline(always)]
pub(super) fn lanes_arr_get(
    st: &mut Lanes,
    ins: Instr,
    mask: u64,
    rb: usize,
    a: usize,
    c: usize,
) -> Ran<()> {
    let wide = ins.op == Op::ArrGet2;
    let rsrc = rb + ins.b as usize;
    let mut lo = [0u64; LANES];
    let mut hi = [0u64; LANES];
    let first = mask.trailing_zeros() as usize;
    let head = st.r[rsrc][first];
    let same = bits(mask).all(|lane| st.r[rsrc][lane] == head);
    if let (RVal::Arr(id), true, true) = (head, same, uniform(&st.s[c], mask)) {
        // One array and one index in every lane (a kernel's table): the
        // element's lanes at once.
        let arr = st.arrays.get(id as usize).ok_or(Bail::Here)?;
        let idx = st.s[c][first];
        if idx >= arr.len || arr.width != 1 + wide as u64 {
            return Err(Bail::Here);
        }
        let at = (idx * arr.width) as usize * LANES;
        let width = arr.width as usize * LANES;
        let data = arr.data.get(at..at + width).ok_or(Bail::Here)?;
        for (dst, src) in [&mut lo, &mut hi].into_iter().zip(data.chunks_exact(LANES)) {
            dst.copy_from_slice(src);
        }
        put(&mut st.s[a], &lo, mask);
        if wide {
            put(&mut st.s[a + 1], &hi, mask);
        }
        return Ok(());
    }
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
    if wide {
        put(&mut st.s[a + 1], &hi, mask);
    }
    Ok(())
}

/// `ArrSet`/`ArrSet2` over the lanes of `mask`: each lane's value from `c` into its
/// array's element at index `b`.
#[inline(always)]
pub(super) fn lanes_arr_set(
    st: &mut Lanes,
    ins: Instr,
    mask: u64,
    rb: usize,
    b: usize,
    c: usize,
) -> Ran<()> {
    let wide = ins.op == Op::ArrSet2;
    let rdst = rb + ins.a as usize;
    for lane in bits(mask) {
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
    }
    Ok(())
}
