//! Criterion's settings for one benchmark, derived from a first timed step so
//! that a ten-second step does not take criterion's default 100 samples.

use criterion::SamplingMode;
use std::time::Duration;

/// Criterion's minimum number of samples.
pub const MIN_SAMPLES: usize = 10;
/// Criterion's default, and our maximum, number of samples.
pub const MAX_SAMPLES: usize = 100;

/// How criterion measures one benchmark.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    pub sample_size: usize,
    /// Flat sampling (each sample the same number of steps) instead of linear.
    pub flat: bool,
    pub warm_up: Duration,
    pub measurement: Duration,
}

impl Plan {
    /// Criterion's sampling mode for this plan.
    pub fn sampling(&self) -> SamplingMode {
        if self.flat {
            SamplingMode::Flat
        } else {
            SamplingMode::Linear
        }
    }
}

/// The plan for a step that took `step` once (after a warm-up step) when the
/// benchmark should take about `target`.
///
/// Linear sampling (criterion's default, which also fits a slope) needs
/// `n(n+1)/2` steps for `n` samples; it is used when 100 samples fit in the
/// target. Otherwise every sample is a fixed number of steps (flat
/// sampling), with as many samples as fit, at least 10: a slow step then
/// takes about 10 steps of measurement instead of 5050.
pub fn plan(step: Duration, target: Duration) -> Plan {
    let step_s = step.as_secs_f64().max(1e-9);
    let target_s = target.as_secs_f64();
    let linear_steps = (MAX_SAMPLES * (MAX_SAMPLES + 1) / 2) as f64;
    // Warm-up: a few steps, but at most a fifth of the target; the first
    // timed step already warmed caches and autotuners up.
    let warm_up = Duration::from_secs_f64((3.0 * step_s).min(target_s / 5.0).max(0.05));
    if step_s * linear_steps <= target_s {
        return Plan {
            sample_size: MAX_SAMPLES,
            flat: false,
            warm_up,
            measurement: target,
        };
    }
    let samples = ((target_s / step_s) as usize).clamp(MIN_SAMPLES, MAX_SAMPLES);
    let steps_per_sample = ((target_s / (samples as f64 * step_s)) as usize).max(1);
    Plan {
        sample_size: samples,
        flat: true,
        warm_up,
        // Criterion runs ceil(measurement / (samples * its own step
        // estimate)) steps per sample. Its estimate (from warm-up) is often
        // faster than our first timed step, so aim below the exact figure:
        // half for one step per sample (one step stays one step unless the
        // step runs twice as fast), 10% when several steps make a sample.
        // (With one step per sample criterion warns that it "cannot
        // complete" the samples in time: expected, see docs/methodology.md.)
        measurement: Duration::from_secs_f64(
            if steps_per_sample == 1 { 0.5 } else { 0.9 }
                * (samples * steps_per_sample) as f64
                * step_s,
        ),
    }
}

/// When criterion's minimum of [`MIN_SAMPLES`] steps of `step` seconds does
/// not fit `budget` seconds: how many steps to time instead, as many as fit
/// and at least 2 after the warm-up. `None`: criterion measures.
pub fn estimate_steps(step: f64, budget: f64) -> Option<usize> {
    (step * MIN_SAMPLES as f64 > budget).then(|| ((budget / step) as usize).max(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    #[test]
    fn fast_steps_keep_criterions_linear_default() {
        let p = plan(s(0.0005), s(5.0));
        assert_eq!((p.sample_size, p.flat), (100, false));
        assert_eq!(p.measurement, s(5.0));
    }

    #[test]
    fn a_ten_second_step_takes_ten_flat_samples() {
        let p = plan(s(10.0), s(5.0));
        assert_eq!((p.sample_size, p.flat), (10, true));
        assert!(
            p.measurement >= s(49.0) && p.measurement <= s(51.0),
            "{:?}",
            p.measurement
        );
        assert!(p.warm_up <= s(1.0), "{:?}", p.warm_up);
    }

    #[test]
    fn quick_steps_fill_100_samples_with_several_steps_each() {
        let p = plan(s(0.002), s(5.0));
        assert_eq!((p.sample_size, p.flat), (100, true));
        assert!(
            p.measurement >= s(4.4) && p.measurement <= s(5.0),
            "{:?}",
            p.measurement
        );
    }

    #[test]
    fn medium_steps_take_as_many_flat_samples_as_fit() {
        let p = plan(s(0.1), s(5.0));
        assert_eq!((p.sample_size, p.flat), (50, true));
        assert!(
            p.measurement >= s(2.4) && p.measurement < s(2.6),
            "{:?}",
            p.measurement
        );
    }
}
