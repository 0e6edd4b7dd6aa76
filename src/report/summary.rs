//! The report's first section: per time table and per phase of GPU
//! memory, each framework against the table's first framework (tch where it
//! ran), and how often it was the best (the fastest, or the least memory):
//! the study's "which framework is fastest", and its memory table, at a
//! glance, computed from the same rows as the tables.

use super::document::{Cell, Section, Table, OLDER};
use super::{by_configuration, frameworks_of, geometric_mean, timed, Configuration, Row, SECTIONS};
use crate::contention::MARK;
use crate::identities::{Framework, Phase};
use std::collections::BTreeMap;

/// The summary of `rows`' time tables and GPU memory; `None` when no table
/// has two frameworks to compare.
pub(super) fn summary(rows: &[Row]) -> Option<Section> {
    // Only a report with figures of older step code has the column of
    // this build's alone: elsewhere it would repeat the ratio.
    let any_older = rows.iter().any(Row::older_step_code);
    let mut columns = vec![
        "table",
        "framework",
        "configurations",
        "over the reference (geometric mean)",
        "range",
        "best in",
    ];
    if any_older {
        columns.push(THIS_BUILD);
    }
    let mut table = Table {
        columns: columns.iter().map(|s| s.to_string()).collect(),
        rows: vec![],
    };
    // The time tables come first (one per section, empty or not), then
    // GPU memory, which other work does not slow.
    for (i, (title, mine, value)) in compared(rows).into_iter().enumerate() {
        let time = i < SECTIONS.len();
        compare(&mut table, &title, &mine, value, any_older, time);
    }
    let mut text = vec!["Per table, each framework's step time (for GPU memory: NVML's figure for the process after the measurement) over the reference's (the table's first framework), as the geometric mean and range of the ratio over the configurations both measured (one alone: no range); and in how many of the configurations it shares with another framework it was the best (the fastest, or the least memory). Estimates (`~`) count as measured, and so do figures of older step code and times measured beside other work (how many in brackets: `†`, `‡`); a failure counts in neither.".to_string()];
    if any_older {
        text.push(format!("**{THIS_BUILD}**: the same ratio over the configurations where both figures were measured with this report's step code (in brackets the range and how many configurations; `-`: none), what the frameworks run now."));
    }
    (!table.rows.is_empty()).then(|| Section {
        title: "Summary".into(),
        text,
        table: Some(table),
        ..Section::default()
    })
}

/// The column of the ratios over figures of this build's step code alone.
const THIS_BUILD: &str = "this build's step code only";

/// The value a table compares: a row's mean step time, or its GPU memory.
pub(super) type Value = fn(&Row) -> Option<f64>;

/// The tables the summaries compare frameworks in: the time tables, then
/// GPU memory per phase (measured benchmarks with the figure: a framework
/// with none, a CPU run or failures only, has no row); each with its title,
/// its rows and the value compared.
pub(super) fn compared(rows: &[Row]) -> Vec<(String, Vec<&Row>, Value)> {
    let mut out: Vec<(String, Vec<&Row>, Value)> = SECTIONS
        .iter()
        .map(|&(device, phase, title)| {
            (
                title.to_string(),
                timed(rows, device, phase),
                Row::mean as Value,
            )
        })
        .collect();
    for phase in [Phase::Train, Phase::Inference] {
        let gpu: Vec<&Row> = rows
            .iter()
            .filter(|r| r.record.group.device.is_gpu() && r.record.group.phase == phase)
            .filter(|r| nvml_process_mib(r).is_some())
            .collect();
        let title = format!("GPU memory (NVML, process), {phase}");
        out.push((title, gpu, nvml_process_mib as Value));
    }
    out
}

/// Each configuration's values in `mine`, by framework (failures have none).
pub(super) fn values(
    mine: &[&Row],
    value: Value,
) -> BTreeMap<Configuration, BTreeMap<Framework, f64>> {
    by_configuration(mine, |r| r.record.case.framework)
        .into_iter()
        .map(|(k, cells)| {
            let v = cells
                .into_iter()
                .filter_map(|(f, r)| Some((f, value(r)?)))
                .collect();
            (k, v)
        })
        .collect()
}

/// `f`'s value over `reference`'s in each configuration both have.
pub(super) fn ratios<'a>(
    configs: impl Iterator<Item = &'a BTreeMap<Framework, f64>>,
    f: Framework,
    reference: Framework,
) -> Vec<f64> {
    configs
        .filter_map(|c| Some(c.get(&f)? / c.get(&reference)?))
        .collect()
}

/// The geometric mean of `ratios` and their range, as the summaries write
/// them (`1.26`, `1.13-1.57`); one ratio alone has no range (empty).
pub(super) fn mean_and_range(ratios: &[f64]) -> (String, String) {
    let geo = geometric_mean(ratios);
    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().copied().fold(0.0, f64::max);
    let range = match ratios.len() {
        0 | 1 => String::new(),
        _ => format!("{lo:.2}-{hi:.2}"),
    };
    (format!("{geo:.2}"), range)
}

/// NVML's memory for the process after a measured benchmark, in MiB.
fn nvml_process_mib(r: &Row) -> Option<f64> {
    r.memory()?.nvml_process_mib.mib()
}

/// `mine` less its figures of older step code than this build's.
pub(super) fn this_build<'a>(mine: &[&'a Row]) -> Vec<&'a Row> {
    mine.iter()
        .copied()
        .filter(|r| !r.older_step_code())
        .collect()
}

/// The ratios of one framework over the reference as a cell: the
/// geometric mean, and in brackets the range and how many (one alone: no
/// range); for the reference itself `1.00 (tch, n)`; empty when none.
pub(super) fn ratio_cell(ratios: &[f64], f: Framework, reference: Framework) -> Cell {
    if ratios.is_empty() {
        Cell::number("")
    } else if f == reference {
        Cell {
            bracket: Some(format!("{reference}, {}", ratios.len())),
            ..Cell::number("1.00")
        }
    } else {
        let (mean, range) = mean_and_range(ratios);
        Cell {
            bracket: Some(match ratios.len() {
                1 => "1".into(),
                n => format!("{range}, {n}"),
            }),
            ..Cell::number(mean)
        }
    }
}

/// One table's rows of the summary: each framework's `value` over the
/// reference's (the first framework's), per configuration; with
/// `this_build_too`, also over figures of this build's step code alone;
/// for a `time` table, how many figures other work may have slowed too.
fn compare(
    table: &mut Table,
    title: &str,
    mine: &[&Row],
    value: Value,
    this_build_too: bool,
    time: bool,
) {
    let frameworks = frameworks_of(mine);
    let Some(&reference) = frameworks.first().filter(|_| frameworks.len() > 1) else {
        return;
    };
    let configs: Vec<BTreeMap<Framework, f64>> = values(mine, value).into_values().collect();
    let current = values(&this_build(mine), value);
    let count = |f: Framework, marked: fn(&Row) -> bool| {
        mine.iter()
            .filter(|r| r.record.case.framework == f && value(r).is_some())
            .filter(|r| marked(r))
            .count()
    };
    for &f in &frameworks {
        let measured: Vec<&BTreeMap<Framework, f64>> =
            configs.iter().filter(|c| c.contains_key(&f)).collect();
        let all = ratios(measured.iter().copied(), f, reference);
        let shared: Vec<_> = measured.iter().filter(|c| c.len() > 1).collect();
        let best = shared
            .iter()
            .filter(|c| c.values().all(|&other| c[&f] <= other))
            .count();
        let (ratio, range) = if f == reference {
            (format!("1.00 ({reference})"), String::new())
        } else if all.is_empty() {
            (String::from("-"), String::new())
        } else {
            mean_and_range(&all)
        };
        let busy = if time {
            count(f, Row::beside_other_work)
        } else {
            0
        };
        let marks: Vec<String> = [(count(f, Row::older_step_code), OLDER), (busy, MARK)]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, sign)| format!("{n} {sign}"))
            .collect();
        let mut row = vec![
            Cell::label(title),
            Cell::label(f),
            Cell {
                bracket: (!marks.is_empty()).then(|| marks.join(", ")),
                ..Cell::number(measured.len())
            },
            Cell::number(ratio),
            Cell::number(range),
            Cell::number(format!("{best} of {}", shared.len())),
        ];
        if this_build_too {
            let r = ratios(current.values(), f, reference);
            let cell = ratio_cell(&r, f, reference);
            row.push(match cell.text.is_empty() {
                true => Cell::number("-"),
                false => cell,
            });
        }
        table.rows.push(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_row;

    #[test]
    fn each_framework_against_the_first_and_how_often_it_was_fastest() {
        // Measured with this build's step code unless `older`.
        let at = |f: Framework, batch: usize, ms: f64, older: bool| {
            let code = if older {
                "0123456789abcdef"
            } else {
                crate::record::code(f)
            };
            test_row(f, batch, ms * 1e6, code)
        };
        let rows = [
            at(Framework::Tch, 1, 1.0, false),
            at(Framework::Candle, 1, 2.0, false),
            at(Framework::Tch, 8, 4.0, false),
            at(Framework::Candle, 8, 16.0, true),
            at(Framework::TchJit, 8, 2.0, false),
            // Alone in its configuration: counted, but neither compared
            // nor fastest.
            at(Framework::Candle, 16, 1.0, false),
            // Older step code only: no ratio of this build's.
            at(Framework::Tract, 8, 3.0, true),
        ];
        let s = summary(&rows).unwrap();
        let cells = s.table.unwrap().markdown_rows();
        let t = "Train step time, GPU";
        assert_eq!(
            cells,
            [
                [t, "tch", "2", "1.00 (tch)", "", "1 of 2", "1.00 (tch, 2)"],
                // One configuration: no range.
                [t, "tch-jit", "1", "0.50", "", "1 of 1", "0.50 (1)"],
                // This build's alone: batch 1 only (batch 8's is older).
                [
                    t,
                    "candle",
                    "3 (1 †)",
                    "2.83",
                    "2.00-4.00",
                    "0 of 2",
                    "2.00 (1)"
                ],
                [t, "tract", "1 (1 †)", "0.75", "", "0 of 1", "-"],
            ]
        );
        // Without figures of older step code there is no such column.
        let current = summary(&rows[..3]).unwrap();
        assert_eq!(current.table.unwrap().columns.len(), 6);
        assert!(
            summary(&rows[..1]).is_none(),
            "one framework: nothing to compare"
        );
    }

    #[test]
    fn gpu_memory_against_the_first_framework_and_how_often_it_was_least() {
        use crate::memory::{MemoryRecord, Reading};
        let at = |f: Framework, batch: usize, mib: Option<f64>| {
            let mut r = test_row(f, batch, 1e6, crate::record::code(f));
            let none = || Reading::Unavailable("test".into());
            r.record.memory = Some(MemoryRecord {
                nvml_process_mib: mib.map_or_else(none, Reading::Mib),
                nvml_peak_mib: none(),
                device_used_mib: none(),
                allocator_peak_mib: none(),
                peak_rss_mib: none(),
                sampled: Default::default(),
            });
            r
        };
        let rows = [
            at(Framework::Tch, 1, Some(1000.0)),
            at(Framework::Candle, 1, Some(500.0)),
            at(Framework::Tch, 8, Some(2000.0)),
            at(Framework::Candle, 8, Some(4000.0)),
            // No reading: neither counted nor compared.
            at(Framework::Tch, 16, None),
            at(Framework::Candle, 16, Some(1.0)),
        ];
        let cells = summary(&rows).unwrap().table.unwrap().markdown_rows();
        let t = "GPU memory (NVML, process), train";
        assert_eq!(
            cells[2..],
            [
                [t, "tch", "2", "1.00 (tch)", "", "1 of 2"],
                [t, "candle", "3", "1.00", "0.50-2.00", "1 of 2"],
            ]
        );
    }

    #[test]
    fn times_measured_beside_other_work_are_counted_but_not_memory() {
        use crate::contention::OtherWork;
        use crate::memory::{MemoryRecord, Reading};
        let at = |f: Framework, batch: usize, other_cores: f64| {
            let mut r = test_row(f, batch, 1e6, crate::record::code(f));
            let none = || Reading::Unavailable("test".into());
            r.record.memory = Some(MemoryRecord {
                nvml_process_mib: Reading::Mib(1000.0),
                nvml_peak_mib: none(),
                device_used_mib: none(),
                allocator_peak_mib: none(),
                peak_rss_mib: none(),
                sampled: Default::default(),
            });
            r.record.other_work = Some(OtherWork {
                cpus: 2,
                other_cores,
                steal_cores: 0.0,
                gpu_processes: Some(vec![]),
            });
            r
        };
        let rows = [
            at(Framework::Tch, 1, 0.01),
            at(Framework::Candle, 1, 0.9),
            at(Framework::Tch, 8, 0.2),
            at(Framework::Candle, 8, 0.3),
        ];
        let cells = summary(&rows).unwrap().table.unwrap().markdown_rows();
        let (time, memory) = ("Train step time, GPU", "GPU memory (NVML, process), train");
        let counted: Vec<[&str; 3]> = cells
            .iter()
            .map(|c| [c[0].as_str(), c[1].as_str(), c[2].as_str()])
            .collect();
        assert_eq!(
            counted,
            [
                [time, "tch", "2"],
                [time, "candle", "2 (2 ‡)"],
                [memory, "tch", "2"],
                [memory, "candle", "2"],
            ]
        );
    }
}
