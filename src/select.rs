//! Which benchmarks of a grid run: the one selection `--list` prints and a
//! run measures. Those the filter lets through, on devices their framework
//! can use here, in phases it can run, at sizes the model accepts; what is
//! left out is said in one line per device, phase or reason.

use crate::filter::Filter;
use crate::frameworks::adapter;
use crate::grid::{check_size, Case, Grid, Group};
use crate::identities::{Device, Framework};
use std::collections::BTreeMap;

/// The benchmarks to run, in order, and what was left out and why.
#[derive(Debug, Default)]
pub struct Selection {
    pub cases: Vec<(Group, Case)>,
    /// One line per device this machine or build lacks (no GPU, no CUDA
    /// build): the benchmarks it skips, and each framework's reason.
    pub unavailable: Vec<String>,
    /// One line per device or phase a framework never runs, or models it
    /// has none of.
    pub left_out: Vec<String>,
    /// Selected benchmarks whose model cannot take their input size, one
    /// reason each: an error for the grid's models, skipped for catalogue
    /// models a filter named.
    pub too_small: Vec<String>,
}

impl Selection {
    /// The frameworks of the selected benchmarks, in the grid's order.
    pub fn frameworks(&self, grid: &Grid) -> Vec<Framework> {
        grid.frameworks
            .iter()
            .filter(|f| self.cases.iter().any(|(_, k)| k.framework == **f))
            .copied()
            .collect()
    }
}

/// The selection of `grid` under `filter` on this machine: a device is
/// asked whether it is present (its adapter's probe).
pub fn select(grid: &Grid, filter: &Filter) -> Selection {
    select_where(grid, filter, |fw, device| {
        adapter(fw)
            .device_present(device)
            .map_err(|e| format!("{e:#}"))
    })
}

/// The selection of `grid` under `filter` on a machine that has every
/// device: the benchmarks the grid is made of, wherever it is read (what a
/// report's coverage counts).
pub fn planned(grid: &Grid, filter: &Filter) -> Selection {
    select_where(grid, filter, |_, _| Ok(()))
}

/// `grid`, or, when `filter` selects none of its benchmarks but does select
/// those of catalogue models outside it (`cargo bench --
/// densenet121/cpu`), the grid with those models instead, so any model can
/// be benchmarked by name alone.
pub fn widened(grid: &Grid, filter: &Filter) -> Grid {
    let selects = |g: &Grid| {
        let s = planned(g, filter);
        !s.cases.is_empty() || !s.too_small.is_empty()
    };
    if selects(grid) {
        return grid.clone();
    }
    let models: Vec<String> = cnn_models::MODELS
        .iter()
        .map(|m| m.to_string())
        .filter(|m| {
            selects(&Grid {
                models: vec![m.clone()],
                ..grid.clone()
            })
        })
        .collect();
    if models.is_empty() {
        return grid.clone();
    }
    Grid {
        models,
        ..grid.clone()
    }
}

/// Why `filter` is a mistake: it names no benchmark of `grid` (after
/// [`widened`]), in any state, on any machine. A typo (`resnet19`,
/// `gpu/training`) should not be a run of nothing that exits 0; the reason
/// says what ids are made of here. `None`: it names some, or no filter.
pub fn names_nothing(grid: &Grid, filter: &Filter) -> Option<String> {
    let text = filter.text()?;
    let s = planned(grid, filter);
    if !(s.cases.is_empty() && s.too_small.is_empty() && s.left_out.is_empty()) {
        return None;
    }
    let join = |v: Vec<String>| v.join(", ");
    let others: Vec<String> = cnn_models::MODELS
        .iter()
        .filter(|m| !grid.models.iter().any(|g| g == *m))
        .map(|m| m.to_string())
        .collect();
    let others = match others.is_empty() {
        true => String::new(),
        false => format!(" (or by name: {})", join(others)),
    };
    let example = planned(grid, &Filter::All)
        .cases
        .first()
        .map(|(g, k)| format!("; e.g. `{}`", g.bench_id(k)))
        .unwrap_or_default();
    Some(format!(
        "the filter `{text}` matches no benchmark; an id is model/device/phase/framework/size<S>-batch<B>, and this grid (cnn-bench.toml, CNN_BENCH_*) has models {}{others}; runs {}; frameworks {}; sizes {}; batches {}{example}",
        join(grid.models.clone()),
        join(grid.runs.iter().map(|(d, p)| format!("{d}/{p}")).collect()),
        join(grid.frameworks.iter().map(|f| f.to_string()).collect()),
        join(grid.sizes.iter().map(|s| s.to_string()).collect()),
        join(grid.batches.iter().map(|b| b.to_string()).collect()),
    ))
}

fn select_where(
    grid: &Grid,
    filter: &Filter,
    present: impl Fn(Framework, Device) -> Result<(), String>,
) -> Selection {
    let mut device_ok: BTreeMap<(String, Framework), Result<(), String>> = BTreeMap::new();
    // device -> (framework, why) in the grid's order, and how many
    // benchmarks that leaves out.
    type Absent = (Vec<(Framework, String)>, usize);
    let mut devices: BTreeMap<String, Absent> = BTreeMap::new();
    // What frameworks can never run, by device or phase: absent from those groups.
    let mut never: BTreeMap<String, Vec<Framework>> = BTreeMap::new();
    // The models a framework with models of its own lacks.
    let mut no_model: BTreeMap<Framework, Vec<String>> = BTreeMap::new();
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
            if !fw.has_model(&group.model) {
                let models = no_model.entry(fw).or_default();
                if !models.contains(&group.model) {
                    models.push(group.model.clone());
                }
                continue;
            }
            let (device, phase) = (group.device.to_string(), group.phase.to_string());
            let absent = if fw.lacks_device(group.device).is_some() {
                Some(format!(
                    "run on no {device}: absent from the {device} groups"
                ))
            } else if fw.lacks(group.phase).is_some() {
                Some(format!(
                    "can run no {phase} step: absent from the {phase} groups"
                ))
            } else {
                None
            };
            if let Some(what) = absent {
                let fws = never.entry(what).or_default();
                if !fws.contains(&fw) {
                    fws.push(fw);
                }
                continue;
            }
            let d = device_ok
                .entry((device.clone(), fw))
                .or_insert_with(|| present(fw, group.device));
            if let Err(why) = d {
                let entry = devices.entry(device).or_default();
                if !entry.0.iter().any(|(f, _)| *f == fw) {
                    entry.0.push((fw, why.clone()));
                }
                entry.1 += 1;
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
        out.unavailable.push(format!(
            "{device}: {n} benchmark(s) skipped ({})",
            reasons.join("; ")
        ));
    }
    for (fw, models) in no_model {
        out.left_out.push(format!(
            "{fw} has no model of its own for {}: absent from their groups",
            models.join(", ")
        ));
    }
    for (what, fws) in never {
        let names: Vec<&str> = fws.iter().map(|f| f.name()).collect();
        out.left_out.push(format!("{} {what}", names.join(", ")));
    }
    out.too_small = sizes;
    out
}

/// Refuses a selection with inputs larger than this machine's memory
/// ([`beyond_memory`]), naming the first and counting the rest.
pub fn fits_memory(selection: &Selection) -> anyhow::Result<()> {
    let Some(memory) = crate::memory::host_memory_bytes() else {
        return Ok(());
    };
    let beyond = beyond_memory(selection, memory);
    let Some(first) = beyond.first() else {
        return Ok(());
    };
    anyhow::bail!(
        "the selected benchmarks include inputs larger than this machine's memory ({:.1} GiB), which a run would end on: {first}{}; each framework's process makes {} input batches before its first step: choose smaller sizes or batches",
        memory as f64 / (1u64 << 30) as f64,
        match beyond.len() {
            1 => String::new(),
            n => format!(" and {} more", n - 1),
        },
        crate::inputs::DISTINCT_BATCHES
    )
}

/// The selected benchmarks whose input batches alone take more than
/// `memory` bytes (every framework's process makes them on the host before
/// its first step; a run would end there, aborted or killed), as
/// `id (N GiB)`.
pub fn beyond_memory(selection: &Selection, memory: u64) -> Vec<String> {
    let gib = |b: u128| b as f64 / (1u64 << 30) as f64;
    selection
        .cases
        .iter()
        .filter_map(|(g, k)| {
            // [batch, 3, size, size] f32 images and [batch] u32 labels.
            let (size, batch) = (k.size as u128, k.batch as u128);
            let image = size.saturating_mul(size).saturating_mul(3 * 4);
            let one = batch.saturating_mul(image.saturating_add(4));
            let bytes = one.saturating_mul(crate::inputs::DISTINCT_BATCHES as u128);
            (bytes > memory as u128).then(|| format!("{} ({:.1} GiB)", g.bench_id(k), gib(bytes)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The default grid, as cnn-bench.toml has it.
    fn default_grid() -> Grid {
        Grid::from_parts(
            include_str!("../cnn-bench.toml"),
            Path::new("cnn-bench.toml"),
            &Default::default(),
        )
        .unwrap()
    }

    fn f(filter: &str) -> Filter {
        Filter::from_args([filter.to_string()]).unwrap()
    }

    #[test]
    fn inputs_beyond_the_machines_memory_are_named_with_their_size() {
        let s = planned(&default_grid(), &f("resnet18/cpu/inference/tch/"));
        // The default grid's largest input: 3 batches of 32 at 320x320, 118 MiB.
        assert!(beyond_memory(&s, 1 << 30).is_empty());
        let beyond = beyond_memory(&s, 100 << 20);
        assert_eq!(
            beyond,
            ["resnet18/cpu/inference/tch/size320-batch32 (0.1 GiB)"],
            "{beyond:?}"
        );
        let huge = Selection {
            cases: vec![(
                s.cases[0].0.clone(),
                Case {
                    size: 1 << 40,
                    ..s.cases[0].1.clone()
                },
            )],
            ..Default::default()
        };
        assert_eq!(beyond_memory(&huge, u64::MAX).len(), 1, "no overflow");
        let huger = Selection {
            cases: vec![(
                s.cases[0].0.clone(),
                Case {
                    size: usize::MAX,
                    batch: usize::MAX,
                    ..s.cases[0].1.clone()
                },
            )],
            ..Default::default()
        };
        assert_eq!(beyond_memory(&huger, u64::MAX).len(), 1, "no overflow");
    }

    #[test]
    fn a_filter_naming_a_model_outside_the_grid_selects_it() {
        let g = default_grid();
        assert_eq!(widened(&g, &f("resnet18/cpu")).models, g.models);
        let densenet = widened(&g, &f("densenet121/cpu/inference"));
        assert_eq!(densenet.models, ["densenet121"]);
        assert_eq!(widened(&g, &f("^inception_v3/")).models, ["inception_v3"]);
        assert_eq!(widened(&g, &f("alexnet")).models, g.models);
    }

    #[test]
    fn a_filter_that_names_no_benchmark_is_a_mistake_said_with_the_ids_parts() {
        let g = default_grid();
        let why = |filter: &Filter| names_nothing(&widened(&g, filter), filter);
        // The grid's, a catalogue model's, one left out with its reason
        // (ort runs on no GPU), all or none: not mistakes.
        for named in [
            "resnet18/gpu",
            "densenet121/cpu/inference",
            "^inception_v3/",
            "resnet18/gpu/inference/ort",
        ] {
            assert_eq!(why(&f(named)), None, "{named}");
        }
        assert_eq!(why(&Filter::All), None);
        assert_eq!(why(&Filter::None), None);
        let typo = why(&f("resnet19/gpu/train")).expect("a typo is said");
        assert!(
            typo.starts_with("the filter `resnet19/gpu/train` matches no benchmark; an id is model/device/phase/framework/size<S>-batch<B>, and this grid (cnn-bench.toml, CNN_BENCH_*) has models resnet18, resnet50, resnet152, vgg16, mobilenetv2, efficientnetb4, efficientnetb7 (or by name: resnet34, resnet101, ")
                && typo.contains("; runs gpu/train, gpu/inference, cpu/inference; frameworks tch, tch-jit, candle, ")
                && typo.ends_with("; sizes 128, 224, 320; batches 1, 8, 16, 32; e.g. `resnet18/gpu/train/tch/size128-batch1`"),
            "{typo}"
        );
        let size = Filter::Exact("resnet18/cpu/inference/tch/size64-batch1".into());
        assert!(why(&size).is_some());
        assert!(why(&Filter::Exact(
            "resnet18/cpu/inference/tch/size128-batch1".into()
        ))
        .is_none());
    }

    /// Only the selected frameworks are asked their version (a run of
    /// tch's GPU groups loads no TensorFlow and starts no Python).
    #[test]
    fn a_selection_names_its_frameworks_in_the_grids_order() {
        let g = default_grid();
        let of = |s: &str| planned(&g, &f(s)).frameworks(&g);
        assert_eq!(
            of("resnet18/gpu/train/tch(-jit)?/"),
            [Framework::Tch, Framework::TchJit]
        );
        assert_eq!(
            of("resnet18/cpu/inference/(ort|tch)/"),
            [Framework::Tch, Framework::Ort]
        );
        assert!(of("resnet18/cpu/inference/nothing").is_empty());
    }

    #[test]
    #[cfg(not(any(feature = "cuda", feature = "burn-cuda")))]
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
        // CPU inference only: ten frameworks.
        assert_eq!(s.cases.len(), 10, "{:?}", s.cases);
        assert_eq!(s.unavailable.len(), 1, "{:#?}", s.unavailable);
        let gpu = &s.unavailable[0];
        assert!(
            gpu.starts_with("gpu: 13 benchmark(s) skipped (")
                && gpu.contains("tch, tch-jit, tch-vision: libtorch sees 0 CUDA device(s)")
                && gpu.contains("; candle, candle-transformers: ")
                && gpu.contains("; pytorch: PyTorch sees 0 CUDA device(s)")
                && gpu.contains("; burn: this build has no CUDA backend for burn"),
            "{gpu}"
        );
        assert_eq!(
            s.left_out,
            [
                "candle-transformers can run no train step: absent from the train groups",
                "ort, tract, tensorflow run on no gpu: absent from the gpu groups"
            ]
        );
        // The grid itself, whatever this machine has: what a report counts.
        let all = planned(&grid, &Filter::All);
        assert_eq!(
            all.cases.len(),
            6 + 7 + 10,
            "gpu train, gpu inference, cpu inference"
        );
        assert_eq!(all.left_out, s.left_out);
        assert!(all.unavailable.is_empty());
        let cpu_train = Grid {
            runs: vec![(crate::grid::Device::Cpu, crate::grid::Phase::Train)],
            ..grid
        };
        let s = select(&cpu_train, &Filter::All);
        // tch-vision and candle-transformers run only the models they have
        // a definition of.
        let vgg = Grid {
            models: vec!["vgg16".into()],
            ..cpu_train.clone()
        };
        assert_eq!(
            select(&vgg, &Filter::All).left_out[..2],
            [
                "tch-vision has no model of its own for vgg16: absent from their groups",
                "candle-transformers has no model of its own for vgg16: absent from their groups"
            ]
        );
        assert_eq!(s.cases.len(), 7);
        assert_eq!(
            s.left_out,
            ["ort, tract, candle-transformers can run no train step: absent from the train groups"]
        );
    }
}
