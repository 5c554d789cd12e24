//! The command-line front end (clap). Every failure prints one `error:` line naming the path and
//! the problem and exits with code 1.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::storage::Location;

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
    long_about = "Inspect ESA EOPF Sentinel-2 products (Zarr v3 since N0512, Zarr v2 before) and convert them to GeoZarr.\n\
                  Without a command, opens the desktop application on the built-in demo product."
)]
pub struct Cli {
    /// Log more (repeat for debug output).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// S3 endpoint URL (default: $AWS_ENDPOINT_URL, else AWS), e.g. http://127.0.0.1:9000.
    #[arg(long, global = true, value_name = "URL")]
    s3_endpoint: Option<String>,
    /// S3 region (default: $AWS_DEFAULT_REGION, else us-east-1).
    #[arg(long, global = true, value_name = "REGION")]
    s3_region: Option<String>,
    /// Unsigned S3 requests (public buckets); credentials are not used.
    #[arg(long, global = true)]
    s3_anonymous: bool,
    /// Retries of a failed object-storage request (exponential backoff) and attempts per
    /// chunk/shard write.
    #[arg(long, global = true, default_value_t = 3)]
    max_retries: u32,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Level {
    L2a,
    L1c,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ProfileArg {
    /// The published GeoZarr conventions with the fixes of src/profile.rs.
    Geozarr,
    /// eopf-geozarr 0.10.1's structure and metadata.
    Reference,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CodecArg {
    /// zstd, except Blosc zstd with byte shuffle for the packed uint16 reflectance of
    /// --keep-scale-offset (smaller there at the same speed: README "Performance")
    Auto,
    /// zstd for every data array
    Zstd,
    /// Blosc zstd with byte shuffle (what the reference writes)
    BloscZstd,
    /// Blosc zstd with bit-shuffle
    BloscZstdBitshuffle,
}

/// `--shard-size`'s default.
const DEFAULT_SHARD_SIZE: &str = "4096";
/// `--compression-level`'s default.
const DEFAULT_LEVEL: u8 = 3;

/// Options shared by `convert` and `convert-s2-optimized`.
#[derive(clap::Args, Debug)]
struct ConvertArgs {
    /// Output profile.
    #[arg(long, value_enum, default_value = "geozarr")]
    profile: ProfileArg,
    /// Write sharded arrays (`sharding_indexed`, crc32c index at the end).
    #[arg(long)]
    enable_sharding: bool,
    /// Shard edge in pixels, or `full` for whole-array shards (geozarr profile).
    #[arg(long, default_value = DEFAULT_SHARD_SIZE)]
    shard_size: String,
    /// Compression codec of data arrays (geozarr profile; the reference profile writes blosc-zstd).
    #[arg(long, value_enum, default_value = "auto")]
    codec: CodecArg,
    /// Compression level (honoured by the geozarr profile; the reference profile writes 3).
    #[arg(long, default_value_t = DEFAULT_LEVEL, value_parser = clap::value_parser!(u8).range(1..=9))]
    compression_level: u8,
    /// Do not validate the output after writing.
    #[arg(long)]
    skip_validation: bool,
    /// Replace an existing output.
    #[arg(long, conflicts_with = "resume")]
    overwrite: bool,
    /// Finish an interrupted conversion (same input and options): completed arrays are kept.
    #[arg(long)]
    resume: bool,
    /// Store reflectance as the source's packed uint16 with scale_factor/add_offset attributes.
    #[arg(long)]
    keep_scale_offset: bool,
    /// The reference's experimental scale_offset + cast_value codec chain (not supported here).
    #[arg(long)]
    experimental_scale_offset_codec: bool,
    /// Where the pyramid kernels run: auto = a real GPU when there is one (a CPU implementation
    /// such as lavapipe is slower than the CPU kernels, so auto uses the CPU then); gpu = wgpu on
    /// any adapter; cpu = the rayon kernels.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    device: crate::kernels::Device,
}

fn parse_device(s: &str) -> Result<crate::kernels::Device, String> {
    s.parse()
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Describe a product or GeoZarr output: type, tile, CRS, bboxes, groups, arrays, levels.
    Info {
        /// Path of the Zarr store.
        input_path: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate a GeoZarr store: conventions, required attributes, layout consistency, CRS,
    /// strict JSON. Exit code 1 when there are errors.
    Validate {
        input_path: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the synthetic demo product (an EOPF Sentinel-2 layout, Zarr v3 as EOPF writes it
    /// since N0512, or Zarr v2 as up to N0511) to OUT.
    Demo {
        /// Output store (must not exist).
        output_path: String,
        /// Processing level of the built-in layout.
        #[arg(long, value_enum, default_value = "l2a")]
        level: Level,
        /// Use this pydantic-zarr GroupSpec JSON layout (Zarr v2 or v3) instead of the built-in one.
        #[arg(long)]
        layout: Option<PathBuf>,
        /// Zarr version to write: v3 (N0512 and later) or v2 (N0511 and earlier). Default: v3 for
        /// the built-in layout, the layout's own version with --layout.
        #[arg(long, value_parser = ["v2", "v3"])]
        format: Option<String>,
        /// r10m edge in pixels (10980 = full tile; r20m = N/2, r60m = N/6).
        #[arg(long, default_value_t = 1098)]
        size: u64,
        /// Random seed of the scene.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Write metadata and the x/y coordinates only (every other array reads as its fill
        /// value).
        #[arg(long)]
        empty: bool,
    },
    /// Convert a Sentinel-2 product to an optimised GeoZarr store (pipeline B).
    ConvertS2Optimized {
        input_path: String,
        output_path: String,
        /// Target inner chunk edge (reference profile).
        #[arg(long, default_value_t = 256)]
        spatial_chunk: u64,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        args: ConvertArgs,
    },
    /// Convert an EOPF product to GeoZarr: Sentinel-2 inputs go through pipeline B (the
    /// pipeline-A options are then ignored, as in the reference); anything else (Sentinel-1 GRD,
    /// other products) through pipeline A: the --groups become GeoZarr groups with overviews
    /// r2, r4, …, every other group is copied.
    Convert {
        input_path: String,
        output_path: String,
        /// Target inner chunk edge (the reference's `convert` default is 4096).
        #[arg(long, default_value_t = 4096)]
        spatial_chunk: u64,
        /// Groups to convert to GeoZarr groups (pipeline A).
        #[arg(long, num_args = 1.., default_values_t = crate::convert::generic::DEFAULT_GROUPS.map(String::from))]
        groups: Vec<String>,
        /// No overview with a side below this many pixels (pipeline A).
        #[arg(long, default_value_t = 256)]
        min_dimension: u64,
        /// Copied groups that get CRS information (pipeline A; the bare flag means none).
        #[arg(long, num_args = 0..)]
        crs_groups: Option<Vec<String>>,
        /// GCP group of a Sentinel-1 product, relative to each polarisation group
        /// (e.g. conditions/gcp; required for Sentinel-1).
        #[arg(long)]
        gcp_group: Option<String>,
        /// Run pipeline A even on Sentinel-2 input (eopf-geozarr 0.12's `--no-s2-optimized`).
        #[arg(long)]
        no_s2_optimized: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        args: ConvertArgs,
    },
    /// Time a whole conversion, its codec floor (decode the input, compress the output), the
    /// kernels on CPU and GPU, the codecs, or the same conversion by another CLI (--versus).
    Bench {
        /// Product to convert (default: a demo product of --size, created in a temporary folder).
        #[arg(long)]
        input: Option<String>,
        /// r10m edge of the demo product when no --input is given.
        #[arg(long, default_value_t = 1098)]
        size: u64,
        /// Time the whole conversion.
        #[arg(long)]
        pipeline: bool,
        /// Time decoding the input and compressing the output arrays, alone.
        #[arg(long)]
        codec_floor: bool,
        /// Time every kernel on the CPU and the GPU (--size N: N×N inputs) and a whole
        /// conversion on each device.
        #[arg(long)]
        kernels: bool,
        /// Compare codecs on the input's r10m B04 (a window of at most 2048² px), as uint16
        /// digital numbers and as float32 reflectance, in 256² chunks: compression ratio and
        /// single-core encode/decode MB/s of zstd, blosc-zstd (shuffle, bit-shuffle) and
        /// blosc-lz4.
        #[arg(long)]
        codecs: bool,
        /// Also write the results as JSON to this file (what the app's benchmark panel plots).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Convert the same input with this other CLI too (the Python reference's
        /// `eopf-geozarr`), `convert-s2-optimized --enable-sharding` on both sides (with
        /// `--keep-scale-offset` when given), and print wall time, peak RSS, bytes written and
        /// the ratios. Our side also gets --profile, --shard-size, --codec,
        /// --compression-level and --device when they are not the defaults. Alone, it runs only
        /// this comparison.
        #[arg(long, value_name = "CLI")]
        versus: Option<PathBuf>,
        /// Target inner chunk edge (reference profile).
        #[arg(long, default_value_t = 256)]
        spatial_chunk: u64,
        #[command(flatten)]
        args: ConvertArgs,
    },
    /// Render the true-colour composite (B04/B03/B02, 2–98 % stretch) of a product to a PNG.
    Preview {
        input_path: String,
        /// PNG to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Resolution group to render.
        #[arg(long, default_value = "r60m")]
        resolution: String,
    },
    /// Open the desktop application (the demo product when no path is given).
    #[cfg(feature = "gui")]
    Gui {
        input_path: Option<String>,
        /// Do not open a window: write the preview PNG and print the report.
        #[arg(long)]
        headless: bool,
        /// Where the headless run writes its PNG.
        #[arg(long, default_value = "eopf-geozarr-preview.png")]
        png: PathBuf,
    },
}

/// What the environment configures beyond the reference's `AWS_*` (which
/// [`crate::storage::S3Config::from_env`] reads), read once when the CLI starts and passed down
/// as values: the library reads no environment variable of its own.
#[derive(Debug, Clone)]
pub struct EnvSettings {
    /// `EOPF_SOURCE_CACHE_MB`: decoded source chunks kept per input array.
    pub source_cache_bytes: u64,
    /// `EOPF_S3_CONCURRENCY`: uploads in flight at once per store.
    pub s3_concurrency: usize,
    /// `EOPF_S3_MULTIPART_MB`: larger values are uploaded in parts.
    pub s3_multipart_threshold: usize,
    /// `EOPF_GEOZARR_DEMO_DIR`, else `$XDG_CACHE_HOME/eopf-geozarr`, else `~/.cache/eopf-geozarr`:
    /// where the built-in demo product is kept.
    pub demo_dir: PathBuf,
    /// wgpu's own variables (`WGPU_BACKEND`, `WGPU_DEBUG`, …).
    pub gpu: crate::kernels::GpuConfig,
    /// `DISPLAY` / `WAYLAND_DISPLAY`: whether a window can open.
    pub display: bool,
    /// `EOPF_DIRECT_IO` (`0`, `false` or `off`: no): local outputs written with direct I/O where
    /// the filesystem takes it (`storage::direct`).
    pub direct_io: bool,
}

impl EnvSettings {
    /// Read the environment.
    pub fn from_env() -> Self {
        let (var, mb) = (crate::env::var, crate::env::megabytes);
        EnvSettings {
            source_cache_bytes: mb("EOPF_SOURCE_CACHE_MB")
                .unwrap_or(crate::convert::writer::SOURCE_CACHE_BYTES),
            s3_concurrency: var("EOPF_S3_CONCURRENCY")
                .and_then(|v| v.parse().ok())
                .unwrap_or(crate::storage::DEFAULT_CONCURRENCY),
            s3_multipart_threshold: mb("EOPF_S3_MULTIPART_MB")
                .map_or(crate::storage::DEFAULT_MULTIPART_THRESHOLD, |b| b as usize),
            demo_dir: var("EOPF_GEOZARR_DEMO_DIR")
                .map(PathBuf::from)
                .or_else(|| var("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("eopf-geozarr")))
                .or_else(|| var("HOME").map(|d| PathBuf::from(d).join(".cache/eopf-geozarr")))
                .unwrap_or_else(|| std::env::temp_dir().join("eopf-geozarr")),
            direct_io: !matches!(
                var("EOPF_DIRECT_IO").as_deref(),
                Some("0" | "false" | "off")
            ),
            gpu: crate::kernels::GpuConfig {
                backends: wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY),
                flags: wgpu::InstanceFlags::from_env_or_default(),
            },
            display: var("DISPLAY").is_some() || var("WAYLAND_DISPLAY").is_some(),
        }
    }
}

/// The CLI's environment settings (read on first use, once).
pub fn env_settings() -> &'static EnvSettings {
    static S: std::sync::OnceLock<EnvSettings> = std::sync::OnceLock::new();
    S.get_or_init(EnvSettings::from_env)
}

/// Parse arguments, run, and return the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let env = env_settings();
    crate::kernels::configure_gpu(env.gpu);
    crate::storage::direct::set_direct_io(env.direct_io);
    let mut s3 = crate::storage::S3Config::from_env();
    s3.max_concurrency = env.s3_concurrency;
    s3.multipart_threshold = env.s3_multipart_threshold;
    if let Some(e) = &cli.s3_endpoint {
        s3.endpoint = Some(e.clone());
    }
    if let Some(r) = &cli.s3_region {
        s3.region = r.clone();
    }
    s3.anonymous |= cli.s3_anonymous;
    s3.max_retries = cli.max_retries;
    tracing::debug!("object storage: {}", s3.credentials_info());
    crate::storage::set_s3_config(s3);
    let verbose = cli.verbose;
    let code = match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", crate::storage::mask_secrets(&format!("{e:#}")));
            1
        }
    };
    let requests = crate::storage::request_counts();
    if verbose > 0 && requests.total() > 0 {
        eprintln!("object storage: {requests}");
    }
    code
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
        .with_writer(|| crate::storage::config::MaskingWriter(std::io::stderr()))
        .without_time()
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        #[cfg(feature = "gui")]
        None => gui(None, false, Path::new("eopf-geozarr-preview.png")),
        #[cfg(not(feature = "gui"))]
        None => anyhow::bail!(
            "this eopf-geozarr is built without the desktop application (feature `gui`): name a command (see --help)"
        ),
        #[cfg(feature = "gui")]
        Some(Command::Gui {
            input_path,
            headless,
            png,
        }) => gui(input_path.as_deref().map(loc).transpose()?, headless, &png),
        Some(Command::Info { input_path, json }) => {
            let h = Hierarchy::open(loc(&input_path)?)?;
            let info = inspect(&h)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                print!("{}", info.to_text());
            }
            Ok(())
        }
        Some(Command::Validate { input_path, json }) => validate_command(&loc(&input_path)?, json),
        Some(Command::Demo {
            output_path,
            level,
            layout,
            format,
            size,
            seed,
            empty,
        }) => {
            let format = format
                .map(|f| f.parse::<crate::layout::ZarrFormat>())
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let opts = DemoOptions {
                format,
                level: match level {
                    Level::L2a => S2Level::L2A,
                    Level::L1c => S2Level::L1C,
                },
                layout,
                size,
                seed,
                empty,
            };
            let report = demo_with_progress(&loc(&output_path)?, &opts)?;
            println!(
                "wrote demo product {} ({} arrays, {} chunks, r10m {}×{})",
                report.path, report.arrays, report.chunks, report.size, report.size
            );
            Ok(())
        }
        Some(Command::ConvertS2Optimized {
            input_path,
            output_path,
            spatial_chunk,
            json,
            args,
        }) => convert_command(
            &loc(&input_path)?,
            &loc(&output_path)?,
            spatial_chunk,
            &args,
            json,
            None,
        ),
        Some(Command::Convert {
            input_path,
            output_path,
            spatial_chunk,
            groups,
            min_dimension,
            crs_groups,
            gcp_group,
            no_s2_optimized,
            json,
            args,
        }) => {
            let generic = GenericArgs {
                groups,
                min_dimension,
                max_retries: cli.max_retries,
                crs_groups,
                gcp_group,
                no_s2_optimized,
            };
            convert_command(
                &loc(&input_path)?,
                &loc(&output_path)?,
                spatial_chunk,
                &args,
                json,
                Some(&generic),
            )
        }
        Some(Command::Bench {
            input,
            size,
            pipeline,
            codec_floor,
            kernels,
            codecs,
            json,
            versus,
            spatial_chunk,
            args,
        }) => bench_command(
            input.as_deref().map(loc).transpose()?,
            size,
            BenchParts {
                pipeline,
                codec_floor,
                kernels,
                codecs,
                versus,
            },
            json,
            spatial_chunk,
            &args,
        ),
        Some(Command::Preview {
            input_path,
            output,
            resolution,
        }) => {
            let h = Hierarchy::open(loc(&input_path)?)?;
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

/// `validate`: the report as text or JSON; an error (exit code 1) when it has errors.
fn validate_command(input: &Location, json: bool) -> anyhow::Result<()> {
    let h = Hierarchy::open(input)?;
    let report = crate::validate::validate(&h);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    if report.is_valid() {
        Ok(())
    } else {
        anyhow::bail!("{input}: {} validation error(s)", report.errors().count())
    }
}

/// A path argument as a [`Location`] (a refused URL scheme is the command's one error line).
fn loc(s: &str) -> crate::Result<Location> {
    Location::parse(s)
}

/// Run the demo writer with a progress bar on a terminal and plain lines otherwise.
pub fn demo_with_progress(
    out: &Location,
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
        bar.set_message(format!("writing {out}"));
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
    let path = default_demo_path();
    if !path.exists() {
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        std::fs::create_dir_all(&base)
            .with_context(|| format!("{}: cannot create the demo directory", base.display()))?;
        eprintln!("creating the demo product at {} …", path.display());
        demo_with_progress(&Location::Local(path.clone()), &DemoOptions::default())?;
    }
    Ok(path)
}

/// Where the built-in demo product lives (`$EOPF_GEOZARR_DEMO_DIR`, else the user cache).
pub fn default_demo_path() -> PathBuf {
    let base = env_settings().demo_dir.clone();
    let opts = DemoOptions::default();
    // (`-n0512`: today's Zarr v3 format; demos of earlier versions were Zarr v2.)
    base.join(format!(
        "demo-l2a-{}-seed{}-n0512-v{}.zarr",
        opts.size,
        opts.seed,
        crate::VERSION
    ))
}

#[cfg(feature = "gui")]
fn gui(input: Option<Location>, headless: bool, png: &Path) -> anyhow::Result<()> {
    let windowed = !headless && env_settings().display;
    let path = match input {
        Some(p) => p,
        // In a window the demo is built in the background with a progress bar.
        None if windowed => {
            return crate::app::run_window(Location::Local(default_demo_path()), true);
        }
        None => Location::Local(default_demo_product()?),
    };
    if !windowed {
        if !headless {
            println!("No display found (DISPLAY/WAYLAND_DISPLAY unset): running headless.");
        }
        let loaded = crate::app::load_with(&path, &crate::app::AppConfig::from_env())?;
        print!("{}", loaded.report);
        match &loaded.image {
            Some(image) => {
                image.save_png(png)?;
                println!(
                    "\nHeadless: wrote the true-colour image (B04/B03/B02 at {}, 2–98 % stretch, {}×{} px) to {}",
                    loaded.resolution,
                    image.width,
                    image.height,
                    png.display()
                );
            }
            None => println!(
                "\nHeadless: no true-colour image ({})",
                loaded
                    .image_error
                    .as_deref()
                    .unwrap_or("no reflectance bands")
            ),
        }
        return Ok(());
    }
    crate::app::run_window(path, false)
}

/// The pipeline-A options of `convert`.
struct GenericArgs {
    groups: Vec<String>,
    min_dimension: u64,
    max_retries: u32,
    crs_groups: Option<Vec<String>>,
    gcp_group: Option<String>,
    no_s2_optimized: bool,
}

fn convert_command(
    input: &Location,
    output: &Location,
    spatial_chunk: u64,
    args: &ConvertArgs,
    json: bool,
    generic: Option<&GenericArgs>,
) -> anyhow::Result<()> {
    // `convert` runs pipeline B on Sentinel-2 input and pipeline A on anything else.
    let pipeline_a = match generic {
        Some(g) if g.no_s2_optimized => {
            tracing::info!("--no-s2-optimized: pipeline A");
            Some(g)
        }
        Some(g) => {
            let h = Hierarchy::open(input)?;
            match crate::product::check_sentinel2(&h) {
                Ok(_) => {
                    tracing::info!(
                        "Sentinel-2 input: pipeline B (--groups, --crs-groups, --gcp-group, --min-dimension ignored)"
                    );
                    None
                }
                Err(why) => {
                    tracing::info!("not Sentinel-2 ({why}): pipeline A");
                    Some(g)
                }
            }
        }
        None => None,
    };
    let mut opts = s2_options(spatial_chunk, args)?;
    if let Some(g) = generic {
        opts.max_retries = g.max_retries;
    }
    let tty = std::io::stderr().is_terminal() && !json;
    let bar = indicatif::ProgressBar::new(0);
    if tty {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:40} [{bar:30}] {pos}/{len} arrays ({eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let start = std::time::Instant::now();
    let progress = |done: usize, total: usize, what: &str| {
        if tty {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message(what.to_string());
        }
    };
    let existing = if args.overwrite {
        crate::convert::Existing::Overwrite
    } else if args.resume {
        crate::convert::Existing::Resume
    } else {
        crate::convert::Existing::Error
    };
    let result = match pipeline_a {
        None => crate::convert::convert_s2_optimized(input, output, &opts, existing, &progress),
        Some(g) => {
            let gopts = crate::convert::GenericOptions {
                profile: opts.profile,
                groups: g.groups.clone(),
                spatial_chunk,
                min_dimension: g.min_dimension,
                crs_groups: g.crs_groups.clone(),
                gcp_group: g.gcp_group.clone(),
                enable_sharding: opts.enable_sharding,
                compression_level: opts.compression_level,
                codec: opts.codec,
                shard_size: opts.shard_size,
                max_retries: opts.max_retries,
                device: opts.device,
                cancel: Default::default(),
                source_cache_bytes: opts.source_cache_bytes,
            };
            crate::convert::create_geozarr_dataset(input, output, &gopts, existing, &progress)
        }
    };
    bar.finish_and_clear();
    let (plan, report) = result?;
    let elapsed = start.elapsed().as_secs_f64();
    if report.up_to_date {
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "output": output.to_string(),
                    "up_to_date": true,
                }))?
            );
        } else {
            println!(
                "✅ {}: already the complete output of this input and these options: nothing to do",
                output
            );
        }
        return Ok(());
    }
    let validation = if args.skip_validation {
        None
    } else {
        Some(crate::validate::validate(&Hierarchy::open(output)?))
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "output": output.to_string(),
                "arrays": report.arrays,
                "groups": report.groups,
                "kernels": report.kernels,
                "seconds": elapsed,
                "validation": validation,
            }))?
        );
    } else {
        println!(
            "✅ {}: {} ({} arrays, {} groups, {:.1} s)",
            if pipeline_a.is_some() {
                "Successfully converted EOPF dataset to GeoZarr format"
            } else {
                "S2 optimization completed"
            },
            output,
            report.arrays,
            report.groups,
            elapsed
        );
        println!("kernels: {}", report.kernels);
        if let Some(v) = &validation {
            println!(
                "validation: {} error(s), {} warning(s)",
                v.errors().count(),
                v.warnings().count()
            );
            for f in v.errors() {
                println!("  ERROR {} [{}] {}", f.path, f.code, f.message);
            }
        }
    }
    let _ = plan;
    if let Some(v) = validation
        && !v.is_valid()
    {
        anyhow::bail!(
            "{}: the output does not validate ({} error(s))",
            output,
            v.errors().count()
        );
    }
    Ok(())
}

fn s2_options(spatial_chunk: u64, args: &ConvertArgs) -> anyhow::Result<crate::convert::S2Options> {
    use crate::convert::s2::Codec;
    use crate::plan::{Profile, ShardSize};
    let shard_size: ShardSize = args
        .shard_size
        .parse()
        .map_err(|e| anyhow::anyhow!("--shard-size {e}"))?;
    if spatial_chunk == 0 {
        anyhow::bail!("--spatial-chunk must be at least 1");
    }
    if args.experimental_scale_offset_codec {
        anyhow::bail!(
            "--experimental-scale-offset-codec: the scale_offset and cast_value codecs are not available in zarrs; use --keep-scale-offset for packed uint16 with CF attributes"
        );
    }
    Ok(crate::convert::S2Options {
        profile: match args.profile {
            ProfileArg::Geozarr => Profile::Geozarr,
            ProfileArg::Reference => Profile::Reference,
        },
        spatial_chunk,
        enable_sharding: args.enable_sharding,
        compression_level: args.compression_level,
        finalise_root: true,
        codec: match args.codec {
            CodecArg::Auto => Codec::Auto,
            CodecArg::Zstd => Codec::Zstd,
            CodecArg::BloscZstd => Codec::BloscZstd,
            CodecArg::BloscZstdBitshuffle => Codec::BloscZstdBitShuffle,
        },
        shard_size,
        keep_scale_offset: args.keep_scale_offset,
        max_retries: crate::storage::s3_config().max_retries,
        device: args.device,
        cancel: Default::default(),
        source_cache_bytes: env_settings().source_cache_bytes,
    })
}

/// The `bench --codecs` table.
fn print_codecs(rows: &[crate::bench::CodecRow]) {
    println!(
        "  {:<26} {:<20} {:>7} {:>12} {:>12}",
        "codec (256² chunks)", "data", "ratio", "encode MB/s", "decode MB/s"
    );
    for r in rows {
        println!(
            "  {:<26} {:<20} {:>6.2}× {:>12.0} {:>12.0}",
            r.codec, r.data, r.ratio, r.encode_mb_s, r.decode_mb_s
        );
    }
}

/// The `bench --kernels` table.
fn print_kernels(k: &crate::bench::KernelReport) {
    let adapter = k.adapter.as_ref().map_or("none".to_string(), |a| {
        format!("{} ({}, {})", a.name, a.backend, a.device_type)
    });
    println!("kernels: CPU = {}, GPU adapter = {adapter}", k.cpu);
    println!(
        "  {:<30} {:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7}",
        "kernel", "size", "CPU ms", "GPU ms", "upload", "compute", "readback", "speedup", "ULP"
    );
    for r in &k.rows {
        let g = |f: fn(&crate::bench::GpuSplit) -> f64| {
            r.gpu
                .as_ref()
                .map_or("-".into(), |g| format!("{:.1}", f(g)))
        };
        println!(
            "  {:<30} {:<16} {:>9.1} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7}",
            r.kernel,
            r.size,
            r.cpu_ms,
            g(|g| g.total_ms),
            g(|g| g.upload_ms),
            g(|g| g.compute_ms),
            g(|g| g.readback_ms),
            r.speedup.map_or("-".into(), |s| format!("{s:.2}×")),
            r.max_ulp.map_or("-".into(), |u| u.to_string()),
        );
    }
    for t in &k.conversions {
        println!("  {:<47} {:>8.2} s", t.what, t.seconds);
    }
}

/// The `bench --versus` table.
fn print_versus(v: &crate::bench::Versus) {
    println!(
        "  {:<10} {:>9} {:>11} {:>12}",
        "tool", "wall", "peak RSS", "written"
    );
    for (name, r) in [("ours", &v.ours), ("theirs", &v.theirs)] {
        println!(
            "  {name:<10} {:>7.2} s {:>7.3} GiB {:>9.3} GB{}",
            r.wall_s,
            r.peak_rss_bytes as f64 / f64::from(1u32 << 30),
            r.bytes_written as f64 / 1e9,
            match (r.exit_code, &r.error) {
                (Some(0), _) => String::new(),
                (code, e) => format!(
                    "  FAILED (exit {code:?}): {}",
                    e.as_deref().unwrap_or("").replace('\n', " | ")
                ),
            }
        );
    }
    // Our side's own options, when `bench` was given some (the other side's are only the
    // common ones).
    if let Some(extra) = v.ours.command.get(v.theirs.command.len()..)
        && !extra.is_empty()
    {
        println!("  (ours also with {})", extra.join(" "));
    }
    if let Some((t, m, b)) = v.ratios() {
        println!(
            "  theirs / ours: {t:.2}× the time, {m:.2}× the peak memory; ours writes {:.2}× their bytes",
            1.0 / b.max(1e-9)
        );
    }
}

/// The conversion options of `bench` that differ from the defaults, as `convert-s2-optimized`
/// arguments for our side of `--versus` (the other CLI gets only `--keep-scale-offset`).
fn ours_only_args(args: &ConvertArgs) -> Vec<String> {
    let mut v = Vec::new();
    let mut push = |flag: &str, value: String| {
        v.push(flag.to_string());
        v.push(value);
    };
    let name = |p: Option<clap::builder::PossibleValue>| {
        p.map(|p| p.get_name().to_string()).unwrap_or_default()
    };
    if !matches!(args.profile, ProfileArg::Geozarr) {
        push("--profile", name(args.profile.to_possible_value()));
    }
    if args.shard_size != DEFAULT_SHARD_SIZE {
        push("--shard-size", args.shard_size.clone());
    }
    if !matches!(args.codec, CodecArg::Auto) {
        push("--codec", name(args.codec.to_possible_value()));
    }
    if args.compression_level != DEFAULT_LEVEL {
        push("--compression-level", args.compression_level.to_string());
    }
    match args.device {
        crate::kernels::Device::Auto => {}
        crate::kernels::Device::Gpu => push("--device", "gpu".into()),
        crate::kernels::Device::Cpu => push("--device", "cpu".into()),
    }
    v
}

/// Which parts `bench` runs (none given: all).
struct BenchParts {
    pipeline: bool,
    codec_floor: bool,
    kernels: bool,
    codecs: bool,
    /// The other CLI of `--versus`.
    versus: Option<PathBuf>,
}

fn bench_command(
    input: Option<Location>,
    size: u64,
    parts: BenchParts,
    json: Option<PathBuf>,
    spatial_chunk: u64,
    args: &ConvertArgs,
) -> anyhow::Result<()> {
    let opts = s2_options(spatial_chunk, args)?;
    let BenchParts {
        mut pipeline,
        mut codec_floor,
        mut kernels,
        mut codecs,
        versus,
    } = parts;
    if !pipeline && !codec_floor && !kernels && !codecs && versus.is_none() {
        (pipeline, codec_floor, kernels, codecs) = (true, true, true, true);
    }
    let tmp = std::env::temp_dir().join(format!("eopf-geozarr-bench-input-{}", std::process::id()));
    let needs_product = pipeline || codec_floor || kernels || codecs || versus.is_some();
    let created = input.is_none() && needs_product;
    let input = match input {
        Some(p) => p,
        None if needs_product => {
            // (the demo writer refuses an existing folder: nothing by that name is erased)
            let demo = DemoOptions {
                size,
                ..DemoOptions::default()
            };
            eprintln!("bench: creating a demo product of {size}×{size} px at r10m …");
            demo_with_progress(&Location::Local(tmp.clone()), &demo)?;
            Location::Local(tmp.clone())
        }
        None => Location::Local(tmp.clone()),
    };
    let mut timings = Vec::new();
    let mut kernel_report: Option<crate::bench::KernelReport> = None;
    let mut side_by_side: Option<crate::bench::Versus> = None;
    let mut codec_rows: Option<Vec<crate::bench::CodecRow>> = None;
    let result = (|| -> anyhow::Result<()> {
        if codecs {
            codec_rows = Some(crate::bench::codec_study(&Hierarchy::open(&input)?, 2048)?);
        }
        if let Some(theirs) = &versus {
            let ours = std::env::current_exe()?;
            let scratch =
                std::env::temp_dir().join(format!("eopf-geozarr-versus-{}", std::process::id()));
            eprintln!(
                "bench: converting {input} with {} and {} …",
                ours.display(),
                theirs.display()
            );
            let v = crate::bench::versus(
                &input.to_string(),
                (&ours, &ours_only_args(args)),
                theirs,
                args.keep_scale_offset,
                &scratch,
            )?;
            side_by_side = Some(v);
        }
        if codec_floor {
            let h = Hierarchy::open(&input)?;
            timings.push(crate::bench::decode_all(&h)?);
            timings.push(crate::bench::compress_outputs(&h, &opts)?);
        }
        if pipeline {
            timings.push(crate::bench::convert_once(&input, &opts)?);
        }
        if kernels {
            use crate::kernels::{Device, Kernels};
            let gpu = match Kernels::new(Device::Gpu) {
                Ok(k) => Some(k),
                Err(e) => {
                    eprintln!("bench: no GPU column: {e}");
                    None
                }
            };
            eprintln!("bench: kernels on {size}×{size} inputs …");
            let rows = crate::bench::kernel_table(size as usize, gpu.as_ref())?;
            let mut conversions = vec![crate::bench::convert_on(&input, &opts, Device::Cpu)?];
            if gpu.is_some() {
                conversions.push(crate::bench::convert_on(&input, &opts, Device::Gpu)?);
            }
            kernel_report = Some(crate::bench::KernelReport {
                adapter: gpu.as_ref().and_then(|g| g.adapter().cloned()),
                cpu: Kernels::cpu().note,
                rows,
                conversions,
            });
        }
        Ok(())
    })();
    if created {
        // The demo product this run wrote (and nothing else).
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result?;
    println!(
        "bench on {} ({} threads)",
        input,
        rayon::current_num_threads()
    );
    if let Some(v) = &side_by_side {
        print_versus(v);
    }
    if let Some(rows) = &codec_rows {
        print_codecs(rows);
    }
    for t in &timings {
        println!(
            "  {:<34} {:>8.2} s  {:>9.1} MB",
            t.what,
            t.seconds,
            t.bytes as f64 / 1e6
        );
    }
    if codec_floor && pipeline {
        let floor: f64 = timings.iter().take(2).map(|t| t.seconds).sum();
        let conv = timings[2].seconds;
        println!("  conversion / codec floor: {:.2}×", conv / floor.max(1e-9));
    }
    if let Some(k) = &kernel_report {
        print_kernels(k);
    }
    if let Some(path) = json {
        let v = serde_json::json!({
            "threads": rayon::current_num_threads(),
            "timings": timings,
            "kernels": kernel_report,
            "versus": side_by_side,
            "codecs": codec_rows,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&v)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
