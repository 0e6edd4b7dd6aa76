//! The value criterion measures for every benchmark: synchronised step time
//! (the default), or, with `CNN_BENCH_MEASURE=memory`, the process's GPU
//! memory in MiB, so criterion's own baselines compare memory.
//!
//! Both travel through criterion's statistics, which add values over
//! iterations: memory is therefore reported as `iterations x MiB`, whose
//! per-iteration mean is the memory itself. The steps synchronise the device
//! before they return, so the clock is read only after the device finished.

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::Throughput;
use std::time::Instant;

pub use crate::identities::Metric;

/// criterion's [`Measurement`] for cnn-bench; values are f64 in nanoseconds
/// (time) or MiB (memory).
pub struct StepMetric(pub Metric);

impl Measurement for StepMetric {
    type Intermediate = Instant;
    type Value = f64;

    // Used only by criterion's `iter`; cnn-bench measures with `iter_custom`.
    fn start(&self) -> Instant {
        Instant::now()
    }
    fn end(&self, i: Instant) -> f64 {
        i.elapsed().as_nanos() as f64
    }
    fn add(&self, a: &f64, b: &f64) -> f64 {
        a + b
    }
    fn zero(&self) -> f64 {
        0.0
    }
    fn to_f64(&self, v: &f64) -> f64 {
        *v
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        match self.0 {
            Metric::Time => &TimeFormatter,
            Metric::Memory => &MemoryFormatter,
        }
    }
}

/// Nanoseconds shown as ns, µs, ms or s; throughput in images per second.
struct TimeFormatter;

impl ValueFormatter for TimeFormatter {
    fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match typical_ns {
            t if t < 1e3 => (1.0, "ns"),
            t if t < 1e6 => (1e-3, "µs"),
            t if t < 1e9 => (1e-6, "ms"),
            _ => (1e-9, "s"),
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let (amount, unit) = match *throughput {
            Throughput::Elements(n) => (n as f64, "images/s"),
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => (n as f64, "B/s"),
            Throughput::Bits(n) => (n as f64, "bit/s"),
            // criterion's enum grows between releases.
            #[allow(unreachable_patterns)]
            _ => (1.0, "/s"),
        };
        values.iter_mut().for_each(|v| *v = amount * 1e9 / *v);
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// MiB, unscaled; no throughput (memory per second means nothing).
struct MemoryFormatter;

impl ValueFormatter for MemoryFormatter {
    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        "MiB"
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        _throughput: &Throughput,
        _values: &mut [f64],
    ) -> &'static str {
        "MiB"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "MiB"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_is_scaled_to_a_readable_unit() {
        let m = StepMetric(Metric::Time);
        let mut v = [2.5e6, 3.0e6];
        assert_eq!(m.formatter().scale_values(2.5e6, &mut v), "ms");
        assert_eq!(v, [2.5, 3.0]);
        let mut v = [12e9];
        assert_eq!(m.formatter().scale_values(12e9, &mut v), "s");
        assert_eq!(v, [12.0]);
        let mut v = [800.0];
        assert_eq!(m.formatter().scale_values(800.0, &mut v), "ns");
        assert_eq!(m.formatter().scale_for_machines(&mut v), "ns");
    }

    #[test]
    fn throughput_is_images_per_second() {
        let m = StepMetric(Metric::Time);
        // 32 images in 0.5 s
        let mut v = [0.5e9];
        assert_eq!(
            m.formatter()
                .scale_throughputs(0.5e9, &Throughput::Elements(32), &mut v),
            "images/s"
        );
        assert_eq!(v, [64.0]);
    }

    #[test]
    fn values_add_over_iterations_and_memory_stays_in_mib() {
        let m = StepMetric(Metric::Memory);
        // three iterations at 1500 MiB: criterion divides the sum by 3
        let total = (0..3).fold(m.zero(), |acc, _| m.add(&acc, &1500.0));
        assert_eq!(m.to_f64(&total) / 3.0, 1500.0);
        let mut v = [1500.0, 1510.0];
        assert_eq!(m.formatter().scale_values(1500.0, &mut v), "MiB");
        assert_eq!(v, [1500.0, 1510.0]);
    }
}
