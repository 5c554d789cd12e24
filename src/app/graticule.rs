//! The lon/lat graticule over the map: meridians and parallels at a round step, traced through
//! the product's pixel grid. Lon/lat is sampled on a coarse grid of base-level pixels (through
//! PROJ, once per product) and each line is found where the sampled field crosses its value, by
//! linear interpolation between neighbouring samples.

/// One graticule line: its label (`12.25°E`) and its points in base-level pixel coordinates
/// (x = column, y = row, pixel edges: 0 … width).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub label: String,
    pub points: Vec<(f32, f32)>,
}

/// A round step (degrees) giving about `target` lines over `span` degrees.
pub fn step_for(span: f64, target: f64) -> f64 {
    const STEPS: [f64; 12] = [
        0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0,
    ];
    let want = span / target;
    STEPS.into_iter().find(|&s| s >= want).unwrap_or(30.0)
}

fn label(v: f64, pos: char, neg: char, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else if step >= 0.1 {
        if (step * 10.0).fract().abs() < 1e-9 {
            1
        } else {
            2
        }
    } else {
        2
    };
    format!(
        "{:.*}°{}",
        decimals,
        v.abs(),
        if v >= 0.0 { pos } else { neg }
    )
}

/// Meridians and parallels of a `width` × `height` pixel grid, from `lonlat(x, y)` (pixel edge
/// coordinates) sampled every `sample` pixels.
pub fn lines(
    width: usize,
    height: usize,
    sample: usize,
    lonlat: &dyn Fn(f64, f64) -> Option<(f64, f64)>,
) -> Vec<Line> {
    let sample = sample.max(1);
    let xs: Vec<f64> = (0..=width.div_ceil(sample))
        .map(|i| ((i * sample).min(width)) as f64)
        .collect();
    let ys: Vec<f64> = (0..=height.div_ceil(sample))
        .map(|j| ((j * sample).min(height)) as f64)
        .collect();
    let mut field: Vec<Vec<Option<(f64, f64)>>> = Vec::with_capacity(ys.len());
    for &y in &ys {
        field.push(xs.iter().map(|&x| lonlat(x, y)).collect());
    }
    let all: Vec<(f64, f64)> = field.iter().flatten().flatten().copied().collect();
    if all.is_empty() {
        return Vec::new();
    }
    let (lo_min, lo_max, la_min, la_max) = all.iter().fold(
        (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ),
        |a, &(lo, la)| (a.0.min(lo), a.1.max(lo), a.2.min(la), a.3.max(la)),
    );
    let step = step_for((lo_max - lo_min).max(la_max - la_min), 5.0);
    // Where the line of value `v` crosses each sample row (meridians: lon along x) or each
    // sample column (parallels: lat along y).
    let trace = |v: f64, meridian: bool| -> Vec<(f32, f32)> {
        let (along, across) = if meridian { (&xs, &ys) } else { (&ys, &xs) };
        let at = |o: usize, n: usize| {
            let p = if meridian { field[o][n] } else { field[n][o] };
            p.map(|(lon, lat)| if meridian { lon } else { lat })
        };
        let mut pts = Vec::new();
        for (o, &q) in across.iter().enumerate() {
            for n in 0..along.len() - 1 {
                if let (Some(a), Some(b)) = (at(o, n), at(o, n + 1))
                    && let Some(t) = crossing(a, b, v)
                {
                    let p = (along[n] + t * (along[n + 1] - along[n])) as f32;
                    let q = q as f32;
                    pts.push(if meridian { (p, q) } else { (q, p) });
                    break;
                }
            }
        }
        pts
    };
    let mut out = Vec::new();
    for (meridian, lo, hi, pos, neg) in [
        (true, lo_min, lo_max, 'E', 'W'),
        (false, la_min, la_max, 'N', 'S'),
    ] {
        let mut k = (lo / step).ceil() as i64;
        while (k as f64) * step <= hi {
            let v = k as f64 * step;
            let points = trace(v, meridian);
            if points.len() >= 2 {
                out.push(Line {
                    label: label(v, pos, neg, step),
                    points,
                });
            }
            k += 1;
        }
    }
    out
}

/// Where between `a` (t = 0) and `b` (t = 1) the value `v` lies, if it does.
fn crossing(a: f64, b: f64, v: f64) -> Option<f64> {
    if a == b {
        return (a == v).then_some(0.0);
    }
    let t = (v - a) / (b - a);
    (0.0..=1.0).contains(&t).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_lines_of_a_linear_grid() {
        assert_eq!(step_for(1.3, 5.0), 0.5);
        assert_eq!(step_for(1.0, 5.0), 0.2);
        // 100 × 100 px: lon 11.0 → 12.0 west to east, lat 42.0 → 41.0 north to south.
        let f = |x: f64, y: f64| Some((11.0 + x / 100.0, 42.0 - y / 100.0));
        let l = lines(100, 100, 10, &f);
        let labels: Vec<&str> = l.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "11.0°E", "11.2°E", "11.4°E", "11.6°E", "11.8°E", "12.0°E", "41.0°N", "41.2°N",
                "41.4°N", "41.6°N", "41.8°N", "42.0°N"
            ]
        );
        // 11.4°E runs down column 40.
        let m = &l[2];
        assert_eq!(m.points.len(), 11);
        assert!(m.points.iter().all(|p| (p.0 - 40.0).abs() < 1e-3));
        // 41.8°N runs along row 20.
        let p = &l[10];
        assert!(p.points.iter().all(|q| (q.1 - 20.0).abs() < 1e-3));
    }
}
