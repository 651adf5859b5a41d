//! Reading a server process's CPU time and resident memory from Linux's /proc.
//!
//! CPU time is `utime + stime` from `/proc/PID/stat` (threads that already exited included), in
//! clock ticks of 1/100 s: Linux reports /proc times in USER_HZ, which is 100 on every
//! architecture it exports to user space. Over a 10-second window at one busy core that is
//! 1,000 ticks, so the tick is a 0.1% error. Resident memory is `VmRSS` from
//! `/proc/PID/status`, in KiB.

use std::io;

/// Ticks per second of the times in /proc/PID/stat (USER_HZ).
const TICKS_PER_SECOND: u64 = 100;

/// A process's user plus system CPU time so far, in microseconds.
pub fn cpu_micros(pid: u32) -> io::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_cpu_micros(&stat).ok_or_else(|| io::Error::other("unreadable /proc/PID/stat"))
}

/// A process's resident set size, in KiB.
pub fn rss_kib(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_rss_kib(&status).ok_or_else(|| io::Error::other("no VmRSS in /proc/PID/status"))
}

fn parse_cpu_micros(stat: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces and parentheses: fields count from the last ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // After the name come state (field 3) ... utime is field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) * (1_000_000 / TICKS_PER_SECOND))
}

fn parse_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_counts_fields_after_the_name() {
        let stat = "1234 (weird ) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(parse_cpu_micros(stat), Some(3_000_000));
    }

    #[test]
    fn rss_comes_from_vmrss() {
        let status = "Name:\thub\nVmPeak:\t  9000 kB\nVmRSS:\t    4321 kB\nThreads:\t3\n";
        assert_eq!(parse_rss_kib(status), Some(4321));
    }

    #[test]
    fn this_process_can_be_read() {
        let pid = std::process::id();
        assert!(rss_kib(pid).expect("own status") > 0);
        assert!(cpu_micros(pid).is_ok());
    }
}
