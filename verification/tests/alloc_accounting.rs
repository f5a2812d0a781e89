//! Allocation accounting with a counting global allocator: every buffer a channel allocates is
//! freed exactly once (live bytes return to the baseline), whichever side drops last and however
//! many growths are still in flight; and a default 128 MiB ring costs no resident memory until
//! it is written.
//!
//! Only 16-byte-aligned allocations made by the tests' own threads are counted: the rings' byte
//! buffers use that alignment, and the test harness's threads (which allocate concurrently) are
//! left out, so they cannot blur the count. (Each buffer's small header is freed together with
//! its bytes.)
#![cfg(not(loom))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::thread;

use ring_spsc::{Config, channel};
use verification::{check_record, make_record};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
/// Tests in this file measure global state, so they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

thread_local! {
    /// Whether this thread's allocations count: set by the tests' threads only.
    static COUNTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Counts this thread's allocations from now on.
fn count_this_thread() {
    COUNTED.with(|counted| counted.set(true));
}

fn count(layout: Layout, sign: isize) {
    // `try_with`: allocations during thread teardown, after the flag is gone, do not count.
    let counted = COUNTED.try_with(|counted| counted.get()).unwrap_or(false);
    if counted && layout.align() == 16 {
        LIVE.fetch_add(sign * layout.size() as isize, Ordering::Relaxed);
    }
}

// SAFETY: forwards to `System` unchanged and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout, 1);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout, 1);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(layout, -1);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

#[test]
fn every_buffer_freed_once_whoever_drops_last() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    count_this_thread();
    let records: Vec<Vec<u8>> = (0..200)
        .map(|i| make_record(i, 8 + (i as usize * 37) % 300))
        .collect();
    for consumer_reads in [0, 1, 50, 199, 200] {
        for consumer_drops_first in [false, true] {
            let base = live();
            let (mut tx, mut rx) = channel(Config::new(64)).unwrap();
            for r in &records {
                tx.push(r).unwrap();
            }
            assert!(tx.capacity() > 64);
            for i in 0..consumer_reads {
                assert_eq!(check_record(rx.peek().unwrap()), i as u64);
                rx.release();
            }
            if consumer_drops_first {
                drop(rx);
                drop(tx);
            } else {
                drop(tx);
                drop(rx);
            }
            assert_eq!(
                live(),
                base,
                "leak: reads {consumer_reads}, consumer first {consumer_drops_first}"
            );
        }
    }
}

#[test]
fn buffers_freed_while_threads_run() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    count_this_thread();
    let base = live();
    {
        let (mut tx, mut rx) = channel(Config::new(64).with_publish_every(3)).unwrap();
        let producer = thread::spawn(move || {
            count_this_thread();
            for i in 0..50_000u64 {
                tx.push(&make_record(i, 8 + (i as usize % 500))).unwrap();
            }
        });
        let mut next = 0;
        while next < 50_000 {
            match rx.peek() {
                Some(r) => {
                    assert_eq!(check_record(r), next);
                    rx.release();
                    next += 1;
                }
                None => thread::yield_now(),
            }
        }
        producer.join().unwrap();
        // Only the final buffer is still live: every earlier one was freed by the consumer.
        assert_eq!(live() - base, rx.capacity() as isize);
    }
    assert_eq!(live(), base);
}

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn untouched_ring_pages_cost_no_resident_memory() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    count_this_thread();
    let before = resident_bytes();
    let (mut tx, mut rx) = channel(Config::outbound()).unwrap();
    tx.push(&make_record(0, 1000)).unwrap();
    assert_eq!(check_record(rx.peek().unwrap()), 0);
    let after = resident_bytes();
    // 128 MiB allocated; well under 8 MiB may become resident.
    assert!(
        after.saturating_sub(before) < 8 << 20,
        "{} bytes became resident",
        after - before
    );
    assert_eq!(tx.capacity(), 128 << 20);
}
