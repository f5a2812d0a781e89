//! Caller-owned byte buffers: where reassembled messages and outgoing bytes live.
//!
//! The engine never allocates. It appends to a [`Buffer`] the caller passes in, so the caller
//! decides whether bytes live in a growable `Vec<u8>` (feature `alloc`), a `heapless::Vec`
//! (feature `heapless`), a fixed slice ([`SliceBuffer`]) or anything else that implements the
//! trait.

/// A byte buffer the engine can append to.
pub trait Buffer {
    /// The bytes appended since the last [`clear`](Buffer::clear).
    fn as_slice(&self) -> &[u8];

    /// Forgets every byte; capacity may be kept.
    fn clear(&mut self);

    /// How many more bytes [`try_extend_from_slice`](Buffer::try_extend_from_slice) is
    /// guaranteed to accept.
    fn remaining_capacity(&self) -> usize;

    /// Appends all of `bytes`, or nothing when they do not fit.
    fn try_extend_from_slice(&mut self, bytes: &[u8]) -> Result<(), BufferFull>;

    /// Number of bytes held.
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether no bytes are held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A [`Buffer`] could not take the bytes offered; nothing was appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferFull;

impl core::fmt::Display for BufferFull {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("buffer full")
    }
}

impl core::error::Error for BufferFull {}

#[cfg(feature = "alloc")]
impl Buffer for alloc::vec::Vec<u8> {
    fn as_slice(&self) -> &[u8] {
        self
    }

    fn clear(&mut self) {
        alloc::vec::Vec::clear(self);
    }

    fn remaining_capacity(&self) -> usize {
        // A Vec grows on demand; `isize::MAX` is its hard ceiling.
        (isize::MAX as usize) - self.len()
    }

    fn try_extend_from_slice(&mut self, bytes: &[u8]) -> Result<(), BufferFull> {
        self.try_reserve(bytes.len()).map_err(|_| BufferFull)?;
        self.extend_from_slice(bytes);
        Ok(())
    }
}

#[cfg(feature = "heapless")]
impl<const N: usize> Buffer for heapless::Vec<u8, N> {
    fn as_slice(&self) -> &[u8] {
        self
    }

    fn clear(&mut self) {
        heapless::Vec::clear(self);
    }

    fn remaining_capacity(&self) -> usize {
        self.capacity() - self.len()
    }

    fn try_extend_from_slice(&mut self, bytes: &[u8]) -> Result<(), BufferFull> {
        // heapless checks the room first: on error nothing was appended.
        self.extend_from_slice(bytes).map_err(|_| BufferFull)
    }
}

#[cfg(feature = "heapless")]
impl<const N: usize> Output for heapless::Vec<u8, N> {}

/// A [`Buffer`] over a fixed, caller-provided slice: no allocation at all.
#[derive(Debug)]
pub struct SliceBuffer<'a> {
    storage: &'a mut [u8],
    len: usize,
}

impl<'a> SliceBuffer<'a> {
    /// An empty buffer that can hold `storage.len()` bytes.
    pub fn new(storage: &'a mut [u8]) -> Self {
        Self { storage, len: 0 }
    }

    /// The filled part, mutably (e.g. to mask a client payload in place).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[..self.len]
    }
}

impl Buffer for SliceBuffer<'_> {
    fn as_slice(&self) -> &[u8] {
        &self.storage[..self.len]
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    fn remaining_capacity(&self) -> usize {
        self.storage.len() - self.len
    }

    fn try_extend_from_slice(&mut self, bytes: &[u8]) -> Result<(), BufferFull> {
        let end = self.len.checked_add(bytes.len()).ok_or(BufferFull)?;
        let dst = self.storage.get_mut(self.len..end).ok_or(BufferFull)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

/// Where the engine writes frames: a [`Buffer`] that, for the client role, also supplies a fresh
/// mask key per frame.
///
/// Every client frame is masked with a key "derived from a strong source of entropy" (RFC 6455
/// §5.3) and the engine has no RNG, so clients wrap their buffer in a [`ClientOutput`] with the
/// caller's key source. Servers pass any buffer directly.
pub trait Output: Buffer {
    /// A fresh, unpredictable mask key, or `None` when this output has no key source.
    fn mask_key(&mut self) -> Option<[u8; 4]> {
        None
    }
}

#[cfg(feature = "alloc")]
impl Output for alloc::vec::Vec<u8> {}

impl Output for SliceBuffer<'_> {}

/// An [`Output`] for the client role: a buffer plus a closure that returns a fresh random mask
/// key each time it is called.
#[derive(Debug)]
pub struct ClientOutput<'a, B: ?Sized, K> {
    /// The buffer frames are appended to.
    pub buffer: &'a mut B,
    /// The mask-key source, e.g. a CSPRNG.
    pub mask_keys: K,
}

impl<B: Buffer + ?Sized, K: FnMut() -> [u8; 4]> Buffer for ClientOutput<'_, B, K> {
    fn as_slice(&self) -> &[u8] {
        self.buffer.as_slice()
    }

    fn clear(&mut self) {
        self.buffer.clear();
    }

    fn remaining_capacity(&self) -> usize {
        self.buffer.remaining_capacity()
    }

    fn try_extend_from_slice(&mut self, bytes: &[u8]) -> Result<(), BufferFull> {
        self.buffer.try_extend_from_slice(bytes)
    }
}

impl<B: Buffer + ?Sized, K: FnMut() -> [u8; 4]> Output for ClientOutput<'_, B, K> {
    fn mask_key(&mut self) -> Option<[u8; 4]> {
        Some((self.mask_keys)())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_buffer_is_all_or_nothing() {
        let mut storage = [0u8; 4];
        let mut buf = SliceBuffer::new(&mut storage);
        buf.try_extend_from_slice(b"abc").unwrap();
        assert_eq!(buf.try_extend_from_slice(b"de"), Err(BufferFull));
        assert_eq!(buf.as_slice(), b"abc");
        assert_eq!(buf.remaining_capacity(), 1);
        buf.try_extend_from_slice(b"d").unwrap();
        assert_eq!(buf.as_slice(), b"abcd");
        buf.clear();
        assert!(buf.is_empty());
    }

    #[cfg(feature = "heapless")]
    #[test]
    fn heapless_buffer_is_all_or_nothing() {
        let mut buf = heapless::Vec::<u8, 4>::new();
        buf.try_extend_from_slice(b"abc").unwrap();
        assert_eq!(buf.try_extend_from_slice(b"de"), Err(BufferFull));
        assert_eq!(Buffer::as_slice(&buf), b"abc");
        assert_eq!(buf.remaining_capacity(), 1);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn vec_buffer_grows() {
        let mut buf = alloc::vec::Vec::new();
        Buffer::try_extend_from_slice(&mut buf, &[1; 1000]).unwrap();
        assert_eq!(Buffer::len(&buf), 1000);
    }
}
