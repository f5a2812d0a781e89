//! Incremental UTF-8 validation that fails fast (RFC 6455 §8.1).
//!
//! Text arrives in arbitrary pieces: frames, fragments and partial reads. The validator keeps at
//! most three bytes of an unfinished code point between pieces and rejects the input as soon as
//! the bytes seen so far can no longer start a valid sequence (overlongs, surrogates and code
//! points above U+10FFFF are caught on their second byte, as `core::str::from_utf8` does).

/// UTF-8 validation state carried across pieces of one text message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Utf8Validator {
    /// The start of an unfinished code point; only `pending[..pending_len]` is meaningful.
    pending: [u8; 3],
    pending_len: u8,
}

/// The input can never become valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// A validator at a code point boundary.
    pub const fn new() -> Self {
        Self {
            pending: [0; 3],
            pending_len: 0,
        }
    }

    /// Validates the next piece. `Err` as soon as the text cannot become valid.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), InvalidUtf8> {
        if self.pending_len > 0 {
            bytes = self.complete_pending(bytes)?;
            if self.pending_len > 0 {
                return Ok(()); // still unfinished: `bytes` was used up
            }
        }
        match core::str::from_utf8(bytes) {
            Ok(_) => Ok(()),
            Err(err) => {
                if err.error_len().is_some() {
                    return Err(InvalidUtf8);
                }
                // An unfinished but so far valid sequence (at most three bytes) at the end.
                let tail = &bytes[err.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len() as u8;
                Ok(())
            }
        }
    }

    /// Whether the text seen so far ends on a code point boundary: a message may end here.
    pub const fn is_complete(&self) -> bool {
        self.pending_len == 0
    }

    /// Validates a piece that ends the text.
    pub fn finish(&mut self, bytes: &[u8]) -> Result<(), InvalidUtf8> {
        self.feed(bytes)?;
        if self.is_complete() {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }

    /// Back to a code point boundary, for the next message.
    pub fn reset(&mut self) {
        self.pending_len = 0;
    }

    /// Completes the pending code point with bytes from `input`; returns the rest of `input`.
    fn complete_pending<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], InvalidUtf8> {
        let have = usize::from(self.pending_len);
        let need = utf8_sequence_len(self.pending[0]);
        let take = (need - have).min(input.len());
        let mut seq = [0u8; 4];
        seq[..have].copy_from_slice(&self.pending[..have]);
        seq[have..have + take].copy_from_slice(&input[..take]);
        let filled = have + take;
        match core::str::from_utf8(&seq[..filled]) {
            Ok(_) => self.pending_len = 0,
            Err(err) if err.error_len().is_some() => return Err(InvalidUtf8),
            Err(_) => {
                // Still a valid prefix; `input` was too short to finish it.
                self.pending[..filled].copy_from_slice(&seq[..filled]);
                self.pending_len = filled as u8;
            }
        }
        Ok(&input[take..])
    }
}

/// Length of the sequence a valid lead byte starts. Only called on bytes `from_utf8` accepted as
/// the start of an unfinished sequence, so the lead byte is 0xC2..=0xF4.
fn utf8_sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_bytewise(bytes: &[u8]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        for b in bytes {
            v.feed(core::slice::from_ref(b))?;
        }
        v.finish(&[])
    }

    #[test]
    fn valid_text_in_any_split() {
        let text = "κόσμε aé€𝄞 Hello-µ@ßöäüàá-UTF-8!!".as_bytes();
        for split in 0..=text.len() {
            let mut v = Utf8Validator::new();
            v.feed(&text[..split]).unwrap();
            v.finish(&text[split..]).unwrap();
        }
        feed_bytewise(text).unwrap();
    }

    // RFC 3629 §3 / RFC 6455 §8.1: surrogates, overlongs and > U+10FFFF fail on the first byte
    // that makes the sequence impossible, not at the end of the message.
    #[test]
    fn fails_fast_inside_a_sequence() {
        for (bad, fail_at) in [
            (&b"\xed\xa0\x80"[..], 1), // surrogate U+D800
            (b"\xf4\x90\x80\x80", 1),  // U+110000
            (b"\xe0\x80\x80", 1),      // overlong
            (b"\xc0\xaf", 0),          // overlong lead byte
            (b"\xf8\x88\x80\x80", 0),  // 5-byte form
            (b"\xe2\x82A", 2),         // ASCII where a continuation byte must be
        ] {
            let mut v = Utf8Validator::new();
            let mut failed = None;
            for (i, b) in bad.iter().enumerate() {
                if v.feed(core::slice::from_ref(b)).is_err() {
                    failed = Some(i);
                    break;
                }
            }
            assert_eq!(failed, Some(fail_at), "{bad:x?}");
        }
    }

    #[test]
    fn unfinished_sequence_is_invalid_at_the_end() {
        assert_eq!(feed_bytewise(b"abc\xe2\x82"), Err(InvalidUtf8));
        let mut v = Utf8Validator::new();
        v.feed(b"\xf0\x9d").unwrap();
        assert!(!v.is_complete());
        v.feed(b"\x84").unwrap();
        v.finish(b"\x9e").unwrap();
    }

    #[test]
    fn invalid_continuation_after_pending() {
        let mut v = Utf8Validator::new();
        v.feed(b"\xe2").unwrap();
        assert_eq!(v.feed(b"A"), Err(InvalidUtf8));
    }
}
