//! Signed division by a constant without a division instruction (cranelift 0.121 leaves
//! `sdiv`/`srem` by a constant as the machine's division, some 20 to 90 cycles on x86-64).
//!
//! The method is the one of Hacker's Delight (Warren, 2nd ed., §10-1 to §10-5): a
//! quotient truncated toward zero is the high half of a product with a "magic" number,
//! corrected and shifted; a power of two is a biased shift. [`Divisor::quotient`] is the
//! plain-Rust twin of the machine code `compile` emits, step for step, so that the unit
//! tests below hold the emitted sequence equal to `i64::wrapping_div` (the interpreter's).
//! The remainder is `n - q * d` (wrapping), as the interpreter's `wrapping_rem`.

/// How a constant divisor `d` is divided by, when it need not be a division.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Divisor {
    /// `|d| == 2^shift` (1 <= shift <= 62): `(n + bias) >> shift`, the bias
    /// `2^shift - 1` for a negative `n`; negated when `d < 0`.
    Pow2 { shift: u32, negative: bool },
    /// `q = mulhs(magic, n)`, plus `n` when `d > 0` and `magic < 0`, minus `n` when `d < 0`
    /// and `magic > 0`; then `q >> shift` (arithmetic), plus 1 when that is negative.
    Magic { magic: i64, shift: u32, d: i64 },
}

impl Divisor {
    /// The way to divide by `d`; `None` for `0`, `1`, `-1` and `i64::MIN` (which the
    /// caller handles otherwise).
    pub(crate) fn new(d: i64) -> Option<Divisor> {
        if matches!(d, 0 | 1 | -1 | i64::MIN) {
            return None;
        }
        let ad = d.unsigned_abs();
        if ad.is_power_of_two() {
            return Some(Divisor::Pow2 {
                shift: ad.trailing_zeros(),
                negative: d < 0,
            });
        }
        // Hacker's Delight, figure 10-1, for 64 bits.
        const TWO63: u64 = 1 << 63;
        let t = TWO63 + ((d as u64) >> 63);
        let anc = t - 1 - t % ad;
        let mut p = 63u32;
        let mut q1 = TWO63 / anc;
        let mut r1 = TWO63 - q1 * anc;
        let mut q2 = TWO63 / ad;
        let mut r2 = TWO63 - q2 * ad;
        loop {
            p += 1;
            q1 = q1.wrapping_mul(2);
            r1 = r1.wrapping_mul(2);
            if r1 >= anc {
                q1 = q1.wrapping_add(1);
                r1 = r1.wrapping_sub(anc);
            }
            q2 = q2.wrapping_mul(2);
            r2 = r2.wrapping_mul(2);
            if r2 >= ad {
                q2 = q2.wrapping_add(1);
                r2 = r2.wrapping_sub(ad);
            }
            let delta = ad - r2;
            if !(q1 < delta || (q1 == delta && r1 == 0)) {
                break;
            }
        }
        let magic = q2.wrapping_add(1) as i64;
        Some(Divisor::Magic {
            magic: if d < 0 { magic.wrapping_neg() } else { magic },
            shift: p - 64,
            d,
        })
    }

    /// `n / d` truncated toward zero, by the same steps as the machine code.
    #[cfg(test)]
    pub(crate) fn quotient(self, n: i64) -> i64 {
        match self {
            Divisor::Pow2 { shift, negative } => {
                let bias = ((n >> 63) as u64 >> (64 - shift)) as i64;
                let q = n.wrapping_add(bias) >> shift;
                if negative {
                    q.wrapping_neg()
                } else {
                    q
                }
            }
            Divisor::Magic { magic, shift, d } => {
                let mut q = ((magic as i128 * n as i128) >> 64) as i64;
                if d > 0 && magic < 0 {
                    q = q.wrapping_add(n);
                } else if d < 0 && magic > 0 {
                    q = q.wrapping_sub(n);
                }
                q >>= shift;
                q.wrapping_add(((q as u64) >> 63) as i64)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Edge values of n, and a few thousand pseudo-random ones.
    fn numerators() -> Vec<i64> {
        let mut ns = vec![0, 1, -1, 2, -2, 6, 7, 8, -7, -8, i64::MAX, i64::MIN];
        ns.extend([i64::MAX - 1, i64::MIN + 1, 1 << 62, -(1 << 62)]);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..4000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ns.push(x as i64);
            ns.push((x >> (x % 63)) as i64);
        }
        ns
    }

    #[test]
    fn quotients_equal_wrapping_div_over_edge_and_random_values() {
        let mut ds: Vec<i64> = vec![2, 3, 5, 6, 7, 9, 10, 11, 12, 25, 100, 641, 1000];
        ds.extend([
            1 << 32,
            (1 << 32) + 1,
            1 << 62,
            i64::MAX,
            i64::MAX - 1,
            0x5555_5555_5555_5555,
        ]);
        ds.extend([i64::MIN + 1, i64::MIN + 2, -(1 << 62), 3 << 61]);
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..300 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ds.push((x >> (x % 64)) as i64);
        }
        let negated: Vec<i64> = ds.iter().map(|d| d.wrapping_neg()).collect();
        ds.extend(negated);
        let ns = numerators();
        let mut checked = 0;
        for &d in &ds {
            let Some(div) = Divisor::new(d) else {
                assert!(matches!(d, 0 | 1 | -1 | i64::MIN), "{d} has a way");
                continue;
            };
            for &n in &ns {
                assert_eq!(div.quotient(n), n.wrapping_div(d), "{n} / {d} by {div:?}");
                checked += 1;
            }
        }
        assert!(checked > 1_000_000, "only {checked} quotients checked");
        assert_eq!(
            Divisor::new(7),
            Some(Divisor::Magic {
                magic: 0x4924_9249_2492_4925,
                shift: 1,
                d: 7
            })
        );
        assert_eq!(
            Divisor::new(-8),
            Some(Divisor::Pow2 {
                shift: 3,
                negative: true
            })
        );
    }
}
