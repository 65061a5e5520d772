//! A header map as the proxy-wasm host serializes it, read in place: a u32 count, count
//! pairs of u32 sizes, then each name and each value followed by a NUL byte.
//!
//! Ours rather than the SDK's `get_http_request_headers_bytes`: that reader panics (and so
//! aborts the module) on a header name that is not UTF-8, trusts every size the host
//! writes, and copies each name and value; this checks the sizes once, then borrows.

/// A serialized map whose every size was checked against its length, so reading its pairs
/// neither copies nor fails.
#[derive(Debug, Default)]
pub struct HeaderMap {
    bytes: Vec<u8>,
    count: usize,
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(b) as usize)
}

impl HeaderMap {
    /// The map, or `None` when a size points past the end. Empty bytes are an empty map.
    pub fn parse(bytes: Vec<u8>) -> Option<HeaderMap> {
        if bytes.is_empty() {
            return Some(HeaderMap::default());
        }
        let count = u32_at(&bytes, 0)?;
        let sizes_end = count.checked_mul(8)?.checked_add(4)?;
        let (sizes, []) = bytes.get(4..sizes_end)?.as_chunks::<4>() else {
            return None;
        };
        // Each name and value, and its NUL.
        let data = sizes.iter().try_fold(0u64, |total, size| {
            total.checked_add(u64::from(u32::from_le_bytes(*size)) + 1)
        })?;
        let room = bytes.len() - sizes_end;
        (data <= room as u64).then_some(HeaderMap { bytes, count })
    }

    /// The names and values, in order; names are lower-case as Envoy keeps them.
    pub fn pairs(&self) -> Pairs<'_> {
        let sizes_end = 4 + self.count * 8;
        Pairs {
            sizes: self.bytes.get(4..sizes_end).unwrap_or_default(),
            data: self.bytes.get(sizes_end..).unwrap_or_default(),
        }
    }

    /// The first value of a header.
    pub fn first(&self, name: &[u8]) -> Option<&[u8]> {
        self.pairs().find(|(n, _)| same(n, name)).map(|(_, v)| v)
    }
}

/// `a == b`, by words: slices' `==` is the C library's `memcmp`, which wasi-libc's does byte
/// by byte, and header names are compared on every request.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    let (a_words, a_rest) = a.as_chunks::<8>();
    let (b_words, b_rest) = b.as_chunks::<8>();
    a.len() == b.len()
        && a_words
            .iter()
            .zip(b_words)
            .all(|(x, y)| u64::from_ne_bytes(*x) == u64::from_ne_bytes(*y))
        && a_rest.iter().zip(b_rest).all(|(x, y)| x == y)
}

/// Pairs in the same serialization, for a local reply's headers.
pub fn serialize<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone) -> Vec<u8> {
    let count = pairs.clone().count();
    let data: usize = pairs.clone().map(|(n, v)| n.len() + v.len() + 2).sum();
    // Sized once and copied by slices: byte by byte, this was a third of a preflight's work.
    let mut out = Vec::with_capacity(4 + count * 8 + data);
    out.extend_from_slice(&(count as u32).to_le_bytes());
    for (name, value) in pairs.clone() {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    }
    for (name, value) in pairs {
        out.extend_from_slice(name);
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

#[derive(Clone)]
pub struct Pairs<'a> {
    /// The (name size, value size) pairs not yet read.
    sizes: &'a [u8],
    /// The names and values not yet read, each followed by its NUL.
    data: &'a [u8],
}

impl<'a> Pairs<'a> {
    #[inline]
    fn take(&mut self, size: u32) -> Option<&'a [u8]> {
        let (item, rest) = self.data.split_at_checked(size as usize)?;
        self.data = rest.get(1..)?;
        Some(item)
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let ([n0, n1, n2, n3, v0, v1, v2, v3], rest) = self.sizes.split_first_chunk::<8>()?;
        self.sizes = rest;
        let name = self.take(u32::from_le_bytes([*n0, *n1, *n2, *n3]))?;
        let value = self.take(u32::from_le_bytes([*v0, *v1, *v2, *v3]))?;
        Some((name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::{same, HeaderMap};

    fn serialize(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
        for (n, v) in pairs {
            out.extend((n.len() as u32).to_le_bytes());
            out.extend((v.len() as u32).to_le_bytes());
        }
        for (n, v) in pairs {
            out.extend(n.bytes().chain([0]));
            out.extend(v.bytes().chain([0]));
        }
        out
    }

    #[test]
    fn reads_the_map_serialization() {
        let map = HeaderMap::parse(serialize(&[(":status", "200"), ("vary", "Accept")])).unwrap();
        let pairs: Vec<_> = map.pairs().collect();
        assert_eq!(
            pairs,
            [(&b":status"[..], &b"200"[..]), (b"vary", b"Accept")]
        );
        assert_eq!(map.first(b"vary"), Some(&b"Accept"[..]));
        assert_eq!(map.first(b"origin"), None);
        assert_eq!(HeaderMap::parse(Vec::new()).unwrap().pairs().count(), 0);
    }

    #[test]
    fn same_compares_every_byte_at_every_length() {
        for len in 0..40usize {
            let a: Vec<u8> = (0..len as u8).map(|b| b'a' + b % 26).collect();
            assert!(same(&a, &a.clone()), "{len}");
            assert!(!same(&a, &a[..len.saturating_sub(1)]) || len == 0, "{len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same(&a, &b), "{len} {at}");
            }
        }
        assert!(!same(b"a\0", b"a"));
        assert!(!same(b"", b"\0"));
    }

    #[test]
    fn serializes_as_it_reads() {
        let pairs = [(":status", "204"), ("vary", "Origin"), ("x", "")];
        let bytes = super::serialize(pairs.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
        assert_eq!(bytes, serialize(&pairs));
        assert_eq!(super::serialize(std::iter::empty()), 0u32.to_le_bytes());
    }

    #[test]
    fn refuses_inconsistent_maps_at_every_length() {
        let bytes = serialize(&[("a", "b"), ("vary", "x")]);
        assert!(HeaderMap::parse(bytes.clone()).is_some());
        // Every cut short of the last value's NUL terminator loses data.
        for len in 1..bytes.len() {
            assert!(HeaderMap::parse(bytes[..len].to_vec()).is_none(), "{len}");
        }
        assert!(HeaderMap::parse(vec![0xff, 0xff, 0xff, 0xff]).is_none());
        let huge_size = [&1u32.to_le_bytes()[..], &u32::MAX.to_le_bytes(), &[0; 4]].concat();
        assert!(HeaderMap::parse(huge_size).is_none());
    }
}
