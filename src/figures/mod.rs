//! The study's figures as SVG (plotters): per device and phase, each
//! framework's step time relative to the fastest (1.0 = fastest); GPU
//! memory, one figure per phase; and the 2021 study's own ratios beside
//! this run's, one figure per question and table. A figure is a grid of
//! small panels, one per model, each with a line per series (a framework,
//! or a ratio) over the model's input sizes and batches, so that a whole
//! grid (7 models x 12 configurations x 7 frameworks) stays one screen or
//! two high with its axes in view.

mod draw;

use crate::identities::{Framework, Phase, Status};
use crate::report::study::{answers, Answer};
use crate::report::{frameworks_of, timed, Row, SECTIONS};
use anyhow::Result;
use draw::{colour, draw};
use plotters::style::RGBColor;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A measured point: its value, its 95% interval where criterion gave
/// one (drawn as a whisker, so that a reader sees which differences are
/// noise), whether it is an estimate (drawn hollow) and whether it was
/// measured with older step code than this build's (drawn faded; `†` in
/// report.md: a resumed run measures it again). `None` in a panel: the
/// benchmark failed (drawn as a cross).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Point {
    value: f64,
    interval: Option<(f64, f64)>,
    estimate: bool,
    older: bool,
}

/// A configuration: input size, batch.
type Configuration = (usize, usize);

/// One model's panel: its configurations in order (size, then batch), and
/// each series' point (by its place in [`Figure::series`]) at those it has.
#[derive(Debug, Default)]
struct Panel {
    model: String,
    configurations: Vec<Configuration>,
    points: BTreeMap<(usize, Configuration), Option<Point>>,
}

impl Panel {
    /// The least and greatest values the panel's axis spans: its points'
    /// and their intervals', but for those of older step code more than
    /// 10x beyond their own series' points of this build's in the panel
    /// (tch-jit's 118x with its CUDA fuser, since turned off, beside its
    /// 0.95-1.25x now: what the series measures now says they are stale),
    /// which sit at the axis' edge instead of squeezing the rest.
    fn span(&self) -> (f64, f64) {
        let measured = || {
            self.points
                .iter()
                .filter_map(|((s, _), p)| p.as_ref().map(|p| (*s, p)))
        };
        // Each series' least and greatest value of this build's.
        let mut now: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
        for (s, p) in measured().filter(|(_, p)| !p.older) {
            let (lo, hi) = now.entry(s).or_insert((p.value, p.value));
            (*lo, *hi) = (lo.min(p.value), hi.max(p.value));
        }
        let far_off = |s: usize, p: &Point| {
            p.older
                && now
                    .get(&s)
                    .is_some_and(|&(lo, hi)| p.value > hi * 10.0 || p.value < lo / 10.0)
        };
        let values = measured()
            .filter(|(s, p)| !far_off(*s, p))
            .flat_map(|(_, p)| {
                let (low, high) = p.interval.unwrap_or((p.value, p.value));
                [p.value, low, high]
            });
        let min = values.clone().fold(f64::INFINITY, f64::min);
        (min, values.fold(0f64, f64::max))
    }

    /// Series `s`'s lines: its measured points (configuration's index,
    /// value) in runs of one input size, broken where a point is missing
    /// or failed; runs of one point are left to their mark.
    fn lines(&self, s: usize) -> Vec<Vec<(usize, f64)>> {
        let mut runs: Vec<Vec<(usize, f64)>> = Vec::new();
        let mut run: Vec<(usize, f64)> = Vec::new();
        for (k, c) in self.configurations.iter().enumerate() {
            match self.points.get(&(s, *c)) {
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

/// A line of a figure: its name in the legend and its colour.
#[derive(Clone, Debug, PartialEq)]
struct Series {
    name: String,
    colour: RGBColor,
}

impl Series {
    /// A framework's line, in its colour in every figure.
    fn of(f: Framework) -> Self {
        Series {
            name: f.name().into(),
            colour: colour(f),
        }
    }
}

/// What a figure's values are, which sets its value axis.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scale {
    /// Ratios to the fastest (at least 1): a panel's axis starts near 1,
    /// and is logarithmic where they span more than 10x (one framework 40x
    /// slower would flatten the others on a linear one).
    ToFastest,
    /// Ratios either side of 1, with a line at 1.
    Ratio,
    /// MiB, from 0.
    Mib,
}

/// One figure: a panel per model.
struct Figure {
    title: String,
    y_label: String,
    series: Vec<Series>,
    panels: Vec<Panel>,
    scale: Scale,
    /// What its failure marks are (the legend's words).
    failed: &'static str,
}

/// A figure written: its file, and its title (report.md's and
/// index.html's text for it where the image is not shown).
#[derive(Clone, Debug, PartialEq)]
pub struct Drawn {
    pub path: PathBuf,
    pub title: String,
}

impl Drawn {
    /// The file's name, which report.md and index.html link to (the
    /// figures lie beside them).
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Writes every figure the rows allow into `dir`; returns them in order.
pub fn write_all(rows: &[Row], dir: &Path) -> Result<Vec<Drawn>> {
    let mut figures = Vec::new();
    for (device, phase, _) in SECTIONS {
        let mine = timed(rows, device, phase);
        if mine.is_empty() {
            continue;
        }
        let figure = relative_times(
            &mine,
            &format!("{phase} step time relative to the fastest framework, {device}"),
        );
        figures.push((figure, format!("relative-time-{device}-{phase}.svg")));
    }
    for phase in [Phase::Train, Phase::Inference] {
        let gpu: Vec<&Row> = rows
            .iter()
            .filter(|r| r.record.group.device.is_gpu() && r.record.group.phase == phase)
            .collect();
        if !gpu.is_empty() {
            figures.push((memory(&gpu, phase), format!("gpu-memory-{phase}.svg")));
        }
    }
    for a in answers(rows) {
        let name = format!("study-{}-{}-{}.svg", a.question.file, a.device, a.phase);
        figures.push((study(&a), name));
    }
    figures
        .into_iter()
        .map(|(figure, name)| {
            let path = dir.join(name);
            draw(&figure, &path)?;
            Ok(Drawn {
                path,
                title: figure.title,
            })
        })
        .collect()
}

/// The panel of `model` among `panels`, added (empty) if it has none.
fn panel<'a>(panels: &'a mut Vec<Panel>, model: &str) -> &'a mut Panel {
    let at = match panels.iter().position(|p| p.model == model) {
        Some(at) => at,
        None => {
            panels.push(Panel {
                model: model.into(),
                ..Panel::default()
            });
            panels.len() - 1
        }
    };
    &mut panels[at]
}

/// The panels of `rows`, a model each in the rows' order, with `value`'s
/// point for each row (`Some(None)`: failed; `None`: nothing to draw) in
/// its framework's series (its place in `frameworks`).
fn panels(
    rows: &[&Row],
    frameworks: &[Framework],
    value: impl Fn(&Row) -> Option<Option<Point>>,
) -> Vec<Panel> {
    let mut panels: Vec<Panel> = Vec::new();
    for r in rows {
        let p = panel(&mut panels, &r.record.group.model);
        let c = (r.record.case.size, r.record.case.batch);
        if !p.configurations.contains(&c) {
            p.configurations.push(c);
        }
        let series = frameworks
            .iter()
            .position(|f| *f == r.record.case.framework);
        if let (Some(s), Some(v)) = (series, value(r)) {
            p.points.insert((s, c), v);
        }
    }
    for p in &mut panels {
        p.configurations.sort();
    }
    panels
}

/// Each framework's mean step time over the fastest one's, per
/// configuration, with its own 95% interval over the same mean.
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
    let frameworks = frameworks_of(rows);
    let panels = panels(rows, &frameworks, |r| {
        // (A failed row has no mean, and its configuration maybe no fastest.)
        Some(r.mean().map(|m| {
            let fastest = fastest[&configuration(r)];
            let interval = r
                .estimates
                .map(|e| (e.mean.low / fastest, e.mean.high / fastest));
            Point {
                value: m / fastest,
                interval,
                estimate: r.estimate().is_some(),
                older: r.record.older_step_code(),
            }
        }))
    });
    Figure {
        title: title.into(),
        y_label: "step time / fastest's".into(),
        series: frameworks.into_iter().map(Series::of).collect(),
        panels,
        scale: Scale::ToFastest,
        failed: "failed (see report.md)",
    }
}

/// NVML's process memory after the measurement, per configuration and
/// framework, for the steps of one phase (a benchmark that ran but whose
/// memory was not read has no mark; report.md says why).
fn memory(rows: &[&Row], phase: Phase) -> Figure {
    let frameworks = frameworks_of(rows);
    let panels = panels(rows, &frameworks, |r| {
        if r.record.status != Status::Ok {
            return Some(None);
        }
        let mib = r.record.memory.as_ref()?.nvml_process_mib.mib()?;
        Some(Some(Point {
            value: mib,
            interval: None,
            estimate: false,
            older: r.record.older_step_code(),
        }))
    });
    Figure {
        title: format!("GPU memory, {phase} (NVML, process)"),
        y_label: "MiB".into(),
        series: frameworks.into_iter().map(Series::of).collect(),
        panels,
        scale: Scale::Mib,
        failed: "failed (see report.md)",
    }
}

/// The study's colours for its own ratios: black, then grey.
const THEN: [RGBColor; 2] = [RGBColor(0, 0, 0), RGBColor(140, 140, 140)];

/// One of the study's questions on one table: its ratios (black and grey,
/// a cross where its run failed) beside ours (in the colour of the
/// framework over the other: `pytorch`'s for pytorch / tensorflow).
fn study(a: &Answer) -> Figure {
    let q = a.question;
    let series: Vec<Series> = (q
        .then
        .iter()
        .zip(THEN)
        .map(|((_, _, name), colour)| Series {
            name: format!("2021: {name}"),
            colour,
        }))
    .chain(q.ours.iter().map(|(x, y)| Series {
        name: format!("{x} / {y}"),
        colour: colour(*x),
    }))
    .collect();
    let mut panels: Vec<Panel> = Vec::new();
    for line in &a.lines {
        let p = panel(&mut panels, &line.model);
        let c = (line.size, line.batch);
        p.configurations.push(c);
        for (s, then) in line.then.iter().enumerate() {
            let point = then.map(|value| Point {
                value,
                ..Point::default()
            });
            p.points.insert((s, c), point);
        }
        for (s, ours) in line.ours.iter().enumerate() {
            if let Some(r) = ours {
                let point = Point {
                    value: r.point,
                    interval: r.interval,
                    estimate: r.estimate,
                    older: r.older,
                };
                p.points.insert((q.then.len() + s, c), Some(point));
            }
        }
    }
    for p in &mut panels {
        p.configurations.sort();
    }
    Figure {
        title: format!("{} step time, {}: {}", a.phase, a.device, q.figure),
        y_label: "step time / step time".into(),
        series,
        panels,
        scale: Scale::Ratio,
        failed: "the study's run failed",
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

    /// The SVG `draw` writes for `figure`, through a file of its own (the
    /// tests run in parallel) that it removes.
    fn svg_of(figure: &Figure) -> String {
        static DRAWN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = DRAWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("cnn-bench-figure-{}-{n}.svg", std::process::id());
        let path = std::env::temp_dir().join(name);
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
        let names: Vec<&str> = f.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["tch", "candle"]);
        let (tch, candle) = (0, 1);
        let at = |s, c| p.points[&(s, c)];
        assert_eq!(at(candle, (224, 8)).unwrap().value, 3.0);
        assert_eq!(at(tch, (224, 8)).unwrap().value, 1.0);
        assert_eq!(at(candle, (128, 32)), None, "failed");
        let alone = at(candle, (224, 1)).unwrap();
        assert!(alone.estimate && alone.value == 1.0, "{alone:?}");
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
        let (tch, candle) = (0, 1);
        for c in &p.configurations {
            p.points.insert((tch, *c), Some(point));
        }
        p.points.insert((candle, (128, 1)), Some(point));
        p.points.insert((candle, (128, 8)), None);
        p.points.insert((candle, (128, 16)), Some(point));
        p.points.insert((candle, (224, 1)), Some(point));
        p.points.insert((candle, (224, 8)), Some(point));
        let indices = |s| -> Vec<Vec<usize>> {
            p.lines(s)
                .iter()
                .map(|run| run.iter().map(|(k, _)| *k).collect())
                .collect()
        };
        assert_eq!(indices(tch), [vec![0, 1, 2], vec![3, 4]]);
        assert_eq!(indices(candle), [vec![3, 4]]);
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

    /// A configuration in which every framework failed has no fastest:
    /// its points are failures (crosses), and the figure is drawn.
    #[test]
    fn a_configuration_where_all_failed_is_crosses() {
        let alone = failed(measured(Framework::Tch, "resnet18", 64, 1, 1e6));
        let f = relative_times(&[&alone], "failed");
        assert_eq!(f.panels[0].points[&(0, (64, 1))], None);
        assert!(svg_of(&f).contains("failed (see report.md)"));
    }

    /// criterion's 95% interval is a whisker over the fastest's mean, and
    /// the legend says what whiskers are; an estimate has none.
    #[test]
    fn intervals_are_whiskers() {
        let mut tch = measured(Framework::Tch, "resnet18", 224, 1, 2e6);
        if let Some(e) = tch.estimates.as_mut() {
            (e.mean.low, e.mean.high) = (1.8e6, 2.4e6);
        }
        let fastest = measured(Framework::Candle, "resnet18", 224, 1, 1e6);
        let f = relative_times(&[&tch, &fastest], "whiskers");
        let at = |s| f.panels[0].points[&(s, (224, 1))].unwrap();
        assert_eq!(at(0).interval, Some((1.8, 2.4)));
        assert_eq!(at(1).interval, Some((1.0, 1.0)));
        let svg = svg_of(&f);
        assert!(svg.contains("whiskers: 95% intervals"), "{svg}");
        let estimated = test_row(Framework::Candle, 1, 3e6, "0123456789abcdef");
        assert!(estimated.estimate().is_some());
        let f = relative_times(&[&estimated], "estimate");
        assert_eq!(f.panels[0].points[&(0, (224, 1))].unwrap().interval, None);
        assert!(!svg_of(&f).contains("whiskers"));
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
        assert!(!svg.contains("failed (see report.md)"), "no failure: {svg}");
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

    /// A point of older step code far beyond its own series' points of
    /// this build (tch-jit's since fixed 118x) does not set its panel's
    /// axis: it is drawn at the axis' edge, as a triangle the legend
    /// explains; a series with no point of this build keeps its own.
    #[test]
    fn stale_points_far_beyond_their_series_sit_at_the_axis_edge() {
        let of_older = |f: Framework, batch: usize, ns: f64| {
            let mut r = measured(f, "resnet18", 224, batch, ns);
            if let Some(s) = r.record.settings.as_mut() {
                s.code = "0123456789abcdef".into();
            }
            r
        };
        let tch = [1, 8].map(|b| measured(Framework::Tch, "resnet18", 224, b, 1e6));
        let jit_now = measured(Framework::TchJit, "resnet18", 224, 1, 1.2e6);
        let jit_then = of_older(Framework::TchJit, 8, 100e6);
        let rows = [&tch[0], &tch[1], &jit_now, &jit_then];
        let f = relative_times(&rows, "far");
        assert_eq!(f.panels[0].span(), (1.0, 1.2));
        let svg = svg_of(&f);
        assert!(svg.contains("beyond the axis"), "{svg}");
        let count = |svg: &str, tag: &str| {
            let jit = hex(Framework::TchJit);
            svg.split(tag)
                .skip(1)
                .filter(|s| s[..s.find('>').unwrap()].contains(&jit))
                .count()
        };
        // The legend's dot and the point of this build; the other a triangle.
        assert_eq!((count(&svg, "<circle"), count(&svg, "<polygon")), (2, 1));
        // candle's older points, its only ones, set the axis.
        let candle = of_older(Framework::Candle, 1, 30e6);
        let f = relative_times(&[&tch[0], &tch[1], &jit_now, &jit_then, &candle], "c");
        assert_eq!(f.panels[0].span(), (1.0, 30.0));
        // Within 10x of this build's: an older point sets the axis too.
        let near = of_older(Framework::TchJit, 8, 5e6);
        let f = relative_times(&[&tch[0], &tch[1], &jit_now, &near], "near");
        assert_eq!(f.panels[0].span(), (1.0, 5.0));
        assert!(!svg_of(&f).contains("beyond the axis"));
    }

    /// The study's question on a table this run answers: its ratio in
    /// black beside ours in the numerator's colour, a cross where the
    /// study's run failed, an estimate hollow; a figure per question and
    /// table, written with the others.
    #[test]
    fn the_studys_ratios_beside_ours() {
        let row = |f: Framework, batch, ns| {
            let mut r = test_row(f, batch, ns, crate::record::code(f));
            r.record.group.model = "resnet50".into();
            r
        };
        let rows = [
            row(Framework::Tch, 1, 10e6),
            row(Framework::TchJit, 1, 8e6),
            row(Framework::Tch, 32, 10e6),
            row(Framework::TchJit, 32, 12e6),
        ];
        let answers = answers(&rows);
        assert_eq!(answers.len(), 1, "graph against eager, GPU train only");
        let f = study(&answers[0]);
        let names: Vec<&str> = f.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["2021: TF 1.15 / TF 2.5", "tch-jit / tch"]);
        assert_eq!(f.series[0].colour, THEN[0]);
        assert_eq!(f.series[1].colour, colour(Framework::TchJit));
        let p = &f.panels[0];
        assert_eq!(
            (p.model.as_str(), &p.configurations[..]),
            ("resnet50", &[(224, 1), (224, 32)][..])
        );
        // seed-study/train.csv, resnet50 at 224: tf1 0.0473600339889526 s
        // and tf2 0.038687570095062254 s at batch 1; tf1 failed at 32.
        let then = p.points[&(0, (224, 1))].unwrap();
        assert_eq!(then.value, 0.0473600339889526 / 0.038687570095062254);
        assert!(!then.estimate && !then.older);
        assert_eq!(p.points[&(0, (224, 32))], None, "the study's run failed");
        let ours = p.points[&(1, (224, 32))].unwrap();
        assert!(ours.value == 1.2 && ours.estimate, "{ours:?}");

        let dir = std::env::temp_dir().join(format!("cnn-bench-study-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = write_all(&rows, &dir).unwrap();
        let svg = std::fs::read_to_string(dir.join("study-graph-eager-gpu-train.svg"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(files.len(), 3, "{files:?}");
        let svg = svg.unwrap();
        assert!(says(&svg, "2021: TF 1.15 / TF 2.5"), "{svg}");
        // (An apostrophe is `&apos;` in SVG.)
        assert!(says(&svg, "the study&apos;s run failed"), "{svg}");
        assert!(
            svg.contains("train step time, gpu: a static graph&apos;s"),
            "{svg}"
        );
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
        let names: Vec<String> = files.iter().map(Drawn::file_name).collect();
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
