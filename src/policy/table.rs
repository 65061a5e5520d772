//! std's tables with a fixed hash, for every part of the policy that indexes what the
//! configuration lists.

use std::collections::{HashMap, HashSet};

/// std's tables with a fixed hash. Keys come from the configuration and requests only look
/// up, so a known hash cannot be turned against them, and no random seed is needed.
pub type Table<K, V> = HashMap<K, V, foldhash::fast::FixedState>;
pub type Set<K> = HashSet<K, foldhash::fast::FixedState>;
