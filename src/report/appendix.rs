//! The report's sections after its tables: the benchmarks measured as
//! estimates, and what a benchmark costs besides its measurement.

use super::document::{Cell, Section, Table};
use super::{format_ns, Row};
use crate::contention::MARK;
use crate::record::Stages;
use std::collections::BTreeMap;

/// The benchmarks measured as estimates, with their steps.
pub(super) fn estimates(rows: &[Row]) -> Option<Section> {
    let items: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            let e = r.estimate()?;
            let f = |v: f64| {
                if r.record.metric == crate::identities::Metric::Time {
                    format_ns(v)
                } else {
                    format!("{v:.0} MiB")
                }
            };
            Some(format!(
                "`{}`: ~{} from {} steps ({} to {})",
                r.record.id,
                f(e.mean),
                e.steps,
                f(e.min),
                f(e.max)
            ))
        })
        .collect();
    (!items.is_empty()).then(|| Section {
        title: "Estimates".into(),
        text: vec!["`~` marks an estimate: criterion's 10 samples did not fit the benchmark's time budget, so the mean is of the steps that did (at least 2 after the warm-up), without a confidence interval.".into()],
        items,
        ..Section::default()
    })
}

/// The benchmarks measured while other processes kept the machine busy,
/// with what was seen.
pub(super) fn beside_other_work(rows: &[Row]) -> Option<Section> {
    let items: Vec<String> = rows
        .iter()
        .filter(|r| r.beside_other_work())
        .filter_map(|r| {
            let w = r.record.other_work.as_ref()?;
            Some(format!("`{}`: {}", r.record.id, w.said()))
        })
        .collect();
    (!items.is_empty()).then(|| Section {
        title: "Measured beside other work".into(),
        text: vec![format!(
            "`{MARK}` marks a figure measured while processes outside the run kept more than a quarter of a CPU busy (a twentieth of the machine's CPUs, where that is more; a hypervisor's steal counts), or ran on its GPU: the benchmark shared the machine, so its time may be slower than the machine's. The harness reads /proc and NVML when the measurement begins and ends; measure these again on a quiet machine (`cargo bench -- --retry-busy` measures every one so marked again)."
        )],
        items,
        ..Section::default()
    })
}

/// What a benchmark costs besides its measurement (process start, weights,
/// model building, tracing or export, first steps, memory readings, the
/// peak), per device, phase and framework (a train step's preparation
/// costs more: on a GPU, autotuning the backward pass too): where a grid's
/// time goes.
pub(super) fn run_time(rows: &[Row]) -> Option<Section> {
    type Times = (f64, f64, Option<Stages>);
    let mut by: BTreeMap<(String, String, String), Vec<Times>> = BTreeMap::new();
    for r in rows {
        if let (Some(w), Some(m)) = (r.record.wall_seconds, r.record.measure_seconds) {
            let device = if r.record.group.device.is_gpu() {
                "gpu"
            } else {
                "cpu"
            };
            let (phase, fw) = (r.record.group.phase, r.record.case.framework);
            by.entry((device.to_string(), phase.to_string(), fw.to_string()))
                .or_default()
                .push((w, m, r.record.stages));
        }
    }
    if by.is_empty() {
        return None;
    }
    let mut table = Table {
        columns: [
            "device",
            "phase",
            "framework",
            "benchmarks",
            "whole (s)",
            "measuring (s)",
            "overhead (s)",
            "starting (s)",
            "preparing (s)",
            "finishing (s)",
            "total (s)",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: vec![],
    };
    for ((device, phase, fw), v) in by {
        let n = v.len() as f64;
        let wall: f64 = v.iter().map(|x| x.0).sum();
        let measuring: f64 = v.iter().map(|x| x.1).sum();
        // A stage's mean over the benchmarks that recorded it.
        let stage = |pick: fn(&Stages) -> Option<f64>| {
            let s: Vec<f64> = v
                .iter()
                .filter_map(|x| x.2.as_ref().and_then(pick))
                .collect();
            match s.len() {
                0 => Cell::number("-"),
                n => Cell::number(format!("{:.1}", s.iter().sum::<f64>() / n as f64)),
            }
        };
        table.rows.push(vec![
            Cell::label(device),
            Cell::label(phase),
            Cell::label(fw),
            Cell::number(v.len()),
            Cell::number(format!("{:.1}", wall / n)),
            Cell::number(format!("{:.1}", measuring / n)),
            Cell::number(format!("{:.1}", (wall - measuring) / n)),
            stage(|s| s.starting),
            stage(|s| s.preparing),
            stage(|s| s.finishing),
            Cell::number(format!("{wall:.0}")),
        ]);
    }
    Some(Section {
        title: "Time per benchmark".into(),
        text: vec!["Mean seconds per benchmark, whole (preparation included; for one in a process of its own, the process's life) and measuring; the difference is the overhead, and where it went: starting (the benchmark's process, until it began preparing), preparing (the step built, a warm-up step and a timed one; on a GPU, CUDA's and the libraries' start and autotuning too) and finishing (memory, the step freed, the matrix-product peak, the record); `-` where the records do not say (older than the stages).".into()],
        table: Some(table),
        ..Section::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identities::Framework;
    use crate::report::test_row;

    /// The overhead is split by stage where the records say it, as the mean
    /// over those that do; `-` for a framework whose records do not.
    #[test]
    fn the_time_per_benchmark_splits_the_overhead_by_stage() {
        let timed = |framework, batch, stages: Option<Stages>| {
            let mut r = test_row(framework, batch, 1e6, "code");
            (r.record.wall_seconds, r.record.measure_seconds) = (Some(6.0), Some(1.0));
            r.record.stages = stages;
            r
        };
        let stages = |preparing| Stages {
            starting: Some(0.5),
            preparing: Some(preparing),
            measuring: Some(1.0),
            finishing: Some(0.3),
        };
        let rows = [
            timed(Framework::Tch, 1, Some(stages(4.0))),
            timed(Framework::Tch, 8, Some(stages(5.0))),
            timed(Framework::Tch, 16, None),
            timed(Framework::Candle, 1, None),
        ];
        let table = run_time(&rows).unwrap().table.unwrap();
        let said: Vec<Vec<String>> = table
            .rows
            .iter()
            .map(|r| r.iter().map(|c| c.markdown()).collect())
            .collect();
        let (cols, candle, tch) = (&table.columns, &said[0], &said[1]);
        assert_eq!(
            cols[7..10],
            ["starting (s)", "preparing (s)", "finishing (s)"]
        );
        assert_eq!(
            tch[1..10],
            ["train", "tch", "3", "6.0", "1.0", "5.0", "0.5", "4.5", "0.3"]
        );
        assert_eq!(candle[7..10], ["-", "-", "-"]);
    }
}
