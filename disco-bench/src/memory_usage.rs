//! Peak resident memory of this process, from /proc (Linux).

/// Resets the peak-RSS mark (VmHWM) to the current RSS, so the next reading
/// is the peak of what runs in between. Returns false where unsupported.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident memory in bytes since start or the last [`reset_peak`].
pub fn peak_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
