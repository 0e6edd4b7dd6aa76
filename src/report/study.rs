//! The 2021 study's published times beside this run's: its question,
//! PyTorch against TensorFlow, asked again configuration by configuration.
//! The study ran on other machines (an RTX 2060, an i7-9750H), so none of
//! its times is set against one of ours; the ratio between two frameworks
//! in the same configuration is. Its results are built in
//! (`seed-study/`, copied unchanged).

use super::document::{Cell, Section, Table, OLDER};
use super::{by_configuration, geometric_mean, machines, timed, Row, SECTIONS};
use crate::identities::{Framework, Phase};
use anyhow::{bail, Context, Result};

/// The study's frameworks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// TensorFlow 1.15: a static graph run by a session.
    Tf1,
    /// TensorFlow 2.5.
    Tf2,
    /// PyTorch 1.9.
    Pytorch,
}

/// One published benchmark of the study.
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    pub framework: Then,
    pub model: String,
    pub size: usize,
    pub batch: usize,
    /// `gpu` or `cpu`, as [`SECTIONS`] names devices.
    pub device: &'static str,
    pub phase: Phase,
    /// Mean seconds per step; `None` where the study's run failed (out of
    /// GPU memory), never a zero.
    pub seconds: Option<f64>,
}

/// The study's three files: train (GPU), inference on the GPU and the CPU.
const FILES: [(&str, &str); 3] = [
    ("train.csv", include_str!("../../seed-study/train.csv")),
    (
        "inference_gpu.csv",
        include_str!("../../seed-study/inference_gpu.csv"),
    ),
    (
        "inference_cpu.csv",
        include_str!("../../seed-study/inference_cpu.csv"),
    ),
];

/// Every published benchmark of the study.
pub fn published() -> Result<Vec<Published>> {
    let mut out = Vec::new();
    for (name, text) in FILES {
        for (i, line) in text.lines().enumerate().skip(1) {
            out.push(parse(line).with_context(|| format!("seed-study/{name}, line {}", i + 1))?);
        }
    }
    Ok(out)
}

/// One line: `index;framework;model;(H, W, 3);batch;mode;gpu;seconds;MiB`.
fn parse(line: &str) -> Result<Published> {
    let fields: Vec<&str> = line.split(';').collect();
    let [_, framework, model, size, batch, mode, _, seconds, _] = fields[..] else {
        bail!("{} fields where the study has 9", fields.len());
    };
    let framework = match framework {
        "tf1" => Then::Tf1,
        "tf2" => Then::Tf2,
        "pytorch" => Then::Pytorch,
        other => bail!("framework `{other}`: not tf1, tf2 or pytorch"),
    };
    let (device, phase) = match mode {
        "train" => ("gpu", Phase::Train),
        "inference_gpu" => ("gpu", Phase::Inference),
        "inference_cpu" => ("cpu", Phase::Inference),
        other => bail!("mode `{other}`: not train, inference_gpu or inference_cpu"),
    };
    let height = size.trim_start_matches('(').split(',').next().unwrap_or("");
    Ok(Published {
        framework,
        model: model.to_string(),
        size: height
            .trim()
            .parse()
            .with_context(|| format!("input size `{size}`"))?,
        batch: batch.parse().with_context(|| format!("batch `{batch}`"))?,
        device,
        phase,
        seconds: match seconds {
            "-" => None,
            s => Some(s.parse().with_context(|| format!("time `{s}`"))?),
        },
    })
}

/// Our columns set against `tensorflow`, as the study set PyTorch against
/// TensorFlow: PyTorch itself (from Python) and its engine from Rust.
const OURS: [Framework; 2] = [Framework::Pytorch, Framework::Tch];

/// One framework's time over another's in one configuration.
struct Ratio {
    point: f64,
    /// The conservative 95% interval (low over high, high over low), when
    /// criterion measured both.
    interval: Option<(f64, f64)>,
    /// Either side is an estimate (`~`).
    estimate: bool,
    /// Either side is of older step code (`†`).
    older: bool,
}

impl Ratio {
    fn of(a: &Row, b: &Row) -> Option<Self> {
        let interval = match (a.estimates, b.estimates) {
            (Some(a), Some(b)) => Some((a.mean.low / b.mean.high, a.mean.high / b.mean.low)),
            _ => None,
        };
        Some(Ratio {
            point: a.mean()? / b.mean()?,
            interval,
            estimate: a.estimate().is_some() || b.estimate().is_some(),
            older: a.older_step_code() || b.older_step_code(),
        })
    }

    fn cell(&self) -> Cell {
        Cell {
            text: format!(
                "{}{:.2}{}",
                if self.estimate { "~" } else { "" },
                self.point,
                if self.older { OLDER } else { "" }
            ),
            bracket: self.interval.map(|(lo, hi)| format!("{lo:.2}-{hi:.2}")),
            ..Cell::number("")
        }
    }
}

/// `1.51x TensorFlow 2.5's (longer in 21 of 24)`, and for ours how many
/// were longer beyond noise (the interval above 1).
fn said(ratios: &[f64], over: &str, beyond_noise: Option<usize>) -> String {
    let longer = ratios.iter().filter(|&&r| r > 1.0).count();
    let noise = beyond_noise.map_or(String::new(), |k| format!(", beyond noise in {k}"));
    format!(
        "{:.2}x {over} (longer in {longer} of {}{noise})",
        geometric_mean(ratios),
        ratios.len()
    )
}

/// The section: per study table that this run shares configurations with
/// (a `tensorflow` time and a `pytorch` or `tch` one where the study
/// published the configuration), the study's PyTorch-over-TensorFlow ratios
/// and ours. `None` when there is none (no `tensorflow` column: it runs on
/// the CPU only).
pub(super) fn study(rows: &[Row]) -> Option<Section> {
    let published = published().expect("seed-study's files parse (a test reads every line)");
    let mut table = Table {
        columns: [
            "table",
            "model",
            "size",
            "batch",
            "2021: PyTorch / TF 2.5",
            "2021: PyTorch / TF 1.15",
            "pytorch / tensorflow",
            "tch / tensorflow",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: vec![],
    };
    let mut found = Vec::new();
    for (device, phase, title) in SECTIONS {
        let then = |model: &str, size, batch, framework| {
            published
                .iter()
                .find(|p| {
                    (
                        p.device,
                        p.phase,
                        p.model.as_str(),
                        p.size,
                        p.batch,
                        p.framework,
                    ) == (device, phase, model, size, batch, framework)
                })
                .map(|p| p.seconds)
        };
        let mine = timed(rows, device, phase);
        // The study's two ratios, then ours (each over its configurations).
        let mut columns: [Vec<f64>; 4] = Default::default();
        let mut beyond_noise = [0; 2];
        for ((model, size, batch), cells) in by_configuration(&mine, |r| r.record.case.framework) {
            let Some(tf) = cells.get(&Framework::Tensorflow) else {
                continue;
            };
            let Some(pytorch) = then(&model, size, batch, Then::Pytorch) else {
                continue; // not in the study's grid
            };
            let ours = OURS.map(|f| cells.get(&f).and_then(|r| Ratio::of(r, tf)));
            if ours.iter().all(Option::is_none) {
                continue;
            }
            let theirs = [Then::Tf2, Then::Tf1]
                .map(|t| Some(pytorch? / then(&model, size, batch, t).flatten()?));
            let mut row = vec![
                Cell::label(title),
                Cell::label(&model),
                Cell::number(size),
                Cell::number(batch),
            ];
            for (i, r) in theirs.iter().enumerate() {
                row.push(match r {
                    Some(r) => {
                        columns[i].push(*r);
                        Cell::number(format!("{r:.2}"))
                    }
                    None => Cell::number("- (failed)"),
                });
            }
            for (i, r) in ours.iter().enumerate() {
                row.push(match r {
                    Some(r) => {
                        columns[2 + i].push(r.point);
                        if r.interval.is_some_and(|(lo, _)| lo > 1.0) {
                            beyond_noise[i] += 1;
                        }
                        r.cell()
                    }
                    None => Cell::default(),
                });
            }
            table.rows.push(row);
        }
        if columns.iter().all(Vec::is_empty) {
            continue;
        }
        let [tf2, tf1, pytorch, tch] = &columns;
        let mut then = Vec::new();
        if !tf2.is_empty() {
            then.push(said(tf2, "TensorFlow 2.5's time", None));
        }
        if !tf1.is_empty() {
            then.push(said(tf1, "TensorFlow 1.15's", None));
        }
        let mut now = Vec::new();
        if !pytorch.is_empty() {
            now.push(format!(
                "pytorch took {}",
                said(pytorch, "tensorflow's time", Some(beyond_noise[0]))
            ));
        }
        if !tch.is_empty() {
            now.push(format!(
                "tch {}",
                said(tch, "tensorflow's", Some(beyond_noise[1]))
            ));
        }
        let then = if then.is_empty() {
            "the study published no time for these configurations".to_string()
        } else {
            format!("PyTorch took {}", then.join(" and "))
        };
        found.push(format!(
            "{title}, geometric means: in the study, {then}; in this run, {}.",
            now.join(", ")
        ));
    }
    if table.rows.is_empty() {
        return None;
    }
    // One table (the usual case: tensorflow runs on the CPU only): the
    // paragraph above names it, a column would repeat it on every row.
    if table
        .rows
        .iter()
        .all(|r| r[0].text == table.rows[0][0].text)
    {
        table.columns.remove(0);
        table.rows.iter_mut().for_each(|r| {
            r.remove(0);
        });
    }
    let here = machines(
        rows.iter()
            .filter(|r| r.record.case.framework == Framework::Tensorflow),
    );
    let mut text = vec![format!(
        "The study this project reproduces (\"TensorFlow vs PyTorch\", 2021: TensorFlow 1.15, TensorFlow 2.5 and PyTorch 1.9 on an NVIDIA GeForce RTX 2060 and an Intel i7-9750H) asked which framework is faster. Its machines are not this run's ({}), so its times are not set against ours; its ratios are: PyTorch's time over TensorFlow's in the same configuration, from the study's published means (`seed-study/`), beside this run's `pytorch` (PyTorch from Python) and `tch` (PyTorch's engine from Rust) over `tensorflow` (TensorFlow's graph mode from Rust, a static graph as TensorFlow 1's). Above 1, TensorFlow was the faster. In brackets the conservative 95% interval of our ratio (the low end of one interval over the high end of the other, and the reverse); `~` an estimate; `- (failed)` a configuration the study's run did not complete.",
        here.join(", ")
    )];
    text.extend(found);
    Some(Section {
        title: "The 2021 study beside this run".into(),
        text,
        table: Some(table),
        ..Section::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identities::Device;
    use crate::report::{test_row, Estimates, Interval};

    #[test]
    fn every_published_line_parses_and_failures_are_no_time() {
        let p = published().unwrap();
        // 7 models x 3 sizes x 4 batches x 3 frameworks, in each of 3 files.
        assert_eq!(p.len(), 3 * 252);
        let failed: Vec<&Published> = p.iter().filter(|p| p.seconds.is_none()).collect();
        assert_eq!(failed.len(), 72);
        assert!(failed.iter().all(|p| p.phase == Phase::Train));
        assert!(p.iter().filter_map(|p| p.seconds).all(|s| s > 0.0));
        // The first line of inference_cpu.csv.
        assert!(p.contains(&Published {
            framework: Then::Tf1,
            model: "resnet18".into(),
            size: 128,
            batch: 1,
            device: "cpu",
            phase: Phase::Inference,
            seconds: Some(0.008672776222229),
        }));
        assert!(parse("0;tf3;resnet18;(128, 128, 3);1;train;0;0.1;1").is_err());
        assert!(parse("0;tf1;resnet18;(128, 128, 3);1;train;0;0.1").is_err());
    }

    /// A criterion-measured CPU inference row of `model` at 128, batch 1.
    fn cpu(f: Framework, model: &str, low: f64, mean: f64, high: f64) -> Row {
        let mut r = test_row(f, 1, mean, crate::record::code(f));
        r.record.group.device = Device::Cpu;
        r.record.group.phase = Phase::Inference;
        r.record.group.model = model.into();
        r.record.case.size = 128;
        r.record.estimate = None;
        let i = Interval {
            point: mean,
            low,
            high,
        };
        r.estimates = Some(Estimates { mean: i, median: i });
        r
    }

    #[test]
    fn the_studys_ratio_beside_ours_where_tensorflow_ran() {
        let rows = [
            cpu(Framework::Tensorflow, "resnet18", 9.0, 10.0, 11.0),
            cpu(Framework::Pytorch, "resnet18", 14.0, 15.0, 16.0),
            cpu(Framework::Tch, "resnet18", 9.5, 10.0, 10.5),
            // Not in the study's grid: left out.
            cpu(Framework::Tensorflow, "densenet121", 9.0, 10.0, 11.0),
            cpu(Framework::Pytorch, "densenet121", 9.0, 10.0, 11.0),
        ];
        let s = study(&rows).unwrap();
        let cells = s.table.unwrap().markdown_rows();
        // seed-study/inference_cpu.csv, resnet18 at 128, batch 1: tf1
        // 0.008672776222229 s, tf2 0.0107517790794372 s, pytorch
        // 0.0075066590309143 s.
        let (tf1, tf2, pytorch) = (0.008672776222229, 0.0107517790794372, 0.0075066590309143);
        assert_eq!(
            cells,
            [[
                "resnet18".to_string(),
                "128".into(),
                "1".into(),
                format!("{:.2}", pytorch / tf2),
                format!("{:.2}", pytorch / tf1),
                "1.50 (1.27-1.78)".into(),
                "1.00 (0.86-1.17)".into(),
            ]]
        );
        assert_eq!(
            s.text.last().unwrap(),
            &format!(
                "Inference step time, CPU, geometric means: in the study, PyTorch took \
                 {:.2}x TensorFlow 2.5's time (longer in 0 of 1) and {:.2}x TensorFlow \
                 1.15's (longer in 0 of 1); in this run, pytorch took 1.50x tensorflow's \
                 time (longer in 1 of 1, beyond noise in 1), tch 1.00x tensorflow's \
                 (longer in 0 of 1, beyond noise in 0).",
                pytorch / tf2,
                pytorch / tf1
            )
        );
        // Without tensorflow there is nothing to set beside the study.
        assert!(study(&rows[1..3]).is_none());
    }
}
