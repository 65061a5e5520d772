//! The filter's lookup table and its hash. Keys come from the configuration and requests
//! only look up, so a fixed hash cannot be turned against them: FNV-1a, a fraction of
//! SipHash's work per request.

use std::hash::Hasher;

/// Byte strings to numbers: the module's one table, the others being lists it points into.
/// Open addressing with linear probing, at most half full, so a lookup costs the same for
/// 1 or 10,000 keys; ours because a `HashMap` instantiation is ~4 KB of module.
#[derive(Debug, Default)]
pub struct Index {
    /// A power of two long: 0 for an empty slot, else a position in `entries` plus one.
    slots: Vec<u32>,
    entries: Vec<(Vec<u8>, usize)>,
}

impl Index {
    pub fn get(&self, key: &[u8]) -> Option<usize> {
        let (_, found) = self.probe(key)?;
        found
    }

    /// The number of `key`, which becomes `value` if `key` is new.
    pub fn get_or_insert(&mut self, key: &[u8], value: usize) -> usize {
        if (self.entries.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        match self.probe(key) {
            Some((_, Some(found))) => found,
            Some((slot, None)) => {
                self.entries.push((key.to_vec(), value));
                if let Some(s) = self.slots.get_mut(slot) {
                    *s = self.entries.len() as u32;
                }
                value
            }
            None => value,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The slot holding `key`, with its number; or the empty slot where it would go.
    /// `None` only while there are no slots.
    fn probe(&self, key: &[u8]) -> Option<(usize, Option<usize>)> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut slot = hash(key) as usize & mask;
        loop {
            let entry = match *self.slots.get(slot)? {
                0 => return Some((slot, None)),
                n => self.entries.get(n as usize - 1)?,
            };
            if entry.0 == key {
                return Some((slot, Some(entry.1)));
            }
            slot = (slot + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(8);
        self.slots = vec![0; size];
        for (n, (key, _)) in self.entries.iter().enumerate() {
            let mut slot = hash(key) as usize & (size - 1);
            while self.slots.get(slot).is_some_and(|&s| s != 0) {
                slot = (slot + 1) & (size - 1);
            }
            if let Some(s) = self.slots.get_mut(slot) {
                *s = n as u32 + 1;
            }
        }
    }
}

/// Values grouped by a byte-string key, in the order they were pushed.
#[derive(Debug)]
pub struct Groups<T> {
    index: Index,
    lists: Vec<Vec<T>>,
}

impl<T> Default for Groups<T> {
    fn default() -> Groups<T> {
        Groups {
            index: Index::default(),
            lists: Vec::new(),
        }
    }
}

impl<T> Groups<T> {
    /// The group of `key`, made empty if it was not there.
    pub fn group(&mut self, key: &[u8]) -> &mut Vec<T> {
        let next = self.lists.len();
        let at = self.index.get_or_insert(key, next);
        if at == next {
            self.lists.push(Vec::new());
        }
        &mut self.lists[at]
    }

    /// The group of `key`; empty if there is none.
    pub fn get(&self, key: &[u8]) -> &[T] {
        let list = self.index.get(key).and_then(|at| self.lists.get(at));
        list.map_or(&[], Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }
}

fn hash(key: &[u8]) -> u64 {
    let mut hasher = Fnv1a::default();
    hasher.write(key);
    hasher.finish()
}

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
    use super::{hash, Groups, Index};

    #[test]
    fn an_index_finds_every_key_it_was_given_and_no_other() {
        let mut index = Index::default();
        assert_eq!(index.get(b"a"), None);
        for i in 0..10_000 {
            assert_eq!(index.get_or_insert(format!("k{i}").as_bytes(), i), i);
        }
        // A key given again keeps its first number.
        assert_eq!(index.get_or_insert(b"k7", 99), 7);
        for i in 0..10_000 {
            assert_eq!(index.get(format!("k{i}").as_bytes()), Some(i));
        }
        assert_eq!(index.get(b"k10000"), None);
        assert_eq!(index.get(b""), None);
        assert_eq!(index.get_or_insert(b"", 5), 5);
        assert_eq!(index.get(b""), Some(5));
    }

    #[test]
    fn groups_keep_their_values_in_order() {
        let mut groups = Groups::default();
        assert!(groups.is_empty());
        groups.group(b"a").push(1);
        groups.group(b"b").push(2);
        groups.group(b"a").push(3);
        assert_eq!(groups.get(b"a"), [1, 3]);
        assert_eq!(groups.get(b"b"), [2]);
        assert_eq!(groups.get(b"c"), [] as [i32; 0]);
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
