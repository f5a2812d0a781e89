//! The ring itself. This is the crate's only module with `unsafe` code.
//!
//! # Positions
//!
//! Both sides count positions as a running byte total over the channel's whole life (wrapping at
//! `usize::MAX`): every record, marker and skipped tail of a buffer counts. `tail` is how far the
//! producer has published, `head` how far the consumer has released, so `head == tail` means
//! empty, and a record or marker is readable exactly when it lies below the published `tail`.
//! Each side also keeps the byte offset inside its current buffer that matches its count, so no
//! division is ever needed.
//!
//! A buffer is entered at position `base` (its offset 0). While the consumer still works in an
//! older buffer (`head < base`), the producer treats `base` as the consumer's position: the
//! consumer will enter this buffer at offset 0.
//!
//! # Layout inside a buffer
//!
//! Every item starts at a multiple of [`HDR`] with an 8-byte header `kind << 32 | len`:
//!
//! * `RECORD`: `len` payload bytes follow; the item takes `round_up(HDR + len, HDR)` bytes.
//! * `WRAP`: the rest of the buffer is skipped; the next item is at offset 0.
//! * `FORWARD`: the rest of the buffer is skipped; the next item is at offset 0 of
//!   `Buffer::next`, which the consumer frees this buffer after following.
//!
//! An item ending exactly at the end of the buffer is followed by the next item at offset 0,
//! without a marker. The producer keeps [`HDR`] bytes free after every item it writes, so that a
//! `FORWARD` marker always fits where the next item would go.

use core::alloc::Layout;
use core::cell::Cell;
use core::fmt;
use core::ops::{Deref, DerefMut};
use core::ptr::{self, NonNull};

use crate::sync::{Arc, AtomicUsize, Ordering, UnsafeCell, alloc_zeroed, dealloc};
use crate::{Config, Error, RECORD_HEADER_LEN as HDR};

/// Alignment of every buffer. Not above `malloc`'s minimum alignment, so that the global
/// allocator's `alloc_zeroed` can use `calloc`, which hands out untouched zero pages.
const BUF_ALIGN: usize = 16;

const KIND_RECORD: u32 = 0;
const KIND_WRAP: u32 = 1;
const KIND_FORWARD: u32 = 2;

/// Bytes one record of `len` payload bytes occupies (the caller has bounded `len`, so this cannot
/// overflow). `HDR` is a power of two, so rounding up is a mask.
#[inline(always)]
fn record_size(len: usize) -> usize {
    const _: () = assert!(HDR.is_power_of_two());
    (len + 2 * HDR - 1) & !(HDR - 1)
}

/// Pads and aligns a value to 128 bytes, so that `head` and `tail` never share a cache line (nor
/// the adjacent line that x86 prefetches in pairs).
#[repr(align(128))]
struct CachePadded<T>(T);

impl<T> Deref for CachePadded<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

/// One contiguous allocation holding items.
struct Buffer {
    /// Start of `cap` bytes, aligned to [`BUF_ALIGN`], zeroed at allocation and only ever written
    /// with initialised bytes, so every byte is initialised and `&[u8]`/`&mut [u8]` over any
    /// range is valid as far as initialisation goes. Owned by the channel until [`free`].
    data: NonNull<u8>,
    /// Size in bytes, a multiple of [`HDR`] and at least `4 * HDR`.
    cap: usize,
    /// The buffer the producer moved to, or null. Written by the producer just before it writes
    /// the `FORWARD` marker, so the `Release` store that publishes the marker publishes this too;
    /// read by the consumer only after it has read that marker.
    next: UnsafeCell<*mut Buffer>,
    /// Model-checking aid: one loom cell per 8-byte word, touched on every access, so loom
    /// reports any access to the bytes that is not ordered by the ring's protocol.
    #[cfg(loom)]
    words: alloc::boxed::Box<[UnsafeCell<()>]>,
    /// Model-checking aid: set when the buffer is freed; every access asserts it is not.
    #[cfg(loom)]
    dead: UnsafeCell<bool>,
}

impl Buffer {
    /// Allocates a zeroed buffer of `cap` bytes, or `None` when the allocator fails.
    fn alloc(cap: usize) -> Option<NonNull<Buffer>> {
        debug_assert!(cap.is_multiple_of(HDR) && cap >= 4 * HDR);
        let layout = Layout::from_size_align(cap, BUF_ALIGN).ok()?;
        // SAFETY: `layout` has a non-zero size (`cap >= 32`).
        let data = NonNull::new(unsafe { alloc_zeroed(layout) })?;
        let buffer = alloc::boxed::Box::new(Buffer {
            data,
            cap,
            next: UnsafeCell::new(ptr::null_mut()),
            #[cfg(loom)]
            words: (0..cap / HDR).map(|_| UnsafeCell::new(())).collect(),
            #[cfg(loom)]
            dead: UnsafeCell::new(false),
        });
        Some(NonNull::from(alloc::boxed::Box::leak(buffer)))
    }

    /// Tells loom that `len` bytes at `off` are read now (no-op without loom).
    #[inline(always)]
    fn track_read(&self, off: usize, len: usize) {
        #[cfg(loom)]
        {
            self.dead.with(|d| {
                // SAFETY: `dead` is written once, by `free`, and loom checks that access.
                assert!(!unsafe { *d }, "ring-spsc: read from a freed buffer");
            });
            for word in &self.words[off / HDR..(off + len).div_ceil(HDR)] {
                word.with(|_| ());
            }
        }
        #[cfg(not(loom))]
        let _ = (off, len);
    }

    /// Tells loom that `len` bytes at `off` are written now (no-op without loom).
    #[inline(always)]
    fn track_write(&self, off: usize, len: usize) {
        #[cfg(loom)]
        {
            self.dead.with(|d| {
                // SAFETY: `dead` is written once, by `free`, and loom checks that access.
                assert!(!unsafe { *d }, "ring-spsc: write to a freed buffer");
            });
            for word in &self.words[off / HDR..(off + len).div_ceil(HDR)] {
                word.with_mut(|_| ());
            }
        }
        #[cfg(not(loom))]
        let _ = (off, len);
    }

    /// Reads the header at `off`.
    ///
    /// # Safety
    ///
    /// `off` is a multiple of [`HDR`] below `cap`, and the header there was published to this
    /// thread and is not being rewritten (it lies in `[head, tail)` for the consumer).
    #[inline]
    unsafe fn read_header(&self, off: usize) -> (u32, usize) {
        self.track_read(off, HDR);
        // SAFETY: in bounds and 8-aligned (`data` is 16-aligned, `off % 8 == 0`, `off + 8 <=
        // cap`); initialised (zeroed at allocation); not concurrently written (caller).
        let word = unsafe { self.data.as_ptr().add(off).cast::<u64>().read() };
        ((word >> 32) as u32, (word & 0xffff_ffff) as usize)
    }

    /// Writes a header at `off`.
    ///
    /// # Safety
    ///
    /// `off` is a multiple of [`HDR`] below `cap`, and the producer owns those bytes: the
    /// consumer has released them (or never reached them) and cannot read them before the next
    /// publication.
    #[inline]
    unsafe fn write_header(&self, off: usize, kind: u32, len: usize) {
        self.track_write(off, HDR);
        let word = (u64::from(kind) << 32) | len as u64;
        // SAFETY: in bounds and aligned as in `read_header`; exclusive per the caller.
        unsafe { self.data.as_ptr().add(off).cast::<u64>().write(word) };
    }

    /// Pointer to byte `off`, for building slices.
    ///
    /// # Safety
    ///
    /// `off <= cap`.
    #[inline]
    unsafe fn at(&self, off: usize) -> *mut u8 {
        // SAFETY: `off <= cap` stays within (or one past) the allocation.
        unsafe { self.data.as_ptr().add(off) }
    }
}

/// Frees `buffer` and its bytes.
///
/// # Safety
///
/// `buffer` came from [`Buffer::alloc`], is freed only once, and no side accesses it afterwards
/// (the producer has left it for good, and the consumer holds no slice into it).
unsafe fn free(shared: &Shared, buffer: NonNull<Buffer>) {
    // SAFETY: the buffer is still allocated (caller).
    let buf = unsafe { buffer.as_ref() };
    let layout = Layout::from_size_align(buf.cap, BUF_ALIGN).expect("layout was valid at alloc");
    #[cfg(loom)]
    {
        buf.dead.with_mut(|d| {
            // SAFETY: loom checks this write against every other access of `dead`.
            unsafe {
                assert!(!*d, "ring-spsc: buffer freed twice");
                *d = true;
            }
        });
        for word in buf.words.iter() {
            word.with_mut(|_| ());
        }
        // SAFETY: allocated in `Buffer::alloc` with this layout, freed once (caller).
        unsafe { dealloc(buf.data.as_ptr(), layout) };
        // The header stays allocated until the channel is dropped, so that an access after this
        // point trips the `dead` assertion instead of being undefined behaviour.
        shared
            .graveyard
            .lock()
            .unwrap()
            .push(buffer.as_ptr() as usize);
    }
    #[cfg(not(loom))]
    {
        let _ = shared;
        // SAFETY: allocated in `Buffer::alloc` with this layout, freed once (caller).
        unsafe { dealloc(buf.data.as_ptr(), layout) };
        // SAFETY: leaked from a `Box` in `Buffer::alloc`, freed once (caller).
        drop(unsafe { alloc::boxed::Box::from_raw(buffer.as_ptr()) });
    }
}

/// The state both sides share.
struct Shared {
    /// Consumer's position: bytes released so far. Only the consumer stores it (`Release`, after
    /// it has read what it releases); the producer loads it (`Acquire`, before it reuses that
    /// space). Never ahead of `tail`.
    head: CachePadded<AtomicUsize>,
    /// Producer's position: bytes published so far. Only the producer stores it (`Release`, after
    /// writing the items below it); the consumer loads it (`Acquire`, before reading them).
    tail: CachePadded<AtomicUsize>,
    /// The consumer's current buffer: the first of the chain (linked by `Buffer::next`) that the
    /// channel still owns. Written by the consumer when it follows a `FORWARD` marker; read only
    /// when the last side drops the channel.
    oldest: UnsafeCell<NonNull<Buffer>>,
    /// Under loom, freed buffers' headers, deallocated with the channel (see [`free`]).
    #[cfg(loom)]
    graveyard: std::sync::Mutex<alloc::vec::Vec<usize>>,
}

// SAFETY: `Shared` only contains atomics and pointers to buffers whose bytes are handed from the
// producer to the consumer by the Release/Acquire protocol on `head` and `tail`; `oldest` is
// touched by the consumer only, and by `Drop` once both sides are gone.
unsafe impl Send for Shared {}
// SAFETY: as above: every non-atomic field has a single writer at any time, and hand-over between
// threads goes through `head`/`tail` or `Arc`'s drop synchronisation.
unsafe impl Sync for Shared {}

impl Drop for Shared {
    fn drop(&mut self) {
        // Both sides are gone (Arc's drop synchronises with both), so the chain from the
        // consumer's buffer to the producer's is ours alone.
        let mut cur = self.oldest.with(|p| {
            // SAFETY: no other reference to `oldest` exists any more.
            unsafe { *p }
        });
        loop {
            // SAFETY: `cur` is a live buffer of this channel (the chain holds only unfreed ones).
            let next = unsafe { cur.as_ref() }.next.with(|p| {
                // SAFETY: the producer is gone; this read is ordered after its last write.
                unsafe { *p }
            });
            // SAFETY: each buffer of the chain is freed exactly here, once; nothing uses it later.
            unsafe { free(self, cur) };
            match NonNull::new(next) {
                Some(next) => cur = next,
                None => break,
            }
        }
        #[cfg(loom)]
        for header in self.graveyard.get_mut().unwrap().drain(..) {
            // SAFETY: leaked from a `Box` in `Buffer::alloc`; its bytes were freed in `free`, and
            // it is listed once.
            drop(unsafe { alloc::boxed::Box::from_raw(header as *mut Buffer) });
        }
    }
}

/// Creates a channel: the [`Producer`] and [`Consumer`] ends of one ring.
///
/// Fails with [`Error::InvalidConfig`] for out-of-range values, or [`Error::AllocFailed`].
pub fn channel(config: Config) -> Result<(Producer, Consumer), Error> {
    let cap = config.validate()?;
    let buf = Buffer::alloc(cap).ok_or(Error::AllocFailed { size: cap })?;
    let shared = Arc::new(Shared {
        head: CachePadded(AtomicUsize::new(0)),
        tail: CachePadded(AtomicUsize::new(0)),
        oldest: UnsafeCell::new(buf),
        #[cfg(loom)]
        graveyard: std::sync::Mutex::new(alloc::vec::Vec::new()),
    });
    // The largest payload whose record plus the reserved marker room fits in `max_capacity`.
    let max_cap = config.max_capacity - config.max_capacity % HDR;
    let max_len = config.max_record_len.min(max_cap - 2 * HDR);
    let producer = Producer {
        shared: shared.clone(),
        buf,
        base: 0,
        tail: 0,
        off: 0,
        published: 0,
        pending: 0,
        head_cache: 0,
        publish_every: config.publish_every,
        max_len,
        max_cap,
        multiplier: config.realloc_multiplier,
    };
    let consumer = Consumer {
        shared,
        buf,
        head: 0,
        off: 0,
        tail_cache: 0,
        peeked: 0,
    };
    Ok((producer, consumer))
}

/// The writing end of a channel. It can move to another thread, but not be shared.
pub struct Producer {
    shared: Arc<Shared>,
    /// The buffer being written. Live for as long as the producer is in it: only the consumer
    /// frees a buffer, after following the `FORWARD` marker the producer leaves when it moves on.
    buf: NonNull<Buffer>,
    /// Position of offset 0 of `buf`: where the consumer enters it.
    base: usize,
    /// Position after the last item written (committed record or marker), published or not.
    /// `tail - max(head, base)` is the number of occupied bytes of `buf`, at most `cap - HDR`.
    tail: usize,
    /// Offset in `buf` matching `tail`: a multiple of [`HDR`], always below `cap`.
    off: usize,
    /// The last value stored to `Shared::tail`.
    published: usize,
    /// Records committed since the last publication.
    pending: usize,
    /// A past value of `Shared::head`: the consumer has released at least this much, so using it
    /// can only underestimate free space.
    head_cache: usize,
    /// Publish after this many records (at least 1).
    publish_every: usize,
    /// The largest payload accepted.
    max_len: usize,
    /// The largest buffer size, a multiple of [`HDR`].
    max_cap: usize,
    /// Growth factor.
    multiplier: f64,
}

// SAFETY: the producer's buffer pointer is only dereferenced by the producer (the consumer reaches
// the same bytes only through the Release/Acquire protocol), so moving the producer to another
// thread moves that exclusive right with it.
unsafe impl Send for Producer {}

impl fmt::Debug for Producer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.capacity())
            .field("tail", &self.tail)
            .field("published", &self.published)
            .finish_non_exhaustive()
    }
}

impl Producer {
    #[inline]
    fn buffer(&self) -> &Buffer {
        // SAFETY: `buf` is live while the producer is in it (field invariant).
        unsafe { self.buf.as_ref() }
    }

    /// Reserves room for a record of up to `len` payload bytes and returns the slot to write it
    /// in. Wait-free: when the ring is full it grows (allocating) instead of waiting.
    ///
    /// Errors: [`Error::TooLarge`] (never fits), [`Error::Full`] (full at `max_capacity`; retry
    /// later), [`Error::AllocFailed`]. After an error nothing was lost and the producer is usable.
    ///
    /// The slot's bytes hold stale data; the payload is 8-byte aligned.
    #[inline]
    pub fn reserve(&mut self, len: usize) -> Result<WriteSlot<'_>, Error> {
        if len > self.max_len {
            return Err(Error::TooLarge {
                len,
                max: self.max_len,
            });
        }
        self.make_room(record_size(len))?;
        Ok(WriteSlot {
            producer: self,
            len,
        })
    }

    /// Copies `record` into the ring as one record ([`reserve`](Self::reserve) and commit).
    #[inline]
    pub fn push(&mut self, record: &[u8]) -> Result<(), Error> {
        let mut slot = self.reserve(record.len())?;
        slot.copy_from_slice(record);
        slot.commit(record.len());
        Ok(())
    }

    /// Publishes every committed record now. Cheap: one store, and none if nothing is pending.
    /// Call it before a wake-up check when `publish_every > 1`.
    #[inline]
    pub fn flush(&mut self) {
        if self.tail != self.published {
            self.publish();
        }
    }

    /// Committed records not yet published.
    #[inline]
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// The size of the buffer now being written.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buffer().cap
    }

    /// Bytes written and not yet released by the consumer: committed records (published or
    /// not) with their headers and padding, and any buffer end skipped by a marker. A gauge for
    /// monitoring: the consumer's position is read without ordering, so it may lag.
    #[inline]
    pub fn used_bytes(&self) -> usize {
        // Relaxed: a statistic; `head` only grows towards our `tail`, so a stale value
        // overstates the fill level by what was released meanwhile, never understates it.
        self.tail
            .wrapping_sub(self.shared.head.load(Ordering::Relaxed))
    }

    /// Whether the consumer has been dropped (records pushed now are never read).
    pub fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.shared) < 2
    }

    #[inline]
    fn publish(&mut self) {
        // Release: the writes of every item below `tail` (headers, payloads, `Buffer::next`)
        // become visible to the consumer's Acquire load that reads this value.
        self.shared.tail.store(self.tail, Ordering::Release);
        self.published = self.tail;
        self.pending = 0;
    }

    /// The consumer's position as seen from `buf`: `base` while it is still in an older buffer.
    #[inline]
    fn effective_head(&self) -> usize {
        // Positions are compared by wrapping difference; live spans are far below isize::MAX.
        if (self.head_cache.wrapping_sub(self.base) as isize) < 0 {
            self.base
        } else {
            self.head_cache
        }
    }

    /// Makes sure an item of `size` bytes can be written at `off`, wrapping or growing.
    #[inline]
    fn make_room(&mut self, size: usize) -> Result<(), Error> {
        // Fast path, no shared access: the item fits before the end of the buffer and within the
        // free space known from the cached head. (`used + size + HDR <= cap` implies the slow
        // path's `size + HDR <= cap`; nothing overflows: `size` is bounded by `max_len`.)
        let cap = self.buffer().cap;
        let used = self.tail.wrapping_sub(self.effective_head());
        if self.off + size <= cap && used + size + HDR <= cap {
            return Ok(());
        }
        self.make_room_slow(size)
    }

    /// [`make_room`](Self::make_room) when the cached head says no: refresh it, wrap or grow.
    #[inline(never)]
    fn make_room_slow(&mut self, size: usize) -> Result<(), Error> {
        let cap = self.buffer().cap;
        if size + HDR <= cap {
            for refreshed in [false, true] {
                if refreshed {
                    // Acquire: the consumer's reads of the space it released happen before our
                    // writes into it.
                    self.head_cache = self.shared.head.load(Ordering::Acquire);
                }
                let used = self.tail.wrapping_sub(self.effective_head());
                if self.off + size <= cap {
                    if used + size + HDR <= cap {
                        return Ok(());
                    }
                } else {
                    let skip = cap - self.off;
                    if used + skip + size + HDR <= cap {
                        // SAFETY: `off < cap`, a multiple of HDR; the check above shows those
                        // bytes are free.
                        unsafe { self.buffer().write_header(self.off, KIND_WRAP, 0) };
                        self.tail = self.tail.wrapping_add(skip);
                        self.off = 0;
                        return Ok(());
                    }
                }
            }
        }
        self.grow(size)
    }

    /// Moves to a new, larger buffer that can hold an item of `size` bytes, leaving a `FORWARD`
    /// marker at `off`.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, size: usize) -> Result<(), Error> {
        let cap = self.buffer().cap;
        let needed = size + HDR;
        let mut new_cap = cap;
        while new_cap < needed || new_cap == cap {
            // Float maths only sizes the buffer; exactness does not matter.
            let grown = (new_cap as f64 * self.multiplier) as usize;
            new_cap = grown.max(new_cap + HDR).next_multiple_of(HDR);
            if new_cap >= self.max_cap {
                new_cap = self.max_cap;
                break;
            }
        }
        if new_cap < needed {
            // Only reachable when `max_cap` is too small, which `max_len` already rules out.
            return Err(Error::TooLarge {
                len: size - HDR,
                max: self.max_len,
            });
        }
        if new_cap <= cap {
            return Err(Error::Full);
        }
        let new = Buffer::alloc(new_cap).ok_or(Error::AllocFailed { size: new_cap })?;
        let buf = self.buffer();
        buf.next.with_mut(|p| {
            // SAFETY: only the producer writes `next`, and the consumer reads it only after the
            // marker below is published.
            unsafe { *p = new.as_ptr() }
        });
        // SAFETY: `off < cap`, a multiple of HDR, and the HDR bytes there are free: the producer
        // always leaves HDR free bytes after its last item.
        unsafe { buf.write_header(self.off, KIND_FORWARD, 0) };
        self.tail = self.tail.wrapping_add(cap - self.off);
        self.base = self.tail;
        self.off = 0;
        // From here on the old buffer belongs to the consumer, which frees it.
        self.buf = new;
        Ok(())
    }

    #[inline]
    fn commit(&mut self, len: usize) {
        // SAFETY: `make_room` reserved `record_size(reserved len) + HDR` free bytes at `off`,
        // and `len` is at most the reserved length.
        unsafe { self.buffer().write_header(self.off, KIND_RECORD, len) };
        let size = record_size(len);
        self.tail = self.tail.wrapping_add(size);
        self.off += size;
        if self.off == self.buffer().cap {
            self.off = 0;
        }
        self.pending += 1;
        if self.pending >= self.publish_every {
            self.publish();
        }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        // Whatever was committed is delivered.
        self.flush();
    }
}

/// Space for one record, from [`Producer::reserve`]. Write the payload through `DerefMut`, then
/// [`commit`](WriteSlot::commit). Dropping it without committing writes nothing.
pub struct WriteSlot<'a> {
    producer: &'a mut Producer,
    len: usize,
}

impl fmt::Debug for WriteSlot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteSlot")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl WriteSlot<'_> {
    /// Commits the first `len` bytes of the slot as one record.
    ///
    /// # Panics
    ///
    /// If `len` exceeds the reserved length.
    #[inline]
    pub fn commit(self, len: usize) {
        assert!(
            len <= self.len,
            "committed {len} bytes of a {}-byte slot",
            self.len
        );
        self.producer.commit(len);
    }

    /// Commits the whole slot as one record.
    #[inline]
    pub fn commit_all(self) {
        let len = self.len;
        self.producer.commit(len);
    }
}

impl Deref for WriteSlot<'_> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        let buf = self.producer.buffer();
        buf.track_read(self.producer.off + HDR, self.len);
        // SAFETY: `make_room` reserved `[off + HDR, off + HDR + len)` inside `buf` for the
        // producer alone; the bytes are initialised (see `Buffer::data`).
        unsafe { core::slice::from_raw_parts(buf.at(self.producer.off + HDR), self.len) }
    }
}

impl DerefMut for WriteSlot<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        let buf = self.producer.buffer();
        buf.track_write(self.producer.off + HDR, self.len);
        // SAFETY: as in `deref`; `&mut self` makes this the only reference to those bytes.
        unsafe { core::slice::from_raw_parts_mut(buf.at(self.producer.off + HDR), self.len) }
    }
}

/// The reading end of a channel. It can move to another thread, but not be shared.
pub struct Consumer {
    shared: Arc<Shared>,
    /// The buffer being read. Live until the consumer frees it after following its `FORWARD`
    /// marker (or the channel drops it).
    buf: NonNull<Buffer>,
    /// Position of the next item to read. May run ahead of the published `Shared::head` (after
    /// skipped markers), never behind it.
    head: usize,
    /// Offset in `buf` matching `head`: a multiple of [`HDR`], always below `cap`.
    off: usize,
    /// A past value of `Shared::tail`; everything below it is published.
    tail_cache: usize,
    /// Size of the record returned by the last `peek` and not yet released, or 0.
    peeked: usize,
}

// SAFETY: the consumer's buffer pointer is only dereferenced by the consumer for bytes the
// producer has published to it, so moving the consumer to another thread is sound.
unsafe impl Send for Consumer {}

impl fmt::Debug for Consumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &self.buffer().cap)
            .field("head", &self.head)
            .field("tail_cache", &self.tail_cache)
            .finish_non_exhaustive()
    }
}

impl Consumer {
    #[inline]
    fn buffer(&self) -> &Buffer {
        // SAFETY: `buf` is live while the consumer is in it (field invariant).
        unsafe { self.buf.as_ref() }
    }

    /// Whether an item is published at `head`, reloading `tail` only when the cache says no.
    #[inline]
    fn available(&mut self) -> bool {
        if self.head == self.tail_cache {
            // Acquire: the producer's writes of everything below the loaded value happen before
            // our reads of it.
            self.tail_cache = self.shared.tail.load(Ordering::Acquire);
        }
        self.head != self.tail_cache
    }

    /// Skips markers at `head` (following and freeing on `FORWARD`) until a record or the end of
    /// the published data. Returns the record's payload length, if any.
    #[inline]
    fn settle(&mut self) -> Option<usize> {
        // Fast path: a record right at `head`.
        if !self.available() {
            return None;
        }
        // SAFETY: as in `settle_slow`: `off` is a multiple of HDR below `cap`, and the item at
        // `head` is published (`head < tail_cache`) and not rewritten before we release it.
        let (kind, len) = unsafe { self.buffer().read_header(self.off) };
        if kind == KIND_RECORD {
            Some(len)
        } else {
            self.settle_slow()
        }
    }

    /// [`settle`](Self::settle) past a marker.
    #[inline(never)]
    fn settle_slow(&mut self) -> Option<usize> {
        while self.available() {
            // SAFETY: `off` is a multiple of HDR below `cap`, and the item at `head` is published
            // (`head < tail_cache`) and not rewritten before we release it.
            let (kind, len) = unsafe { self.buffer().read_header(self.off) };
            match kind {
                KIND_RECORD => return Some(len),
                KIND_WRAP => {
                    self.head = self.head.wrapping_add(self.buffer().cap - self.off);
                    self.off = 0;
                }
                _ => {
                    debug_assert_eq!(kind, KIND_FORWARD);
                    self.follow_forward();
                }
            }
        }
        None
    }

    #[cold]
    #[inline(never)]
    fn follow_forward(&mut self) {
        let old = self.buf;
        let next = self.buffer().next.with(|p| {
            // SAFETY: the producer wrote `next` before the marker we just read, and published
            // both with its Release store of `tail`, which our Acquire load observed.
            unsafe { *p }
        });
        let next = NonNull::new(next).expect("forward marker without a next buffer");
        self.head = self.head.wrapping_add(self.buffer().cap - self.off);
        self.off = 0;
        self.buf = next;
        self.shared.oldest.with_mut(|p| {
            // SAFETY: only the consumer writes `oldest`; `Shared::drop` reads it after both sides
            // are gone.
            unsafe { *p = next }
        });
        // SAFETY: the producer left `old` for good when it wrote the marker; no slice into it
        // survives (`peek` and batches borrow `self` mutably, and a batch stops at a marker);
        // `oldest` no longer points to it, so the channel's drop will not free it again.
        unsafe { free(&self.shared, old) };
    }

    /// The next record's payload, without consuming it; `None` when nothing is published.
    /// Calling it again returns the same record until [`release`](Self::release).
    #[inline]
    pub fn peek(&mut self) -> Option<&[u8]> {
        let len = self.settle()?;
        self.peeked = record_size(len);
        let buf = self.buffer();
        buf.track_read(self.off + HDR, len);
        // SAFETY: the record at `off` is published and stays unmodified until released (the
        // producer only writes space the consumer has released); its bytes lie in `buf`
        // because records never wrap.
        Some(unsafe { core::slice::from_raw_parts(buf.at(self.off + HDR), len) })
    }

    /// Releases the record returned by the last [`peek`](Self::peek), handing its space back to
    /// the producer. Returns `false` (and does nothing) when no record is peeked.
    #[inline]
    pub fn release(&mut self) -> bool {
        if self.peeked == 0 {
            return false;
        }
        self.head = self.head.wrapping_add(self.peeked);
        self.off += self.peeked;
        if self.off == self.buffer().cap {
            self.off = 0;
        }
        self.peeked = 0;
        self.publish_head();
        true
    }

    #[inline]
    fn publish_head(&self) {
        // Release: our reads of the released records happen before the producer's Acquire load
        // that lets it overwrite them.
        self.shared.head.store(self.head, Ordering::Release);
    }

    /// Peeks up to `max` published records at once. Read them with [`Batch::iter`], then
    /// [`Batch::release`] them with a single store. A batch ends early where the producer moved
    /// to a new buffer; the next batch continues there.
    ///
    /// The batch holds what was published when it was taken. Its extent is found by the first
    /// walk over it, normally the caller's own iteration, so each record's header is read in the
    /// same pass as its payload: a separate counting pass ahead of the reads would pull every
    /// header line across cores twice as slowly as the reads themselves do (see the benches).
    #[inline]
    pub fn peek_batch(&mut self, max: usize) -> Batch<'_> {
        self.peeked = 0;
        // Skip markers (and follow forwards) first: nothing is borrowed yet.
        let empty = max == 0 || self.settle().is_none();
        if !empty {
            // Acquire: as in `available`; the batch takes everything published by now.
            self.tail_cache = self.shared.tail.load(Ordering::Acquire);
        }
        let start = Cursor {
            head: self.head,
            off: self.off,
            left: if empty { 0 } else { max },
            count: 0,
        };
        Batch {
            limit: self.tail_cache,
            start,
            // An empty batch's end is known now; any other's on its first complete walk.
            end: Cell::new(if empty { Some(start) } else { None }),
            consumer: self,
        }
    }

    /// Whether no record is published beyond the ones already read. Only markers may be left
    /// when it says `false` and [`peek`](Self::peek) then says `None`; that is harmless for a
    /// sleep re-check (one extra poll).
    #[inline]
    pub fn is_empty(&self) -> bool {
        // Acquire: pairs with the producer's Release store, as in `available`.
        self.shared.tail.load(Ordering::Acquire) == self.head
    }

    /// The size of the buffer now being read.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buffer().cap
    }

    /// Bytes published and not yet released (peeked records count until released), with
    /// headers, padding and skipped buffer ends, as [`Producer::used_bytes`] counts them.
    #[inline]
    pub fn used_bytes(&self) -> usize {
        // Relaxed: a statistic; a stale `tail` understates by what was published meanwhile.
        self.shared
            .tail
            .load(Ordering::Relaxed)
            .wrapping_sub(self.head)
    }

    /// Whether the producer has been dropped. Records it published are still readable.
    pub fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.shared) < 2
    }
}

/// Where a walk over a batch stands.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    /// Position of the next item.
    head: usize,
    /// Offset in the consumer's buffer matching `head`, at most `cap` (`cap` means 0).
    off: usize,
    /// Records the batch may still take (`max` minus those taken).
    left: usize,
    /// Records taken so far.
    count: usize,
}

impl Cursor {
    /// The next record of the batch, as its payload offset and length, advancing past it (and
    /// past any wrap marker before it); `None` at the end of the batch: `left` records taken,
    /// `limit` reached or a forward marker found, where the cursor then stays.
    ///
    /// # Safety
    ///
    /// `buf` is the consumer's buffer, `self` starts at the consumer's position, and everything
    /// in `[self.head, limit)` was published to this thread and is not yet released (the batch's
    /// borrow of the consumer keeps it so).
    #[inline]
    unsafe fn next_record(&mut self, buf: &Buffer, limit: usize) -> Option<(usize, usize)> {
        while self.left > 0 && self.head != limit {
            if self.off == buf.cap {
                self.off = 0;
            }
            // SAFETY: `off` is a multiple of HDR below `cap`, and the item at `head` lies in the
            // published, unreleased span (caller).
            let (kind, len) = unsafe { buf.read_header(self.off) };
            match kind {
                KIND_RECORD => {
                    let at = self.off + HDR;
                    let size = record_size(len);
                    self.head = self.head.wrapping_add(size);
                    self.off += size;
                    self.left -= 1;
                    self.count += 1;
                    return Some((at, len));
                }
                KIND_WRAP => {
                    self.head = self.head.wrapping_add(buf.cap - self.off);
                    self.off = 0;
                }
                // A forward marker ends the batch: following it would free the buffer the
                // batch's records live in.
                _ => return None,
            }
        }
        None
    }
}

/// Records peeked together by [`Consumer::peek_batch`].
pub struct Batch<'a> {
    consumer: &'a mut Consumer,
    /// The consumer's position: the batch's first record (or markers before it).
    start: Cursor,
    /// The published position when the batch was taken; the batch ends there at the latest.
    limit: usize,
    /// The cursor at the end of the batch, once a walk has reached it.
    end: Cell<Option<Cursor>>,
}

impl fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Batch<'a> {
    /// The end of the batch, walking the headers if no iteration has reached it yet.
    #[inline]
    fn end(&self) -> Cursor {
        if let Some(end) = self.end.get() {
            return end;
        }
        let buf = self.consumer.buffer();
        let mut cursor = self.start;
        // SAFETY: the batch's cursor over its own published, unreleased span (see `Cursor`).
        while unsafe { cursor.next_record(buf, self.limit) }.is_some() {}
        self.end.set(Some(cursor));
        cursor
    }

    /// Number of records in the batch. Cheap after a complete iteration; before one, it reads
    /// every header of the batch.
    #[inline]
    pub fn len(&self) -> usize {
        self.end().count
    }

    /// Whether the batch holds no record.
    #[inline]
    pub fn is_empty(&self) -> bool {
        // A non-empty batch starts at a record (`peek_batch` settled on one).
        self.start.left == 0
    }

    /// The records, in order. Slices from several calls may be held at once.
    #[inline]
    pub fn iter(&self) -> BatchIter<'_> {
        BatchIter {
            buf: self.consumer.buffer(),
            cursor: self.start,
            limit: self.limit,
            end: &self.end,
        }
    }

    /// Releases every record of the batch with one store. Dropping the batch instead releases
    /// nothing: the records are read again.
    #[inline]
    pub fn release(self) {
        let end = self.end();
        let consumer = self.consumer;
        if end.count > 0 {
            consumer.head = end.head;
            consumer.off = if end.off == consumer.buffer().cap {
                0
            } else {
                end.off
            };
            consumer.publish_head();
        }
    }
}

impl<'b> IntoIterator for &'b Batch<'_> {
    type Item = &'b [u8];
    type IntoIter = BatchIter<'b>;
    #[inline]
    fn into_iter(self) -> BatchIter<'b> {
        self.iter()
    }
}

/// Iterator over a [`Batch`]'s records.
pub struct BatchIter<'b> {
    buf: &'b Buffer,
    cursor: Cursor,
    limit: usize,
    /// The batch's end, recorded when this iterator reaches it.
    end: &'b Cell<Option<Cursor>>,
}

impl fmt::Debug for BatchIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchIter")
            .field("taken", &self.cursor.count)
            .finish_non_exhaustive()
    }
}

impl<'b> Iterator for BatchIter<'b> {
    type Item = &'b [u8];

    #[inline]
    fn next(&mut self) -> Option<&'b [u8]> {
        // SAFETY: the cursor started at the batch's start and walks the batch's published,
        // unreleased span, which the batch's borrow of the consumer keeps unreleased for `'b`.
        match unsafe { self.cursor.next_record(self.buf, self.limit) } {
            Some((at, len)) => {
                self.buf.track_read(at, len);
                // SAFETY: a published record inside `buf` (records never wrap), unmodified
                // while the batch lives.
                Some(unsafe { core::slice::from_raw_parts(self.buf.at(at), len) })
            }
            None => {
                self.end.set(Some(self.cursor));
                None
            }
        }
    }

    /// Exact; before the batch's end is known, finding it reads the remaining headers once.
    fn size_hint(&self) -> (usize, Option<usize>) {
        let end = match self.end.get() {
            Some(end) => end,
            None => {
                let mut cursor = self.cursor;
                // SAFETY: as in `next`, on a copy of this iterator's cursor.
                while unsafe { cursor.next_record(self.buf, self.limit) }.is_some() {}
                self.end.set(Some(cursor));
                cursor
            }
        };
        let left = end.count - self.cursor.count;
        (left, Some(left))
    }
}

impl ExactSizeIterator for BatchIter<'_> {}
