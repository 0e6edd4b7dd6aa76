//! The study's figures as SVG (plotters): per configuration, each framework's
//! step time relative to the fastest (1.0 = fastest), one figure per device
//! and phase; and GPU memory, one figure per phase. Horizontal bars, so
//! every configuration's label stays readable without a browser.

use crate::identities::{Framework, Phase};
use crate::report::{timed, Row, SECTIONS};
use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One colour per series (the tab10 palette), enough for every framework.
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One bar: its value, and whether it is an estimate (drawn hollow, `~`).
#[derive(Clone, Copy)]
struct Bar {
    value: f64,
    estimate: bool,
}

/// One figure: a bar per (configuration, series); `None` values (failed
/// benchmarks) leave their bar out and are marked with a note.
struct Bars {
    title: String,
    x_label: String,
    configurations: Vec<String>,
    series: Vec<String>,
    values: BTreeMap<(usize, usize), Option<Bar>>,
    /// A logarithmic value axis: relative times spanning more than 10x (one
    /// framework 40x slower) would flatten every other bar on a linear one.
    log: bool,
}

/// Writes every figure the rows allow into `dir`; returns the files.
pub fn write_all(rows: &[Row], dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for (device, phase, _) in SECTIONS {
        let mine = timed(rows, device, phase);
        if mine.is_empty() {
            continue;
        }
        let bars = relative_times(
            &mine,
            &format!("{phase} step time relative to the fastest framework, {device}"),
        );
        let path = dir.join(format!("relative-time-{device}-{phase}.svg"));
        draw(&bars, &path)?;
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

fn label(r: &Row) -> String {
    format!(
        "{} {}px b{}",
        r.record.group.model, r.record.case.size, r.record.case.batch
    )
}

fn index_of(list: &mut Vec<String>, item: String) -> usize {
    list.iter().position(|x| *x == item).unwrap_or_else(|| {
        list.push(item);
        list.len() - 1
    })
}

/// Each framework's mean step time over the fastest one's, per configuration.
fn relative_times(rows: &[&Row], title: &str) -> Bars {
    let mut bars = Bars {
        title: title.into(),
        x_label: "relative step time (1 = fastest)".into(),
        configurations: vec![],
        series: vec![],
        values: BTreeMap::new(),
        log: false,
    };
    // Legend and bars in the harness's order (tch, tch-jit, candle, ...).
    bars.series = crate::report::frameworks_of(rows)
        .iter()
        .map(|f| f.to_string())
        .collect();
    let mut fastest: BTreeMap<String, f64> = BTreeMap::new();
    for r in rows {
        if let Some(m) = r.mean() {
            let f = fastest.entry(label(r)).or_insert(f64::INFINITY);
            *f = f.min(m);
        }
    }
    for r in rows {
        let c = index_of(&mut bars.configurations, label(r));
        let s = index_of(&mut bars.series, r.record.case.framework.to_string());
        let v = r.mean().map(|m| Bar {
            value: m / fastest[&label(r)],
            estimate: r.estimate().is_some(),
        });
        bars.values.insert((c, s), v);
    }
    if bars.values.values().flatten().any(|b| b.estimate) {
        bars.title += " (hollow ~: estimate)";
    }
    if bars.values.values().flatten().any(|b| b.value > 10.0) {
        bars.log = true;
        bars.x_label += ", log scale";
    }
    bars
}

/// NVML's process memory after the measurement, per configuration and
/// framework, for the steps of one phase (a figure each, coloured as the
/// time figures are).
fn memory(rows: &[&Row], phase: Phase) -> Bars {
    let mut bars = Bars {
        title: format!("GPU memory, {phase} (NVML, process)"),
        x_label: "MiB".into(),
        configurations: vec![],
        series: crate::report::frameworks_of(rows)
            .iter()
            .map(|f| f.to_string())
            .collect(),
        values: BTreeMap::new(),
        log: false,
    };
    for r in rows {
        let c = index_of(&mut bars.configurations, label(r));
        let s = index_of(&mut bars.series, r.record.case.framework.to_string());
        let v = r
            .record
            .memory
            .as_ref()
            .filter(|_| r.record.status == crate::identities::Status::Ok)
            .and_then(|m| m.nvml_process_mib.mib())
            .map(|value| Bar {
                value,
                estimate: false,
            });
        bars.values.insert((c, s), v);
    }
    bars
}

fn draw(b: &Bars, path: &Path) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    // One segment of the y axis per bar that exists (measured or failed; a
    // framework absent from a configuration takes no room), labelled
    // `configuration framework`, the first configuration on top.
    let slots: Vec<(usize, usize)> = b.values.keys().copied().collect();
    let m = slots.len().max(1);
    let segment = |c: usize, s: usize| {
        m - 1
            - slots
                .iter()
                .position(|&k| k == (c, s))
                .expect("a bar has a slot")
    };
    let height = 100 + 16 * m as u32;
    let root = SVGBackend::new(path, (960, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let max = b
        .values
        .values()
        .flatten()
        .fold(1.0f64, |acc, b| acc.max(b.value))
        * 1.1;
    // On a log axis values are drawn as their log10, from 0.8 (so that the
    // fastest, 1.0, still shows a bar), and the ticks say 10^x.
    let x = |v: f64| if b.log { v.log10() } else { v };
    let base = if b.log { x(0.8) } else { 0.0 };
    let tick = |v: &f64| {
        if b.log {
            let t = 10f64.powf(*v);
            if t < 10.0 {
                format!("{t:.1}")
            } else {
                format!("{t:.0}")
            }
        } else {
            tick_label(*v)
        }
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(&b.title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(260)
        .build_cartesian_2d(base..x(max), (0..m).into_segmented())
        .map_err(|e| err(&e))?;
    let label = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(k) if *k < slots.len() => {
            let (c, s) = slots[m - 1 - k];
            format!("{}  {}", b.configurations[c], b.series[s])
        }
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(b.x_label.as_str())
        .x_label_formatter(&tick)
        .y_labels(m)
        .y_label_formatter(&label)
        .draw()
        .map_err(|e| err(&e))?;
    for (s, name) in b.series.iter().enumerate() {
        // A framework keeps its colour in every figure.
        let known = Framework::ALL.iter().position(|f| f.name() == name);
        let colour = COLOURS[known.unwrap_or(s) % COLOURS.len()];
        let mine = || b.values.iter().filter(move |((_, si), _)| *si == s);
        let bars = mine().filter_map(|((c, _), v)| {
            let k = segment(*c, s);
            v.map(|b| {
                let style = if b.estimate {
                    colour.stroke_width(2)
                } else {
                    colour.filled()
                };
                Rectangle::new(
                    [
                        (base, SegmentValue::Exact(k)),
                        (x(b.value), SegmentValue::Exact(k + 1)),
                    ],
                    style,
                )
            })
        });
        chart
            .draw_series(bars)
            .map_err(|e| err(&e))?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
        let failed = mine().filter(|(_, v)| v.is_none()).map(|((c, _), _)| {
            let at = (base, SegmentValue::CenterOf(segment(*c, s)));
            Text::new(
                "failed (see report.md)",
                at,
                ("sans-serif", 12).into_font().color(&colour),
            )
        });
        chart.draw_series(failed).map_err(|e| err(&e))?;
        let rough = mine().filter_map(|((c, _), v)| {
            v.filter(|b| b.estimate).map(|b| {
                let at = (x(b.value), SegmentValue::CenterOf(segment(*c, s)));
                Text::new("~", at, ("sans-serif", 14).into_font().color(&colour))
            })
        });
        chart.draw_series(rough).map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// A linear axis's tick: at most three decimals, no trailing zeros (`0.6`,
/// not the float sum `0.6000000000000001`).
fn tick_label(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{Case, Device, Group};
    use crate::memory::{read, Peaks, Reading};
    use crate::record::Record;

    fn gpu_row(framework: Framework, phase: Phase, mib: f64) -> Row {
        let mut memory = read(Device::Gpu(0), Peaks::default());
        memory.nvml_process_mib = Reading::Mib(mib);
        Row {
            record: Record {
                group: Group {
                    model: "resnet18".into(),
                    device: Device::Gpu(0),
                    phase,
                },
                case: Case {
                    framework,
                    size: 224,
                    batch: 1,
                },
                memory: Some(memory),
                ..Record::default()
            },
            estimates: None,
            root: PathBuf::new(),
            dir: PathBuf::new(),
        }
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
        assert!(
            names.contains(&"gpu-memory-train.svg".to_string()),
            "{names:?}"
        );
        assert!(
            names.contains(&"gpu-memory-inference.svg".to_string()),
            "{names:?}"
        );
        let svg = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        let (train, inference) = (svg("gpu-memory-train.svg"), svg("gpu-memory-inference.svg"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(train.contains("GPU memory, train") && train.contains("resnet18 224px b1  candle"));
        assert!(!train.contains("b1  tch"), "tch has no train row");
        assert!(inference.contains("resnet18 224px b1  tch"));
        let colour = |f: Framework| {
            let RGBColor(r, g, b) = COLOURS[Framework::ALL.iter().position(|x| *x == f).unwrap()];
            format!("#{r:02X}{g:02X}{b:02X}")
        };
        assert!(
            train.contains(&colour(Framework::Candle)),
            "candle's colour"
        );
        assert!(!train.contains(&colour(Framework::Tch)), "no tch in train");
        assert!(inference.contains(&colour(Framework::Tch)));
    }

    #[test]
    fn ticks_are_short() {
        let ticks = [0.6000000000000001, 1.5999999999999999, 0.0, 2000.0, 0.25];
        let labels = ticks.map(super::tick_label);
        assert_eq!(labels, ["0.6", "1.6", "0", "2000", "0.25"]);
    }
}
