//! Decoding read parameters from a message payload: what [`rs_app!`](crate::rs_app) generates
//! calls into. Every failure is [`WrongSize`] (close code 4900), so a callback never sees a
//! short buffer.

use core::fmt;
use core::ops::Deref;

/// How an integer's bytes are ordered in the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// As they are (`RS_NET`): the sender's own order, copied raw.
    Net,
    /// Network byte order, converted to the host's (`RS_NTOH`).
    Ntoh,
}

/// The payload does not fit the declared parameters (close code 4900).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongSize;

impl fmt::Display for WrongSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the payload does not fit the declared read parameters")
    }
}

impl std::error::Error for WrongSize {}

/// A value a read parameter can hold: fixed-size plain data.
pub trait Wire: Copy + Sized {
    /// Bytes on the wire.
    const SIZE: usize;
    /// Decodes from exactly `SIZE` bytes.
    fn decode(bytes: &[u8], order: Order) -> Self;
    /// The bytes themselves as elements, when that needs no copy (bytes only).
    fn borrow(bytes: &[u8]) -> Option<&[Self]> {
        let _ = bytes;
        None
    }
}

macro_rules! wire_num {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            const SIZE: usize = size_of::<$t>();
            #[inline]
            fn decode(bytes: &[u8], order: Order) -> Self {
                let mut raw = [0; size_of::<$t>()];
                raw.copy_from_slice(bytes);
                match order {
                    Order::Net => <$t>::from_ne_bytes(raw),
                    Order::Ntoh => <$t>::from_be_bytes(raw),
                }
            }
        }
    )*};
}

wire_num!(i8, u16, i16, u32, i32, u64, i64, f32, f64);

impl Wire for u8 {
    const SIZE: usize = 1;
    #[inline]
    fn decode(bytes: &[u8], _: Order) -> Self {
        bytes[0]
    }
    fn borrow(bytes: &[u8]) -> Option<&[Self]> {
        Some(bytes)
    }
}

/// A final variable-length array: borrowed from the payload when no conversion is needed
/// (`u8`), else decoded into an owned buffer.
#[derive(Debug)]
pub enum Elems<'a, T> {
    /// Zero-copy.
    Borrowed(&'a [T]),
    /// Decoded.
    Owned(Vec<T>),
}

impl<T> Deref for Elems<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Self::Borrowed(s) => s,
            Self::Owned(v) => v,
        }
    }
}

/// A cursor over a payload that hands out parameters front to back.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over the whole `payload`.
    pub fn new(payload: &'a [u8]) -> Self {
        Self { rest: payload }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], WrongSize> {
        if self.rest.len() < len {
            return Err(WrongSize);
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    /// The rest, as whole `T`s, `min..=max` of them.
    fn take_rest(&mut self, size: usize, min: usize, max: usize) -> Result<&'a [u8], WrongSize> {
        let len = self.rest.len();
        let count = len / size;
        if !len.is_multiple_of(size) || count < min || count > max {
            return Err(WrongSize);
        }
        self.take(len)
    }

    /// One value (`RS_NET(type)` / `RS_NTOH(type)`).
    pub fn one<T: Wire>(&mut self, order: Order) -> Result<T, WrongSize> {
        Ok(T::decode(self.take(T::SIZE)?, order))
    }

    /// `N` values (`RS_NET(type, elem_c)`).
    pub fn array<T: Wire, const N: usize>(&mut self, order: Order) -> Result<[T; N], WrongSize> {
        let bytes = self.take(T::SIZE.checked_mul(N).ok_or(WrongSize)?)?;
        let mut chunks = bytes.chunks_exact(T::SIZE);
        // `take` returned exactly N chunks.
        Ok(core::array::from_fn(|_| {
            T::decode(chunks.next().unwrap_or_default(), order)
        }))
    }

    /// The rest of the payload as `min..=max` values (`RS_NET(type, min, max)`): must be last.
    pub fn rest<T: Wire>(
        &mut self,
        order: Order,
        min: usize,
        max: usize,
    ) -> Result<Elems<'a, T>, WrongSize> {
        let bytes = self.take_rest(T::SIZE, min, max)?;
        Ok(match T::borrow(bytes) {
            Some(elems) => Elems::Borrowed(elems),
            None => Elems::Owned(decode_all(bytes, order)),
        })
    }

    /// As [`rest`](Self::rest), owned (`RS_NET_HEAP`).
    pub fn rest_vec<T: Wire>(
        &mut self,
        order: Order,
        min: usize,
        max: usize,
    ) -> Result<Vec<T>, WrongSize> {
        Ok(decode_all(self.take_rest(T::SIZE, min, max)?, order))
    }

    /// The rest as a string of `min..=max` bytes: valid UTF-8 without NUL (`RS_STR`). Must be
    /// last.
    pub fn rest_str(&mut self, min: usize, max: usize) -> Result<&'a str, WrongSize> {
        let bytes = self.take_rest(1, min, max)?;
        if bytes.contains(&0) {
            return Err(WrongSize);
        }
        core::str::from_utf8(bytes).map_err(|_| WrongSize)
    }

    /// As [`rest_str`](Self::rest_str), owned (`RS_STR_HEAP`).
    pub fn rest_string(&mut self, min: usize, max: usize) -> Result<String, WrongSize> {
        self.rest_str(min, max).map(String::from)
    }

    /// Succeeds when the whole payload was consumed.
    pub fn finish(&self) -> Result<(), WrongSize> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(WrongSize)
        }
    }
}

fn decode_all<T: Wire>(bytes: &[u8], order: Order) -> Vec<T> {
    bytes
        .chunks_exact(T::SIZE)
        .map(|c| T::decode(c, order))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_in_both_orders() {
        let bytes = [0x01, 0x02, 0x03, 0x04];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.one::<u32>(Order::Ntoh), Ok(0x0102_0304));
        r.finish().unwrap();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.one::<u32>(Order::Net), Ok(u32::from_ne_bytes(bytes)));
        let mut r = Reader::new(&[0xFF, 0xFE]);
        assert_eq!(r.one::<i16>(Order::Ntoh), Ok(-2));
        let mut r = Reader::new(&[0x80]);
        assert_eq!(r.one::<i8>(Order::Ntoh), Ok(-128));
        let pi = std::f64::consts::PI.to_be_bytes();
        assert_eq!(
            Reader::new(&pi).one::<f64>(Order::Ntoh),
            Ok(std::f64::consts::PI)
        );
        assert_eq!(
            Reader::new(&bytes[..3]).one::<u32>(Order::Ntoh),
            Err(WrongSize)
        );
        let mut r = Reader::new(&bytes);
        r.one::<u16>(Order::Ntoh).unwrap();
        assert_eq!(r.finish(), Err(WrongSize));
    }

    #[test]
    fn fixed_arrays() {
        let bytes = [0, 1, 0, 2, 0, 3];
        assert_eq!(
            Reader::new(&bytes).array::<u16, 3>(Order::Ntoh),
            Ok([1, 2, 3])
        );
        assert_eq!(
            Reader::new(&bytes).array::<u16, 4>(Order::Ntoh),
            Err(WrongSize)
        );
        assert_eq!(Reader::new(&[]).array::<u64, 0>(Order::Ntoh), Ok([]));
    }

    #[test]
    fn variable_arrays_respect_counts_and_element_size() {
        let bytes = [0, 1, 0, 2, 0, 3];
        let mut r = Reader::new(&bytes);
        assert_eq!(&*r.rest::<u16>(Order::Ntoh, 1, 3).unwrap(), [1, 2, 3]);
        r.finish().unwrap();
        assert!(
            Reader::new(&bytes).rest::<u16>(Order::Ntoh, 4, 10).is_err(),
            "below min"
        );
        assert!(
            Reader::new(&bytes).rest::<u16>(Order::Ntoh, 0, 2).is_err(),
            "above max"
        );
        assert!(
            Reader::new(&bytes[..5])
                .rest::<u16>(Order::Ntoh, 0, 9)
                .is_err(),
            "partial"
        );
        assert!(
            Reader::new(&[])
                .rest::<u16>(Order::Ntoh, 0, 9)
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            Reader::new(&bytes).rest::<u8>(Order::Net, 0, 9),
            Ok(Elems::Borrowed(_))
        ));
        assert_eq!(
            Reader::new(&bytes).rest_vec::<u16>(Order::Ntoh, 3, 3),
            Ok(vec![1, 2, 3])
        );
    }

    #[test]
    fn strings() {
        assert_eq!(Reader::new("笑笑".as_bytes()).rest_str(6, 6), Ok("笑笑"));
        assert_eq!(Reader::new(b"abc").rest_str(4, 9), Err(WrongSize));
        assert_eq!(Reader::new(b"abc").rest_str(0, 2), Err(WrongSize));
        assert_eq!(Reader::new(b"a\0c").rest_str(0, 9), Err(WrongSize), "NUL");
        assert_eq!(
            Reader::new(&[0xE7, 0xAC]).rest_str(0, 9),
            Err(WrongSize),
            "cut UTF-8"
        );
        assert_eq!(Reader::new(b"").rest_string(0, 0), Ok(String::new()));
    }
}
