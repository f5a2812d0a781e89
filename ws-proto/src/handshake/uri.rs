//! URI byte classes (RFC 3986 §2, §3.2.2, §3.3), in one table so that the host matching here
//! and a caller validating its configured URLs accept exactly the same bytes.
//!
//! `%` counts as a byte of either class on its own: these classify bytes, they do not check
//! that a `%` starts a well-formed `%XX` triplet.

/// The byte is unreserved, `%` or a sub-delim: allowed in a reg-name or IPv4 address.
const REG_NAME: u8 = 1 << 0;
/// The byte is a `pchar` or `/`: allowed in a path.
const PATH: u8 = 1 << 1;

/// Both classes of every byte, built at compile time; a lookup is one load, which matters for
/// hosts checked on every upgrade request.
static CLASSES: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut table = [0; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = class(i as u8);
        i += 1;
    }
    table
}

const fn class(b: u8) -> u8 {
    // unreserved, pct-encoded's `%`, sub-delims (RFC 3986 §2.2, §2.3, §3.2.2).
    let reg_name = b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'%'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
        );
    // pchar adds `:` and `@` (§3.3); a path also holds its `/` separators.
    let path = reg_name || matches!(b, b':' | b'@' | b'/');
    (if reg_name { REG_NAME } else { 0 }) | (if path { PATH } else { 0 })
}

/// Whether `b` may stand in a reg-name or IPv4 address: unreserved, `%` or a sub-delim
/// (RFC 3986 §3.2.2). The bytes [`host_matches`](super::host_matches) accepts in a host.
pub fn is_reg_name_byte(b: u8) -> bool {
    CLASSES[usize::from(b)] & REG_NAME != 0
}

/// Whether `b` may stand in a path as sent, without percent-encoding: a `pchar` or `/`
/// (RFC 3986 §3.3), i.e. a reg-name byte, `:`, `@` or `/`. Anything else (a space, `?`, `#`,
/// `[`, non-ASCII) a client must percent-encode.
pub fn is_path_byte(b: u8) -> bool {
    CLASSES[usize::from(b)] & PATH != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 3986 §2.3, §2.2, written out independently of the table.
    const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    const SUB_DELIMS: &[u8] = b"!$&'()*+,;=";

    #[test]
    fn reg_name_is_unreserved_percent_and_sub_delims() {
        for b in 0..=u8::MAX {
            let expected = UNRESERVED.contains(&b) || SUB_DELIMS.contains(&b) || b == b'%';
            assert_eq!(is_reg_name_byte(b), expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn path_is_reg_name_plus_colon_at_and_slash() {
        for b in 0..=u8::MAX {
            let expected = is_reg_name_byte(b) || b":@/".contains(&b);
            assert_eq!(is_path_byte(b), expected, "byte {b:#04x}");
        }
        // What tells the classes apart, and what neither takes.
        for b in *b":@/" {
            assert!(is_path_byte(b) && !is_reg_name_byte(b));
        }
        for b in *b" ?#[]\"<>\\^`{|}\x00\x7f\x80\xff" {
            assert!(!is_path_byte(b) && !is_reg_name_byte(b), "byte {b:#04x}");
        }
    }
}
