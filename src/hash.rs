//! The hash for the filter's lookup tables. Their keys come from the configuration and
//! requests only look up, so a fixed hash cannot be turned against them: FNV-1a, a fraction
//! of SipHash's work per request.

use std::hash::{BuildHasherDefault, Hasher};

pub type Fnv = BuildHasherDefault<Fnv1a>;

/// <http://www.isthe.com/chongo/tech/comp/fnv/>, 64-bit, with MurmurHash3's finalizer:
/// the tables pick buckets by the low bits, which FNV alone mixes poorly.
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        let mut h = self.0;
        h = (h ^ (h >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h = (h ^ (h >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::Fnv1a;
    use std::hash::Hasher;

    fn hash(bytes: &[u8]) -> u64 {
        let mut h = Fnv1a::default();
        h.write(bytes);
        h.finish()
    }

    #[test]
    fn similar_keys_spread_over_the_low_bits() {
        // 10,000 origins differing in one digit run fill 1,024 buckets evenly.
        let mut buckets = [0u32; 1024];
        for i in 0..10_000 {
            let origin = format!("https://app{i}.example.net");
            buckets[(hash(origin.as_bytes()) & 1023) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|&n| (1..=30).contains(&n)),
            "{buckets:?}"
        );
    }
}
