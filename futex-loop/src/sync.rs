//! Facade over the atomics, so that `RUSTFLAGS="--cfg loom"` swaps in loom's model-checked types.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicU32, Ordering, fence};
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, Ordering, fence};

/// Pads and aligns a value to 128 bytes so that the sleep flag, which producers on other cores
/// read on every publication, shares its cache line (pair) with nothing else.
#[repr(align(128))]
#[derive(Debug, Default)]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> core::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
