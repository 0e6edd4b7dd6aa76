//! The summary per model: the summary's ratios (each framework over the
//! table's first) split by model, as one model can hold a framework's
//! whole lead or lag (tch-jit's train step on an H200: 1.04x tch's on
//! vgg16, 1.50x on efficientnetb4).

use super::document::{Cell, Section, Table};
use super::summary::{compared, ratio_cell, ratios, this_build, values};
use super::{frameworks_of, unique, Configuration, Row};
use crate::identities::Framework;
use std::collections::BTreeMap;

/// Per table and model, each framework over the table's reference; `None`
/// when no table has two frameworks or every table has a single model
/// (the summary says it all then), or no model has a ratio.
pub(super) fn by_model(rows: &[Row]) -> Option<Section> {
    let tables: Vec<_> = compared(rows)
        .into_iter()
        .filter(|(_, mine, _)| frameworks_of(mine).len() > 1)
        .collect();
    let models = |mine: &[&Row]| unique(mine.iter().map(|r| r.record.group.model.clone()));
    if tables.iter().all(|(_, mine, _)| models(mine).len() < 2) {
        return None;
    }
    let frameworks: Vec<Framework> =
        unique(tables.iter().flat_map(|(_, mine, _)| frameworks_of(mine)));
    let mut table = Table {
        columns: ["table", "model"]
            .into_iter()
            .map(String::from)
            .chain(frameworks.iter().map(|f| f.to_string()))
            .collect(),
        rows: vec![],
    };
    for (title, mine, value) in &tables {
        let reference = frameworks_of(mine)[0];
        let configs = values(mine, *value);
        let current = values(&this_build(mine), *value);
        for model in models(mine) {
            let all = of_model(&configs, &model);
            let now = of_model(&current, &model);
            let mut row = vec![Cell::label(title), Cell::label(&model)];
            let mut compared = false;
            for &f in &frameworks {
                let r = ratios(all.iter().copied(), f, reference);
                compared |= f != reference && !r.is_empty();
                let mut cell = ratio_cell(&r, f, reference);
                // Ratios with a figure of older step code on either side.
                let older = r.len() - ratios(now.iter().copied(), f, reference).len();
                if older > 0 {
                    cell.bracket = cell.bracket.map(|b| format!("{b}, {older} †"));
                }
                row.push(cell);
            }
            // A model no two frameworks both measured has nothing to say.
            if compared {
                table.rows.push(row);
            }
        }
    }
    if table.rows.is_empty() {
        return None;
    }
    // A framework no model shares with the reference has no column.
    let kept: Vec<bool> = (0..table.columns.len())
        .map(|i| i < 2 || table.rows.iter().any(|r| !r[i].text.is_empty()))
        .collect();
    keep(&mut table.columns, &kept);
    for row in &mut table.rows {
        keep(row, &kept);
    }
    Some(Section {
        title: "Summary by model".into(),
        text: vec!["Per table and model, each framework's step time (for GPU memory: NVML's figure for the process) over the table's reference (its first framework, as in the summary), as the geometric mean over the configurations both measured; in brackets the range and how many configurations (one alone: no range). Estimates and figures of older step code count, as in the summary (`n †`: how many of the ratios have one on either side); an empty cell: no configuration of that model measured by both.".into()],
        table: Some(table),
        ..Section::default()
    })
}

/// `cells` less those whose place in `kept` is false (`retain` visits them
/// in order).
fn keep<T>(cells: &mut Vec<T>, kept: &[bool]) {
    let mut k = kept.iter();
    cells.retain(|_| *k.next().unwrap_or(&true));
}

/// The summary by model over the figures of this build's step code alone
/// (what the frameworks run now); `None` where `rows` has no figure of
/// older step code (the summary by model says it all then).
pub(super) fn by_model_this_build(rows: &[Row]) -> Option<Section> {
    if !rows.iter().any(Row::older_step_code) {
        return None;
    }
    let current: Vec<Row> = rows
        .iter()
        .filter(|r| !r.older_step_code())
        .cloned()
        .collect();
    let section = by_model(&current)?;
    Some(Section {
        title: "Summary by model, this build's step code only".into(),
        text: vec!["The summary by model over the configurations where both figures were measured with this report's step code: what the frameworks run now.".into()],
        ..section
    })
}

/// The configurations of `model` among `configs`, their values by framework.
fn of_model<'a>(
    configs: &'a BTreeMap<Configuration, BTreeMap<Framework, f64>>,
    model: &str,
) -> Vec<&'a BTreeMap<Framework, f64>> {
    configs
        .iter()
        .filter(|((m, _, _), _)| m == model)
        .map(|(_, v)| v)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_row;

    #[test]
    fn each_framework_over_the_first_per_model() {
        let at = |f: Framework, model: &str, batch: usize, ms: f64| {
            let mut r = test_row(f, batch, ms * 1e6, crate::record::code(f));
            r.record.group.model = model.into();
            r
        };
        let rows = [
            at(Framework::Tch, "resnet18", 1, 1.0),
            at(Framework::TchJit, "resnet18", 1, 1.0),
            at(Framework::Tch, "resnet18", 8, 2.0),
            at(Framework::TchJit, "resnet18", 8, 8.0),
            at(Framework::Tch, "vgg16", 1, 4.0),
            at(Framework::TchJit, "vgg16", 1, 2.0),
            // Not compared: tch did not run vgg16 at batch 8.
            at(Framework::TchJit, "vgg16", 8, 1.0),
            at(Framework::Candle, "vgg16", 8, 1.0),
        ];
        let s = by_model(&rows).unwrap();
        let cells = s.table.unwrap().markdown_rows();
        let t = "Train step time, GPU";
        // candle shares no configuration with tch: no column.
        assert_eq!(
            cells,
            [
                [t, "resnet18", "1.00 (tch, 2)", "2.00 (1.00-4.00, 2)"],
                [t, "vgg16", "1.00 (tch, 1)", "0.50 (1)"],
            ]
        );
        // A figure of older step code on either side of a ratio: counted.
        let mut older = rows.clone();
        older[3].record.settings.as_mut().unwrap().code = "0123456789abcdef".into();
        older[4].record.settings.as_mut().unwrap().code = "0123456789abcdef".into();
        let cells = by_model(&older).unwrap().table.unwrap().markdown_rows();
        assert_eq!(
            cells,
            [
                [t, "resnet18", "1.00 (tch, 2)", "2.00 (1.00-4.00, 2, 1 †)"],
                [t, "vgg16", "1.00 (tch, 1, 1 †)", "0.50 (1, 1 †)"],
            ]
        );
        // This build's alone: tch-jit over tch on resnet18 at batch 1; vgg16,
        // which no two frameworks measured with it, has no row.
        let s = by_model_this_build(&older).unwrap();
        assert_eq!(
            s.table.unwrap().markdown_rows(),
            // candle, compared in no model, has no column.
            [[t, "resnet18", "1.00 (tch, 2)", "1.00 (1)"]]
        );
        // tch-jit's figures all older: tch's alone compare with nothing.
        older[1].record.settings.as_mut().unwrap().code = "0123456789abcdef".into();
        older[6].record.settings.as_mut().unwrap().code = "0123456789abcdef".into();
        assert!(by_model_this_build(&older).is_none());
        // One model: the summary says it all.
        assert!(by_model(&rows[..4]).is_none());
        // No figure of older step code: no section of this build's alone.
        assert!(by_model_this_build(&rows).is_none());
    }
}
