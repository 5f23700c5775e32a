//! `disco copy`: [`disco::copy::copy_store`] between two store URLs, with a
//! progress bar and a report.

use disco::copy::{copy_store, CopyError, CopyReport};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::failure::{code, Failure};
use crate::show::Format;
use crate::stores::{Mode, Store};
use disco::counts::thousands;

fn bar(hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:8} [{bar:40}] {pos}/{len} positions ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("events");
    bar
}

impl From<CopyError> for Failure {
    fn from(error: CopyError) -> Self {
        match error {
            CopyError::Store(e) => e.into(),
            CopyError::TargetNotEmpty => Failure::new(code::USAGE, error.to_string()),
            CopyError::Append { .. } => Failure::new(code::OTHER, error.to_string()),
            CopyError::Mismatch(_) => Failure::new(code::VERIFY_FAILED, error.to_string()),
        }
    }
}

fn print(from: &str, to: &str, r: &CopyReport, format: Format) {
    match format {
        Format::Human => {
            println!(
                "copied {} events in {:.1} s ({}/s){}",
                thousands(r.copied),
                r.elapsed.as_secs_f64(),
                thousands(r.rate().max(0.0).round() as u64),
                if r.resumed { ", resumed" } else { "" }
            );
            println!(
                "verified: {} events in {} streams, same order, same count and checksum per stream; {} deleted streams, {} snapshots, {} checkpoints copied",
                r.verified_events, r.verified_streams, r.deleted_streams, r.snapshots, r.checkpoints
            );
        }
        Format::Json => println!(
            "{}",
            json!({
                "from": from, "to": to, "copied": r.copied, "resumed": r.resumed,
                "seconds": r.elapsed.as_secs_f64(), "events_per_s": r.rate(),
                "verified_events": r.verified_events, "verified_streams": r.verified_streams,
                "deleted_streams": r.deleted_streams, "snapshots": r.snapshots,
                "checkpoints": r.checkpoints,
            })
        ),
    }
}

/// `disco copy --from URL --to URL`.
pub async fn run(
    from: &str,
    to: &str,
    batch: usize,
    quiet: bool,
    format: Format,
) -> Result<(), Failure> {
    if from.trim() == to.trim() && !from.starts_with("memory:") {
        return Err(Failure::new(
            code::USAGE,
            "--from and --to name the same store",
        ));
    }
    let source = Store::open(from, Mode::Existing).await?;
    let target = Store::open(to, Mode::Create).await?;
    let bar = bar(quiet || format == Format::Json);
    let progress = |position: u64, head: u64| {
        bar.set_length(head);
        bar.set_position(position);
    };
    let report = copy_store(&*source.store(), &*target.store(), batch, &progress).await;
    bar.finish_and_clear();
    let report = report?;
    print(from, to, &report, format);
    source.close().await;
    target.close().await;
    Ok(())
}
