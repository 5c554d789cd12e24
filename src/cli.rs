//! The command-line front end (clap). Every failure prints one `error:` line naming the path and
//! the problem and exits with code 1.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

use crate::demo::{DemoOptions, write_demo};
use crate::hierarchy::Hierarchy;
use crate::inspect::inspect;
use crate::product::S2Level;

#[derive(Parser, Debug)]
#[command(
    name = "eopf-geozarr",
    version,
    about = "Inspect ESA EOPF Sentinel-2 products and convert them to GeoZarr",
    long_about = "Inspect ESA EOPF Sentinel-2 products (Zarr v2) and convert them to GeoZarr.\n\
                  Without a command, opens the desktop application on the built-in demo product."
)]
pub struct Cli {
    /// Log more (repeat for debug output).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Level {
    L2a,
    L1c,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Describe a product or GeoZarr output: type, tile, CRS, bboxes, groups, arrays, levels.
    Info {
        /// Path of the Zarr store.
        input_path: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate a GeoZarr store: conventions, required attributes, layout consistency, CRS,
    /// strict JSON. Exit code 1 when there are errors.
    Validate {
        input_path: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the synthetic demo product (EOPF Zarr v2 layout) to OUT.
    Demo {
        /// Output store (must not exist).
        output_path: PathBuf,
        /// Processing level of the built-in layout.
        #[arg(long, value_enum, default_value = "l2a")]
        level: Level,
        /// Use this pydantic-zarr v2 GroupSpec JSON layout instead of the built-in one.
        #[arg(long)]
        layout: Option<PathBuf>,
        /// r10m edge in pixels (10980 = full tile; r20m = N/2, r60m = N/6).
        #[arg(long, default_value_t = 1098)]
        size: u64,
        /// Random seed of the scene.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Write metadata only (no chunks: every array reads as its fill value).
        #[arg(long)]
        empty: bool,
    },
    /// Render the true-colour composite (B04/B03/B02, 2–98 % stretch) of a product to a PNG.
    Preview {
        input_path: PathBuf,
        /// PNG to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Resolution group to render.
        #[arg(long, default_value = "r60m")]
        resolution: String,
    },
    /// Open the desktop application (the demo product when no path is given).
    Gui {
        input_path: Option<PathBuf>,
        /// Do not open a window: write the preview PNG and print the report.
        #[arg(long)]
        headless: bool,
        /// Where the headless run writes its PNG.
        #[arg(long, default_value = "eopf-geozarr-preview.png")]
        png: PathBuf,
    },
}

/// Parse arguments, run, and return the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => gui(None, false, Path::new("eopf-geozarr-preview.png")),
        Some(Command::Gui {
            input_path,
            headless,
            png,
        }) => gui(input_path, headless, &png),
        Some(Command::Info { input_path, json }) => {
            let h = Hierarchy::open(&input_path)?;
            let info = inspect(&h)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                print!("{}", info.to_text());
            }
            Ok(())
        }
        Some(Command::Validate { input_path, json }) => {
            let h = Hierarchy::open(&input_path)?;
            let report = crate::validate::validate(&h);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            if report.is_valid() {
                Ok(())
            } else {
                anyhow::bail!(
                    "{}: {} validation error(s)",
                    input_path.display(),
                    report.errors().count()
                )
            }
        }
        Some(Command::Demo {
            output_path,
            level,
            layout,
            size,
            seed,
            empty,
        }) => {
            let opts = DemoOptions {
                level: match level {
                    Level::L2a => S2Level::L2A,
                    Level::L1c => S2Level::L1C,
                },
                layout,
                size,
                seed,
                empty,
            };
            let report = demo_with_progress(&output_path, &opts)?;
            println!(
                "wrote demo product {} ({} arrays, {} chunks, r10m {}×{})",
                report.path, report.arrays, report.chunks, report.size, report.size
            );
            Ok(())
        }
        Some(Command::Preview {
            input_path,
            output,
            resolution,
        }) => {
            let h = Hierarchy::open(&input_path)?;
            let img = crate::render::true_colour(&h, &resolution)?;
            img.save_png(&output)?;
            println!(
                "wrote {} ({}×{} px, {:.1} % valid pixels)",
                output.display(),
                img.width,
                img.height,
                100.0 * img.valid_fraction()
            );
            Ok(())
        }
    }
}

/// Run the demo writer with a progress bar on a terminal and plain lines otherwise.
pub fn demo_with_progress(
    out: &Path,
    opts: &DemoOptions,
) -> crate::Result<crate::demo::DemoReport> {
    let tty = std::io::stderr().is_terminal();
    let bar = indicatif::ProgressBar::new(0);
    if tty {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} chunks ({eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(format!("writing {}", out.display()));
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let last_decile = std::sync::atomic::AtomicU64::new(0);
    let progress = |done: u64, total: u64| {
        if tty {
            bar.set_length(total);
            bar.set_position(done);
        } else if let Some(decile) = (done * 10).checked_div(total)
            && last_decile.fetch_max(decile, std::sync::atomic::Ordering::Relaxed) < decile
        {
            eprintln!("demo: {}/{} chunks ({} %)", done, total, decile * 10);
        }
    };
    let r = write_demo(out, opts, &progress);
    bar.finish_and_clear();
    r
}

/// The demo product `make run` and `eopf-geozarr` without arguments open, created on first use.
pub fn default_demo_product() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("EOPF_GEOZARR_DEMO_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("eopf-geozarr"))
        })
        .or_else(|| std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache/eopf-geozarr")))
        .unwrap_or_else(|| std::env::temp_dir().join("eopf-geozarr"));
    let opts = DemoOptions::default();
    let path = base.join(format!(
        "demo-l2a-{}-seed{}-v{}.zarr",
        opts.size,
        opts.seed,
        crate::VERSION
    ));
    if !path.exists() {
        std::fs::create_dir_all(&base)
            .with_context(|| format!("{}: cannot create the demo directory", base.display()))?;
        eprintln!("creating the demo product at {} …", path.display());
        demo_with_progress(&path, &opts)?;
    }
    Ok(path)
}

fn gui(input: Option<PathBuf>, headless: bool, png: &Path) -> anyhow::Result<()> {
    let path = match input {
        Some(p) => p,
        None => default_demo_product()?,
    };
    if headless || !crate::app::has_display() {
        if !headless {
            println!("No display found (DISPLAY/WAYLAND_DISPLAY unset): running headless.");
        }
        let loaded = crate::app::load(&path)?;
        loaded.image.save_png(png)?;
        print!("{}", loaded.info.to_text());
        println!(
            "\nHeadless: wrote the true-colour image (B04/B03/B02 at {}, 2–98 % stretch, {}×{} px) to {}",
            loaded.resolution,
            loaded.image.width,
            loaded.image.height,
            png.display()
        );
        return Ok(());
    }
    crate::app::run_window(path)
}
