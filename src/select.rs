//! Which benchmarks of a grid run: the one selection `--list` prints and a
//! run measures. Those the filter lets through, on devices their framework
//! can use here, in phases it can run, at sizes the model accepts; what is
//! left out is said in one line per device, phase or reason.

use crate::filter::Filter;
use crate::frameworks::adapter;
use crate::grid::{check_size, Case, Grid, Group};
use crate::identities::Framework;
use std::collections::BTreeMap;

/// The benchmarks to run, in order, and what was left out and why.
#[derive(Debug, Default)]
pub struct Selection {
    pub cases: Vec<(Group, Case)>,
    /// One line per absent device or absent phase.
    pub left_out: Vec<String>,
    /// Selected benchmarks whose model cannot take their input size, one
    /// reason each: an error for the grid's models, skipped for catalogue
    /// models a filter named.
    pub too_small: Vec<String>,
}

/// The selection of `grid` under `filter`.
pub fn select(grid: &Grid, filter: &Filter) -> Selection {
    let mut device_ok: BTreeMap<(String, Framework), Result<(), String>> = BTreeMap::new();
    // device -> (framework, why) in the grid's order, and how many
    // benchmarks that leaves out.
    type Absent = (Vec<(Framework, String)>, usize);
    let mut devices: BTreeMap<String, Absent> = BTreeMap::new();
    let mut phases: BTreeMap<String, Vec<Framework>> = BTreeMap::new();
    let mut sizes: Vec<String> = Vec::new();
    let mut out = Selection::default();
    for group in grid.groups() {
        for case in grid.cases() {
            if !filter.matches(&group.bench_id(&case)) {
                continue;
            }
            // Only a grid widened to catalogue models can hold such a case.
            if let Err(why) = check_size(&group.model, case.size, group.phase) {
                let why = format!("{why:#}");
                if !sizes.contains(&why) {
                    sizes.push(why);
                }
                continue;
            }
            let fw = case.framework;
            let (device, phase) = (group.device.to_string(), group.phase.to_string());
            let d = device_ok.entry((device.clone(), fw)).or_insert_with(|| {
                adapter(fw)
                    .check_device(group.device)
                    .map_err(|e| format!("{e:#}"))
            });
            if let Err(why) = d {
                let entry = devices.entry(device).or_default();
                if !entry.0.iter().any(|(f, _)| *f == fw) {
                    entry.0.push((fw, why.clone()));
                }
                entry.1 += 1;
                continue;
            }
            // A framework that cannot run a phase is absent from its groups.
            if fw.lacks(group.phase).is_some() {
                let fws = phases.entry(phase).or_default();
                if !fws.contains(&fw) {
                    fws.push(fw);
                }
                continue;
            }
            out.cases.push((group.clone(), case));
        }
    }
    for (device, (why, n)) in devices {
        // Frameworks with the same reason share it.
        let mut by_reason: Vec<(String, Vec<String>)> = Vec::new();
        for (fw, w) in why {
            match by_reason.iter_mut().find(|(r, _)| *r == w) {
                Some((_, fws)) => fws.push(fw.to_string()),
                None => by_reason.push((w, vec![fw.to_string()])),
            }
        }
        let reasons: Vec<String> = by_reason
            .iter()
            .map(|(w, fws)| format!("{}: {w}", fws.join(", ")))
            .collect();
        out.left_out.push(format!(
            "{device} is unavailable, its {n} benchmark(s) are skipped ({})",
            reasons.join("; ")
        ));
    }
    for (phase, fws) in phases {
        out.left_out.push(format!(
            "{} can run no {phase} step: absent from the {phase} groups",
            fws.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
        ));
    }
    out.too_small = sizes;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    #[cfg(not(feature = "cuda"))]
    fn what_cannot_run_here_is_said_in_one_line_per_device_and_phase() {
        let vars = [
            ("CNN_BENCH_MODELS", "resnet18"),
            ("CNN_BENCH_SIZES", "128"),
            ("CNN_BENCH_BATCHES", "1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let grid = Grid::from_parts(
            include_str!("../cnn-bench.toml"),
            Path::new("cnn-bench.toml"),
            &vars,
        )
        .unwrap();
        let s = select(&grid, &Filter::All);
        // CPU inference only: five frameworks.
        assert_eq!(s.cases.len(), 5, "{:?}", s.cases);
        assert_eq!(s.left_out.len(), 1, "{:#?}", s.left_out);
        let gpu = &s.left_out[0];
        assert!(
            gpu.starts_with("gpu is unavailable, its 10 benchmark(s) are skipped (")
                && gpu.contains("tch, tch-jit: libtorch sees 0 CUDA device(s)")
                && gpu.contains("; candle: ")
                && gpu.contains("; ort: ")
                && gpu.contains("; tract: "),
            "{gpu}"
        );
        let cpu_train = Grid {
            runs: vec![(crate::grid::Device::Cpu, crate::grid::Phase::Train)],
            ..grid
        };
        let s = select(&cpu_train, &Filter::All);
        assert_eq!(s.cases.len(), 3);
        assert_eq!(
            s.left_out,
            ["ort, tract can run no train step: absent from the train groups"]
        );
    }
}
