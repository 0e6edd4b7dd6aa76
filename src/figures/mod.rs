//! The study's figures as SVG (plotters): per device and phase, each
//! framework's step time relative to the fastest (1.0 = fastest); and GPU
//! memory, one figure per phase. A figure is a grid of small panels, one
//! per model, each with a line per framework over the model's input sizes
//! and batches, so that a whole grid (7 models x 12 configurations x 7
//! frameworks) stays one screen or two high with its axes in view.

mod draw;

use crate::identities::{Framework, Phase, Status};
use crate::report::{frameworks_of, timed, Row, SECTIONS};
use anyhow::Result;
use draw::draw;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A measured point: its value, whether it is an estimate (drawn hollow)
/// and whether it was measured with older step code than this build's
/// (drawn faded; `†` in report.md: a resumed run measures it again).
/// `None` in a panel: the benchmark failed (drawn as a cross).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Point {
    value: f64,
    estimate: bool,
    older: bool,
}

/// A configuration: input size, batch.
type Configuration = (usize, usize);

/// One model's panel: its configurations in order (size, then batch), and
/// each framework's point at those it ran.
#[derive(Debug, Default)]
struct Panel {
    model: String,
    configurations: Vec<Configuration>,
    points: BTreeMap<(Framework, Configuration), Option<Point>>,
}

impl Panel {
    /// `framework`'s lines: its measured points (configuration's index,
    /// value) in runs of one input size, broken where a point is missing
    /// or failed; runs of one point are left to their mark.
    fn lines(&self, framework: Framework) -> Vec<Vec<(usize, f64)>> {
        let mut runs: Vec<Vec<(usize, f64)>> = Vec::new();
        let mut run: Vec<(usize, f64)> = Vec::new();
        for (k, c) in self.configurations.iter().enumerate() {
            match self.points.get(&(framework, *c)) {
                Some(Some(v)) => {
                    if run
                        .last()
                        .is_some_and(|&(j, _)| self.configurations[j].0 != c.0)
                    {
                        runs.push(std::mem::take(&mut run));
                    }
                    run.push((k, v.value));
                }
                _ => runs.push(std::mem::take(&mut run)),
            }
        }
        runs.push(run);
        runs.retain(|r| r.len() > 1);
        runs
    }
}

/// One figure: a panel per model.
struct Figure {
    title: String,
    y_label: String,
    frameworks: Vec<Framework>,
    panels: Vec<Panel>,
    /// Ratios to the fastest (at least 1): a panel's axis starts near 1,
    /// and is logarithmic where they span more than 10x (one framework 40x
    /// slower would flatten the others on a linear one). Otherwise (MiB)
    /// it starts at 0.
    ratios: bool,
}

/// Writes every figure the rows allow into `dir`; returns the files.
pub fn write_all(rows: &[Row], dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for (device, phase, _) in SECTIONS {
        let mine = timed(rows, device, phase);
        if mine.is_empty() {
            continue;
        }
        let figure = relative_times(
            &mine,
            &format!("{phase} step time relative to the fastest framework, {device}"),
        );
        let path = dir.join(format!("relative-time-{device}-{phase}.svg"));
        draw(&figure, &path)?;
        files.push(path);
    }
    for phase in [Phase::Train, Phase::Inference] {
        let gpu: Vec<&Row> = rows
            .iter()
            .filter(|r| r.record.group.device.is_gpu() && r.record.group.phase == phase)
            .collect();
        if !gpu.is_empty() {
            let path = dir.join(format!("gpu-memory-{phase}.svg"));
            draw(&memory(&gpu, phase), &path)?;
            files.push(path);
        }
    }
    Ok(files)
}

/// The panels of `rows`, a model each in the rows' order, with `value`'s
/// point for each row (`Some(None)`: failed; `None`: nothing to draw).
fn panels(rows: &[&Row], value: impl Fn(&Row) -> Option<Option<Point>>) -> Vec<Panel> {
    let mut panels: Vec<Panel> = Vec::new();
    for r in rows {
        let model = &r.record.group.model;
        let at = match panels.iter().position(|p| p.model == *model) {
            Some(at) => at,
            None => {
                panels.push(Panel {
                    model: model.clone(),
                    ..Panel::default()
                });
                panels.len() - 1
            }
        };
        let p = &mut panels[at];
        let c = (r.record.case.size, r.record.case.batch);
        if !p.configurations.contains(&c) {
            p.configurations.push(c);
        }
        if let Some(v) = value(r) {
            p.points.insert((r.record.case.framework, c), v);
        }
    }
    for p in &mut panels {
        p.configurations.sort();
    }
    panels
}

/// Each framework's mean step time over the fastest one's, per configuration.
fn relative_times(rows: &[&Row], title: &str) -> Figure {
    let configuration = |r: &Row| {
        (
            r.record.group.model.clone(),
            r.record.case.size,
            r.record.case.batch,
        )
    };
    let mut fastest: BTreeMap<(String, usize, usize), f64> = BTreeMap::new();
    for r in rows {
        if let Some(m) = r.mean() {
            let f = fastest.entry(configuration(r)).or_insert(f64::INFINITY);
            *f = f.min(m);
        }
    }
    let panels = panels(rows, |r| {
        Some(r.mean().map(|m| Point {
            value: m / fastest[&configuration(r)],
            estimate: r.estimate().is_some(),
            older: r.record.older_step_code(),
        }))
    });
    Figure {
        title: title.into(),
        y_label: "step time / fastest's".into(),
        frameworks: frameworks_of(rows),
        panels,
        ratios: true,
    }
}

/// NVML's process memory after the measurement, per configuration and
/// framework, for the steps of one phase (a benchmark that ran but whose
/// memory was not read has no mark; report.md says why).
fn memory(rows: &[&Row], phase: Phase) -> Figure {
    let panels = panels(rows, |r| {
        if r.record.status != Status::Ok {
            return Some(None);
        }
        let mib = r.record.memory.as_ref()?.nvml_process_mib.mib()?;
        Some(Some(Point {
            value: mib,
            estimate: false,
            older: r.record.older_step_code(),
        }))
    });
    Figure {
        title: format!("GPU memory, {phase} (NVML, process)"),
        y_label: "MiB".into(),
        frameworks: frameworks_of(rows),
        panels,
        ratios: false,
    }
}

#[cfg(test)]
mod tests {
    use super::draw::{colour, FADED};
    use super::*;
    use crate::grid::{Device, Group};
    use crate::memory::{read, Peaks, Reading};
    use crate::report::{test_row, Estimates, Interval};
    use plotters::style::RGBColor;

    /// A measured row (criterion's statistics, not an estimate) of `model`'s
    /// GPU train step.
    fn measured(framework: Framework, model: &str, size: usize, batch: usize, ns: f64) -> Row {
        let mut r = test_row(framework, batch, ns, crate::record::code(framework));
        r.record.group.model = model.into();
        r.record.case.size = size;
        r.record.estimate = None;
        let at = Interval {
            point: ns,
            low: ns,
            high: ns,
        };
        r.estimates = Some(Estimates {
            mean: at,
            median: at,
        });
        r
    }

    fn failed(r: Row) -> Row {
        let mut r = r;
        r.record.status = Status::Failed;
        r.estimates = None;
        r
    }

    fn gpu_row(framework: Framework, phase: Phase, mib: f64) -> Row {
        let mut r = measured(framework, "resnet18", 224, 1, 1e6);
        r.record.group = Group {
            model: "resnet18".into(),
            device: Device::Gpu(0),
            phase,
        };
        let mut memory = read(Device::Gpu(0), Peaks::default());
        memory.nvml_process_mib = Reading::Mib(mib);
        r.record.memory = Some(memory);
        r
    }

    fn svg_of(figure: &Figure) -> String {
        let dir = std::env::temp_dir().join(format!("cnn-bench-figure-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.svg", figure.title.len()));
        draw(figure, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        svg
    }

    /// Whether the SVG has a text element saying exactly `t`.
    fn says(svg: &str, t: &str) -> bool {
        svg.contains(&format!(">\n{t}\n</text>"))
    }

    fn hex(f: Framework) -> String {
        let RGBColor(r, g, b) = colour(f);
        format!("#{r:02X}{g:02X}{b:02X}")
    }

    /// A panel per model in the rows' order, its configurations by size
    /// then batch, each framework's ratio to the fastest, a failure kept
    /// as one (drawn as a cross), an estimate said.
    #[test]
    fn a_panel_per_model_with_each_frameworks_ratio_to_the_fastest() {
        let rows = [
            measured(Framework::Tch, "resnet18", 224, 8, 2e6),
            measured(Framework::Candle, "resnet18", 224, 8, 6e6),
            measured(Framework::Tch, "resnet18", 128, 32, 1e6),
            failed(measured(Framework::Candle, "resnet18", 128, 32, 1e6)),
            test_row(Framework::Candle, 1, 3e6, "0123456789abcdef"),
            measured(Framework::Tch, "vgg16", 224, 1, 5e6),
        ];
        let rows: Vec<&Row> = rows.iter().collect();
        let f = relative_times(&rows, "t");
        let models: Vec<&str> = f.panels.iter().map(|p| p.model.as_str()).collect();
        assert_eq!(models, ["resnet18", "vgg16"]);
        let p = &f.panels[0];
        assert_eq!(p.configurations, [(128, 32), (224, 1), (224, 8)]);
        let at = |fw, c| p.points[&(fw, c)];
        assert_eq!(at(Framework::Candle, (224, 8)).unwrap().value, 3.0);
        assert_eq!(at(Framework::Tch, (224, 8)).unwrap().value, 1.0);
        assert_eq!(at(Framework::Candle, (128, 32)), None, "failed");
        let alone = at(Framework::Candle, (224, 1)).unwrap();
        assert!(alone.estimate && alone.value == 1.0, "{alone:?}");
        assert_eq!(f.frameworks, [Framework::Tch, Framework::Candle]);
    }

    /// A line joins a framework's points of one input size; a failure or a
    /// missing point breaks it, and a lone point is only its mark.
    #[test]
    fn lines_join_the_points_of_one_input_size() {
        let mut p = Panel {
            configurations: vec![(128, 1), (128, 8), (128, 16), (224, 1), (224, 8), (320, 1)],
            ..Panel::default()
        };
        let point = Point {
            value: 1.0,
            ..Point::default()
        };
        for c in &p.configurations {
            p.points.insert((Framework::Tch, *c), Some(point));
        }
        p.points.insert((Framework::Candle, (128, 1)), Some(point));
        p.points.insert((Framework::Candle, (128, 8)), None);
        p.points.insert((Framework::Candle, (128, 16)), Some(point));
        p.points.insert((Framework::Candle, (224, 1)), Some(point));
        p.points.insert((Framework::Candle, (224, 8)), Some(point));
        let indices = |fw| -> Vec<Vec<usize>> {
            p.lines(fw)
                .iter()
                .map(|run| run.iter().map(|(k, _)| *k).collect())
                .collect()
        };
        assert_eq!(indices(Framework::Tch), [vec![0, 1, 2], vec![3, 4]]);
        assert_eq!(indices(Framework::Candle), [vec![3, 4]]);
    }

    /// The whole default grid (7 models x 12 configurations x 7 frameworks)
    /// is one figure of four rows of panels, not a bar per benchmark
    /// (16 px each: 9,500 px high); ratios spanning over 10x get a log axis.
    #[test]
    fn a_whole_grid_stays_a_screen_or_two_high() {
        let frameworks = &Framework::ALL[..7];
        let mut rows = Vec::new();
        for m in 0..7 {
            for size in [128, 224, 320] {
                for batch in [1, 8, 16, 32] {
                    for (i, &f) in frameworks.iter().enumerate() {
                        let slow = if m == 0 && i == 6 { 30.0 } else { 1.0 };
                        let ns = 1e6 * (1.0 + i as f64) * slow;
                        rows.push(measured(f, &format!("model{m}"), size, batch, ns));
                    }
                }
            }
        }
        let rows: Vec<&Row> = rows.iter().collect();
        let svg = svg_of(&relative_times(&rows, "grid"));
        assert!(
            svg.starts_with(r#"<svg width="1200" height="1280""#),
            "{}",
            &svg[..80]
        );
        for f in frameworks {
            assert!(svg.contains(&hex(*f)), "{f}'s colour");
        }
        assert!(says(&svg, "model6") && says(&svg, "320 px"));
        // model0's panel spans 1-210x: a log axis, labelled at 1, 2 and 5
        // times a power of ten (the others' are linear, up to 7x).
        assert!(says(&svg, "100") && says(&svg, "50"), "a log axis");
        assert!(!says(&svg, "30") && !says(&svg, "40"), "1-2-5 labels");
        assert_eq!(svg.matches(">\n10\n</text>").count(), 1, "one 10 label");
    }

    /// A point measured with older step code (`†` in report.md) is drawn
    /// faded, and the legend says so only where there is one.
    #[test]
    fn points_of_older_step_code_are_faded_and_said() {
        let current = measured(Framework::Tch, "resnet18", 224, 1, 1e6);
        let mut older = measured(Framework::Candle, "resnet18", 224, 1, 2e6);
        if let Some(s) = older.record.settings.as_mut() {
            s.code = "0123456789abcdef".into();
        }
        let both = [&current, &older];
        let svg = svg_of(&relative_times(&both, "older"));
        assert!(svg.contains("older step code"), "{svg}");
        let circle = |colour: &str| {
            svg.split("<circle")
                .skip(1)
                .map(|s| &s[..s.find('>').unwrap()])
                .filter(|c| c.contains(colour))
                .map(|c| c.contains(&format!("opacity=\"{FADED}\"")))
                .collect::<Vec<bool>>()
        };
        // The legend's dot, then the point.
        assert_eq!(circle(&hex(Framework::Candle)), [false, true], "{svg}");
        assert_eq!(circle(&hex(Framework::Tch)), [false, false], "{svg}");
        let svg = svg_of(&relative_times(&[&current], "current"));
        assert!(!svg.contains("older step code"), "{svg}");
    }

    /// GPU memory: a figure per phase, each framework in the colour it has
    /// in the time figures (candle's green, not the colour of its place).
    #[test]
    fn gpu_memory_has_a_figure_per_phase_coloured_by_framework() {
        let dir = std::env::temp_dir().join(format!("cnn-bench-figures-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rows = [
            gpu_row(Framework::Candle, Phase::Train, 2000.0),
            gpu_row(Framework::Candle, Phase::Inference, 900.0),
            gpu_row(Framework::Tch, Phase::Inference, 1000.0),
        ];
        let files = write_all(&rows, &dir).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for name in ["gpu-memory-train.svg", "gpu-memory-inference.svg"] {
            assert!(names.contains(&name.to_string()), "{names:?}");
        }
        let svg = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        let (train, inference) = (svg("gpu-memory-train.svg"), svg("gpu-memory-inference.svg"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(train.contains("GPU memory, train") && says(&train, "resnet18"));
        assert!(train.contains(&hex(Framework::Candle)), "candle's colour");
        assert!(!train.contains(&hex(Framework::Tch)), "no tch in train");
        assert!(!says(&train, "tch"), "nor in its legend");
        assert!(inference.contains(&hex(Framework::Tch)) && says(&inference, "tch"));
    }
}
