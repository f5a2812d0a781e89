//! A log-linear latency histogram: exact below 64 ns, then 32 buckets per power of two (at
//! most ~3 % relative error), fixed size, no allocation per sample.

const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = (2 * SUB + (64 - SUB_BITS as u64 - 1) * SUB) as usize;

/// Counts of nanosecond samples.
#[derive(Debug, Clone)]
pub(crate) struct Hist {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Hist {
    pub(crate) fn new() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < 2 * SUB {
            return v as usize;
        }
        let msb = 63 - v.leading_zeros();
        let mantissa = v >> (msb - SUB_BITS); // in [SUB, 2 * SUB)
        (2 * SUB + u64::from(msb - SUB_BITS - 1) * SUB + (mantissa - SUB)) as usize
    }

    /// The middle of bucket `i`.
    fn value(i: usize) -> u64 {
        let i = i as u64;
        if i < 2 * SUB {
            return i;
        }
        let msb = (i - 2 * SUB) / SUB + u64::from(SUB_BITS) + 1;
        let mantissa = SUB + (i - 2 * SUB) % SUB;
        let width = 1u64 << (msb - u64::from(SUB_BITS));
        mantissa * width + width / 2
    }

    pub(crate) fn record(&mut self, ns: u64) {
        self.counts[Self::index(ns)] += 1;
        self.total += 1;
        self.max = self.max.max(ns);
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    pub(crate) fn count(&self) -> u64 {
        self.total
    }

    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    /// The `q` quantile (0..=1) in nanoseconds; 0 without samples.
    pub(crate) fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::value(i).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_trip_within_three_percent() {
        for v in (0..2_000_000u64).step_by(7).chain([u64::MAX / 2, 1 << 40]) {
            let back = Hist::value(Hist::index(v));
            let err = back.abs_diff(v) as f64 / v.max(1) as f64;
            assert!(err <= 0.032, "{v} -> {back}");
        }
        assert!(Hist::index(u64::MAX) < BUCKETS);
    }

    #[test]
    fn quantiles() {
        let mut h = Hist::new();
        for v in 1..=1000 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5) as f64;
        assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.04, "{p50}");
        assert_eq!(h.quantile(1.0), 1_000_000);
    }
}
