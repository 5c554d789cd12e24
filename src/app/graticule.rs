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
    let mut out = Vec::new();
    // Meridians: along each sample row, where lon crosses k·step.
    let mut k = (lo_min / step).ceil() as i64;
    while (k as f64) * step <= lo_max {
        let v = k as f64 * step;
        let mut pts = Vec::new();
        for (j, row) in field.iter().enumerate() {
            for i in 0..xs.len() - 1 {
                if let (Some(a), Some(b)) = (row[i], row[i + 1])
                    && let Some(t) = crossing(a.0, b.0, v)
                {
                    pts.push(((xs[i] + t * (xs[i + 1] - xs[i])) as f32, ys[j] as f32));
                    break;
                }
            }
        }
        if pts.len() >= 2 {
            out.push(Line {
                label: label(v, 'E', 'W', step),
                points: pts,
            });
        }
        k += 1;
    }
    // Parallels: along each sample column, where lat crosses k·step.
    let mut k = (la_min / step).ceil() as i64;
    while (k as f64) * step <= la_max {
        let v = k as f64 * step;
        let mut pts = Vec::new();
        for (i, &x) in xs.iter().enumerate() {
            for j in 0..ys.len() - 1 {
                if let (Some(a), Some(b)) = (field[j][i], field[j + 1][i])
                    && let Some(t) = crossing(a.1, b.1, v)
                {
                    pts.push((x as f32, (ys[j] + t * (ys[j + 1] - ys[j])) as f32));
                    break;
                }
            }
        }
        if pts.len() >= 2 {
            out.push(Line {
                label: label(v, 'N', 'S', step),
                points: pts,
            });
        }
        k += 1;
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
