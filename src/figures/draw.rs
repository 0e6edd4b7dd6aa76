//! Drawing a figure (plotters' SVG backend): the title and legend, then a
//! grid of panels, each with its value axis (linear, or logarithmic for
//! ratios past 10x), a line per series and its marks.

use super::{Figure, Panel, Point, Scale};
use crate::identities::Framework;
use anyhow::{anyhow, Result};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// One colour per framework (the tab10 palette, in `Framework::ALL`'s
/// order), the same in every figure.
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

const WIDTH: u32 = 1200;
const PANEL_HEIGHT: u32 = 300;
/// Above the panels: the title, then the legend's two lines.
const HEADER: u32 = 80;

pub(super) fn colour(f: Framework) -> RGBColor {
    let i = Framework::ALL.iter().position(|x| *x == f).unwrap_or(0);
    COLOURS[i % COLOURS.len()]
}

/// The drawing's failures, named with the file being drawn.
fn drawing_error(path: &Path) -> impl Fn(&dyn std::fmt::Display) -> anyhow::Error + '_ {
    move |e| anyhow!("drawing {}: {e}", path.display())
}

/// Draws `f` into the SVG file `path`.
pub(super) fn draw(f: &Figure, path: &Path) -> Result<()> {
    let err = drawing_error(path);
    let columns = if f.panels.len() > 1 { 2 } else { 1 };
    let rows = f.panels.len().div_ceil(columns).max(1);
    let height = HEADER + PANEL_HEIGHT * rows as u32;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (header, body) = root.split_vertically(HEADER);
    header
        .draw(&Text::new(
            f.title.as_str(),
            (12, 8),
            ("sans-serif", 20).into_font(),
        ))
        .map_err(|e| err(&e))?;
    let axes: Vec<Axis> = f.panels.iter().map(|p| axis(f, p)).collect();
    legend(&header, f, &axes).map_err(|e| err(&e))?;
    let panels = body.split_evenly((rows, columns));
    for ((area, panel), &axis) in panels.iter().zip(&f.panels).zip(&axes) {
        let range = axis.floor..axis.top;
        if axis.log {
            // Labelled at 1, 2 and 5 times a power of ten, light lines at
            // the other integers: given, as plotters' own log key points
            // repeat each power of ten (two "10" labels drawn at one place).
            let (labelled, light) = log_ticks(axis.floor, axis.top);
            let y = range
                .log_scale()
                .with_key_points(labelled)
                .with_light_points(light);
            draw_panel(&root, area, f, panel, y, &axis)
        } else {
            draw_panel(&root, area, f, panel, range, &axis)
        }
        .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// Panel `p`'s value axis in figure `f`.
fn axis(f: &Figure, p: &Panel) -> Axis {
    let (min, max) = p.span();
    Axis::of(f.scale, min, max)
}

/// A panel's value axis: its bottom and top, the height failures are
/// marked at, and whether it is logarithmic.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Axis {
    floor: f64,
    top: f64,
    cross: f64,
    log: bool,
}

impl Axis {
    /// Whether `v` is within the axis (else drawn at its edge).
    fn holds(&self, v: f64) -> bool {
        (self.floor..=self.top).contains(&v)
    }

    /// The axis of a panel whose values run from `min` to `max`: ratios to
    /// the fastest (each at least 1) from just under 1, lower on a tall
    /// panel; ratios either side of 1 from under the least to over the
    /// greatest, 1 always in view; either on a log axis past 10x; MiB
    /// from 0.
    fn of(scale: Scale, min: f64, max: f64) -> Axis {
        let (min, max) = match scale {
            Scale::ToFastest => (1.0, max),
            Scale::Ratio => (min.min(1.0), max.max(1.0)),
            Scale::Mib => (0.0, max),
        };
        if scale != Scale::Mib && max / min > 10.0 {
            let (floor, top) = (min * 0.8, max * 1.3);
            let cross = floor * (top / floor).powf(0.04);
            return Axis {
                floor,
                top,
                cross,
                log: true,
            };
        }
        let (floor, top) = match scale {
            // The fastest (1.0) kept clear of the axis when the panel is
            // tall (up to 10x).
            Scale::ToFastest => {
                let top = (max * 1.08).max(1.2);
                ((1.0 - (top - 1.0) * 0.06).min(0.9), top)
            }
            Scale::Ratio => {
                let pad = ((max - min) * 0.08).max(0.05);
                ((min - pad).max(0.0), max + pad)
            }
            Scale::Mib if max > 0.0 => (0.0, max * 1.1),
            Scale::Mib => (0.0, 1.0),
        };
        Axis {
            floor,
            top,
            cross: floor + (top - floor) * 0.04,
            log: false,
        }
    }
}

/// A series' mark: filled when measured, hollow when an estimate.
fn mark(colour: RGBColor, p: &Point) -> ShapeStyle {
    let c = colour.mix(opacity(p));
    if p.estimate {
        c.stroke_width(2)
    } else {
        c.filled()
    }
}

/// The opacity of a point of older step code.
pub(super) const FADED: f64 = 0.3;

/// A point's opacity: faded when it is a figure of older step code.
fn opacity(p: &Point) -> f64 {
    if p.older {
        FADED
    } else {
        1.0
    }
}

/// The legend, below the title: each series' colour on one line, what
/// the marks and axes mean on the next (a failure's cross, a faded mark
/// and a mark beyond its panel's axis (`axes`) only where the figure has
/// one).
fn legend(
    header: &DrawingArea<SVGBackend, Shift>,
    f: &Figure,
    axes: &[Axis],
) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let grey = RGBColor(90, 90, 90);
    let outline = BLACK.stroke_width(2);
    /// A legend item's key.
    enum Key {
        Circle(ShapeStyle),
        Triangle(ShapeStyle),
        Cross,
        None,
    }
    let series: Vec<(Key, String, RGBColor)> = f
        .series
        .iter()
        .map(|s| {
            let dot = mark(s.colour, &Point::default());
            (Key::Circle(dot), s.name.clone(), BLACK)
        })
        .collect();
    let mut marks = vec![(Key::Circle(outline), "estimate".to_string(), grey)];
    let points = || f.panels.iter().flat_map(|p| p.points.values());
    if points().any(Option::is_none) {
        marks.push((Key::Cross, f.failed.into(), grey));
    }
    let faded = BLACK.mix(FADED).filled();
    if points().flatten().any(|p| p.older) {
        let text = "older step code (\u{2020} in report.md)".into();
        marks.push((Key::Circle(faded), text, grey));
    }
    let beyond = f
        .panels
        .iter()
        .zip(axes)
        .any(|(p, axis)| p.points.values().flatten().any(|v| !axis.holds(v.value)));
    if beyond {
        marks.push((
            Key::Triangle(faded),
            "beyond the axis, at its edge".into(),
            grey,
        ));
    }
    let mut how = "a panel per model; x: input size, batch".to_string();
    if points().flatten().any(|p| p.interval.is_some()) {
        how.push_str("; whiskers: 95% intervals");
    }
    marks.push((Key::None, how, grey));
    for (items, y) in [(series, 40), (marks, 60)] {
        let mut x = 20;
        for (key, text, colour) in items {
            let font = ("sans-serif", 14).into_font().color(&colour);
            match key {
                Key::Circle(style) => header.draw(&Circle::new((x, y), 5, style)),
                Key::Triangle(style) => header.draw(&TriangleMarker::new((x, y), 6, style)),
                Key::Cross => header.draw(&Cross::new((x, y), 5, outline)),
                Key::None => Ok(()),
            }
            .map_err(|x| e(&x))?;
            x += if matches!(key, Key::None) { 0 } else { 10 };
            let (w, _) = header.estimate_text_size(&text, &font).map_err(|x| e(&x))?;
            let style = font.pos(Pos::new(HPos::Left, VPos::Center));
            header
                .draw(&Text::new(text, (x, y), style))
                .map_err(|x| e(&x))?;
            x += w as i32 + 22;
        }
    }
    Ok(())
}

/// One model's panel on `area`, its values on `y` (`axis`'s range).
/// Configurations are at 0, 1, ... with each series' marks dodged a
/// little apart, so that equal values (two failures) stay visible; a line
/// joins a series' points of one input size; a whisker spans a point's
/// interval. Ratios either side of 1 have a line at 1.
fn draw_panel<Y>(
    root: &DrawingArea<SVGBackend, Shift>,
    area: &DrawingArea<SVGBackend, Shift>,
    f: &Figure,
    p: &Panel,
    y: Y,
    axis: &Axis,
) -> Result<(), String>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let Axis {
        floor, top, cross, ..
    } = *axis;
    let n = p.configurations.len();
    let mut chart = ChartBuilder::on(area)
        .caption(&p.model, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(38)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, y)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(6)
        // (A log axis's light lines are log_ticks's, whatever the count.)
        .y_max_light_lines(1)
        .y_label_formatter(&|v: &f64| tick_label(*v))
        .y_desc(f.y_label.as_str())
        .draw()
        .map_err(|x| e(&x))?;
    let at = |k: usize, s: usize| {
        let spread = f.series.len().saturating_sub(1) as f64;
        k as f64 + (s as f64 - spread / 2.0) * 0.07
    };
    if f.scale == Scale::Ratio {
        let one = PathElement::new(vec![(-0.5, 1.0), (n as f64 - 0.5, 1.0)], BLACK.mix(0.5));
        chart.draw_series(std::iter::once(one)).map_err(|x| e(&x))?;
    }
    // The configurations' labels, under the axis: each batch, and each
    // input size under its batches, which a faint line sets apart.
    let small = ("sans-serif", 12).into_font();
    let centred = |font: &FontDesc<'static>| {
        font.clone()
            .into_text_style(root)
            .pos(Pos::new(HPos::Center, VPos::Top))
    };
    let mut k = 0;
    while k < n {
        let size = p.configurations[k].0;
        let end = k + p.configurations[k..]
            .iter()
            .take_while(|c| c.0 == size)
            .count();
        for (i, (_, batch)) in p.configurations[k..end].iter().enumerate() {
            let (px, py) = chart.backend_coord(&((k + i) as f64, floor));
            root.draw(&Text::new(batch.to_string(), (px, py + 4), centred(&small)))
                .map_err(|x| e(&x))?;
        }
        let middle = (k + end - 1) as f64 / 2.0;
        let (px, py) = chart.backend_coord(&(middle, floor));
        root.draw(&Text::new(
            format!("{size} px"),
            (px, py + 19),
            centred(&small),
        ))
        .map_err(|x| e(&x))?;
        if k > 0 {
            let x = k as f64 - 0.5;
            let line = PathElement::new(vec![(x, floor), (x, top)], BLACK.mix(0.25));
            chart
                .draw_series(std::iter::once(line))
                .map_err(|x| e(&x))?;
        }
        k = end;
    }
    // A value beyond the axis (only older step code's can be: `Panel::span`)
    // is drawn at its edge.
    let fit = |v: f64| v.clamp(floor, top);
    for (i, series) in f.series.iter().enumerate() {
        let point = |k: usize| p.points.get(&(i, p.configurations[k]));
        let runs = p.lines(i).into_iter().map(|run| {
            run.into_iter()
                .map(|(k, v)| (at(k, i), fit(v)))
                .collect::<Vec<_>>()
        });
        let style = series.colour.stroke_width(2);
        for run in runs {
            chart
                .draw_series(LineSeries::new(run, style))
                .map_err(|x| e(&x))?;
        }
        for k in 0..n {
            match point(k) {
                Some(Some(v)) => {
                    // The whisker first, so that the mark covers its middle.
                    if let Some((low, high)) = v.interval {
                        let whisker = PathElement::new(
                            vec![(at(k, i), fit(low)), (at(k, i), fit(high))],
                            series.colour.mix(0.7 * opacity(v)).stroke_width(1),
                        );
                        chart
                            .draw_series(std::iter::once(whisker))
                            .map_err(|x| e(&x))?;
                    }
                    let (x, y) = (at(k, i), fit(v.value));
                    let style = mark(series.colour, v);
                    if axis.holds(v.value) {
                        chart.draw_series(std::iter::once(Circle::new((x, y), 4, style)))
                    } else {
                        chart.draw_series(std::iter::once(TriangleMarker::new((x, y), 6, style)))
                    }
                    .map(|_| ())
                }
                Some(None) => chart
                    .draw_series(std::iter::once(Cross::new(
                        (at(k, i), cross),
                        4,
                        series.colour.stroke_width(2),
                    )))
                    .map(|_| ()),
                None => Ok(()),
            }
            .map_err(|x| e(&x))?;
        }
    }
    Ok(())
}

/// A logarithmic axis's ticks from `floor` to `top`: 1, 2 and 5 times each
/// power of ten (labelled), and the other integer multiples (light lines).
fn log_ticks(floor: f64, top: f64) -> (Vec<f64>, Vec<f64>) {
    let (mut labelled, mut light) = (Vec::new(), Vec::new());
    let mut power = 10f64.powf(floor.log10().floor());
    while power <= top {
        for lead in 1..10 {
            // Rounded, so that 0.1 x 3 is 0.3, not 0.30000000000000004.
            let v = (power * lead as f64 * 1e6).round() / 1e6;
            if v < floor || v > top {
                continue;
            }
            match lead {
                1 | 2 | 5 => labelled.push(v),
                _ => light.push(v),
            }
        }
        power *= 10.0;
    }
    (labelled, light)
}

/// An axis's tick: at most three decimals, no trailing zeros (`0.6`,
/// not the float sum `0.6000000000000001`).
fn tick_label(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ratios to the fastest start just under 1 (every framework's is at
    /// least 1), past 10x on a log axis; ratios either side of 1 keep 1 in
    /// view; memory from 0.
    #[test]
    fn axes_fit_their_values() {
        let of = |max| Axis::of(Scale::ToFastest, 1.0, max);
        let ratio = of(1.5);
        assert!(!ratio.log && ratio.floor == 0.9 && ratio.top > 1.5);
        assert_eq!(of(1.01).top, 1.2, "a flat panel is not magnified");
        let tall = of(7.7);
        assert!(!tall.log && (1.0 - tall.floor) / (tall.top - tall.floor) > 0.04);
        let spread = of(42.0);
        assert!(spread.log && spread.floor < 1.0 && spread.top > 42.0);
        assert!(spread.floor < spread.cross && spread.cross < 1.0);
        let both = Axis::of(Scale::Ratio, 0.6, 1.4);
        assert!(!both.log && both.floor < 0.6 && both.floor > 0.5 && both.top > 1.4);
        let above = Axis::of(Scale::Ratio, 1.2, 1.9);
        assert!(above.floor < 1.0 && above.top > 1.9, "1 in view: {above:?}");
        let below = Axis::of(Scale::Ratio, 0.05, 0.9);
        assert!(below.log && below.floor < 0.05 && below.top > 1.0);
        let mib = Axis::of(Scale::Mib, 0.0, 2000.0);
        assert!(!mib.log && mib.floor == 0.0 && mib.top > 2000.0);
        assert!(
            !Axis::of(Scale::Mib, 10.0, 2000.0 * 40.0).log,
            "MiB stay linear"
        );
    }

    #[test]
    fn ticks_are_short() {
        let ticks = [0.6000000000000001, 1.5999999999999999, 0.0, 2000.0, 0.25];
        let labels = ticks.map(super::tick_label);
        assert_eq!(labels, ["0.6", "1.6", "0", "2000", "0.25"]);
        let (labelled, light) = log_ticks(0.8, 42.0);
        assert_eq!(labelled, [1.0, 2.0, 5.0, 10.0, 20.0]);
        assert_eq!(light[..3], [0.8, 0.9, 3.0]);
        assert_eq!(light[light.len() - 2..], [30.0, 40.0]);
    }
}
