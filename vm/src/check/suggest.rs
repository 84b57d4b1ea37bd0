//! "Did you mean" suggestions: the closest known name by edit distance.

/// The optimal-string-alignment distance between `a` and `b` (insertions,
/// deletions, substitutions and swaps of two neighbours each cost 1).
pub(super) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut table = vec![0usize; (a.len() + 1) * width];
    for (i, cell) in table.iter_mut().step_by(width).enumerate() {
        *cell = i;
    }
    for (j, cell) in table.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (table[(i - 1) * width + j] + 1)
                .min(table[i * width + j - 1] + 1)
                .min(table[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(table[(i - 2) * width + j - 2] + 1);
            }
            table[i * width + j] = best;
        }
    }
    table[a.len() * width + b.len()]
}

/// The candidate closest to `name`, if one is within 2 edits, and within
/// one edit per three letters of `name` (so that short names do not match
/// everything: `bad` is not a typo of `max`). Ties go to the earliest candidate.
pub(super) fn best<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let letters = name.chars().count();
    let limit = (letters / 3).clamp(1, 2).min(letters.saturating_sub(1)) + 1;
    let mut found: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == name || candidate.is_empty() {
            continue;
        }
        // Cheap filter before the quadratic distance.
        if candidate.len().abs_diff(name.len()) > 2 {
            continue;
        }
        let dist = distance(name, candidate);
        if dist < limit && found.is_none_or(|(best, _)| dist < best) {
            found = Some((dist, candidate));
        }
    }
    found.map(|(_, candidate)| candidate)
}

/// `did you mean `x`?` for the closest candidate, if any.
pub(super) fn did_you_mean<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<String> {
    best(name, candidates).map(|found| format!("did you mean `{found}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("flaot", "float"), 1);
        assert_eq!(distance("colr", "color"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(best("lenght", ["len", "length", "left"]), Some("length"));
        assert_eq!(best("x", ["y", "z"]), None);
        assert_eq!(best("xy", ["x"]), Some("x"));
        assert_eq!(best("bad", ["max", "abs"]), None);
        assert_eq!(best("sqr", ["sqrt"]), Some("sqrt"));
        assert_eq!(best("strenght", ["strength"]), Some("strength"));
        assert_eq!(best("colur", ["color"]), Some("color"));
        assert_eq!(best("abcdef", ["uvwxyz"]), None);
    }
}
