//! A small regex engine for `allow_origin_regexes`: whole-input matches over bytes, in time
//! linear in the input (a Thompson NFA run as a set of states, never backtracking).
//!
//! The syntax is a subset of RE2's; a pattern it accepts means the same in RE2:
//!
//! - literal characters; a non-ASCII one stands for its UTF-8 bytes;
//! - `.`: any byte but `\n`;
//! - classes `[abc]`, `[a-z0-9-]`, `[^...]`, of ASCII characters; a `]` first, or a `-` that
//!   makes no range, is literal; escapes and Perl classes work inside;
//! - Perl classes `\d \D \w \W \s \S` (ASCII, as in RE2: `\s` is `[\t\n\f\r ]`);
//! - escapes `\t \n \r \f \v \xHH`, and `\` before any ASCII punctuation;
//! - groups `(...)`, `(?:...)`, `(?P<name>...)`, `(?<name>...)`, all without captures;
//! - `(?i)`, `(?-i)`, `(?i:...)`: ASCII case-insensitivity, for the rest of the group;
//! - alternation `|`, empty alternatives included;
//! - repetition `* + ? {n} {n,} {n,m}` (counts up to 1000), each optionally lazy (`*?`),
//!   which matches the same inputs;
//! - `^` and `\A` (start), `$` and `\z` (end): redundant, since every pattern is anchored.
//!
//! Refused, with a message: backreferences, lookaround, `\b` and `\B`, `\p{..}`, POSIX
//! classes, non-ASCII characters in classes, other flags and escapes, and bad syntax.
//! The compiled program is at most [`MAX_INSTRUCTIONS`] long and groups nest at most
//! [`MAX_NESTING`] deep, both checked before anything is expanded.

use std::cell::RefCell;
use std::fmt;

/// The most instructions a compiled pattern may have.
pub const MAX_INSTRUCTIONS: usize = 10_000;
/// The most groups that may enclose one another.
pub const MAX_NESTING: usize = 50;
/// The largest count in `{n,m}`, as in RE2.
const MAX_REPEAT: u32 = 1000;

// Program counters are u16 to keep instructions at 6 bytes.
const _: () = assert!(MAX_INSTRUCTIONS <= u16::MAX as usize);

const BACKREFERENCES: &str = "backreferences are not supported";
const LOOKAROUND: &str = "lookaround is not supported";

/// A compiled pattern that must match the whole input.
#[derive(Debug)]
pub struct Regex {
    program: Vec<Inst>,
    /// The byte sets that [`Inst::Byte`] refers to, each stored once.
    sets: Vec<ByteSet>,
    /// Reused by every match; the filter is single-threaded.
    scratch: RefCell<Scratch>,
}

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexError(String);

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RegexError {}

fn fail<T>(message: impl Into<String>) -> Result<T, RegexError> {
    Err(RegexError(message.into()))
}

impl Regex {
    /// Compiles `pattern`, anchored at both ends.
    pub fn new(pattern: &str) -> Result<Regex, RegexError> {
        let node = Parser::new(pattern).parse()?;
        // Plus one for the final Match.
        if size(&node).saturating_add(1) > MAX_INSTRUCTIONS as u64 {
            return fail(format!(
                "the compiled pattern exceeds {MAX_INSTRUCTIONS} instructions"
            ));
        }
        let mut compiler = Compiler::default();
        compiler.emit(&node);
        compiler.program.push(Inst::Match);
        let scratch = RefCell::new(Scratch::new(compiler.program.len()));
        Ok(Regex {
            program: compiler.program,
            sets: compiler.sets,
            scratch,
        })
    }

    /// Whether the pattern matches all of `input`.
    pub fn is_match(&self, input: &[u8]) -> bool {
        match self.scratch.try_borrow_mut() {
            Ok(mut scratch) => self.run(&mut scratch, input),
            // Only on reentry, which never happens; stay correct anyway.
            Err(_) => self.run(&mut Scratch::new(self.program.len()), input),
        }
    }

    fn run(&self, scratch: &mut Scratch, input: &[u8]) -> bool {
        let Scratch {
            current,
            next,
            stack,
        } = scratch;
        current.clear();
        self.follow(current, stack, 0, 0, input.len());
        for (i, &byte) in input.iter().enumerate() {
            next.clear();
            for &pc in &current.pcs {
                if self.consumes(pc, byte) {
                    self.follow(next, stack, pc.saturating_add(1), i + 1, input.len());
                }
            }
            if next.pcs.is_empty() {
                return false;
            }
            std::mem::swap(current, next);
        }
        let inst = |pc: u16| self.program.get(usize::from(pc));
        current
            .pcs
            .iter()
            .any(|&pc| matches!(inst(pc), Some(Inst::Match)))
    }

    fn consumes(&self, pc: u16, byte: u8) -> bool {
        match self.program.get(usize::from(pc)) {
            Some(&Inst::Byte(set)) => self
                .sets
                .get(usize::from(set))
                .is_some_and(|set| set.contains(byte)),
            _ => false,
        }
    }

    /// Adds `pc` to `threads` with every state reachable from it without consuming a byte,
    /// `at` bytes into an input of `len`.
    fn follow(&self, threads: &mut Threads, stack: &mut Vec<u16>, pc: u16, at: usize, len: usize) {
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if !threads.insert(pc) {
                continue;
            }
            let next = pc.saturating_add(1);
            match self.program.get(usize::from(pc)) {
                Some(&Inst::Jump(to)) => stack.push(to),
                Some(&Inst::Split(a, b)) => stack.extend([b, a]),
                Some(Inst::Start) if at == 0 => stack.push(next),
                Some(Inst::End) if at == len => stack.push(next),
                _ => {}
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Inst {
    /// Consume one byte in `sets[i]`.
    Byte(u16),
    Split(u16, u16),
    Jump(u16),
    Start,
    End,
    Match,
}

/// The states of one step, in a list and marked in a table so each is added once.
#[derive(Debug)]
struct Threads {
    pcs: Vec<u16>,
    on: Vec<bool>,
}

impl Threads {
    fn new(len: usize) -> Threads {
        Threads {
            pcs: Vec::with_capacity(len),
            on: vec![false; len],
        }
    }

    fn clear(&mut self) {
        for &pc in &self.pcs {
            if let Some(on) = self.on.get_mut(usize::from(pc)) {
                *on = false;
            }
        }
        self.pcs.clear();
    }

    fn insert(&mut self, pc: u16) -> bool {
        match self.on.get_mut(usize::from(pc)) {
            Some(on) if !*on => {
                *on = true;
                self.pcs.push(pc);
                true
            }
            _ => false,
        }
    }
}

#[derive(Debug)]
struct Scratch {
    current: Threads,
    next: Threads,
    /// Each state is added once per step and pushes at most two more.
    stack: Vec<u16>,
}

impl Scratch {
    fn new(len: usize) -> Scratch {
        Scratch {
            current: Threads::new(len),
            next: Threads::new(len),
            stack: Vec::with_capacity(2 * len + 1),
        }
    }
}

/// A set of bytes, one bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn range(lo: u8, hi: u8) -> ByteSet {
        let mut set = ByteSet::default();
        for b in lo..=hi {
            set.0[usize::from(b >> 6)] |= 1 << (b & 63);
        }
        set
    }

    fn of(bytes: &[u8]) -> ByteSet {
        bytes.iter().fold(ByteSet::default(), |set, &b| {
            set.union(ByteSet::range(b, b))
        })
    }

    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    fn union(self, other: ByteSet) -> ByteSet {
        ByteSet(std::array::from_fn(|i| self.0[i] | other.0[i]))
    }

    fn complement(self) -> ByteSet {
        ByteSet(self.0.map(|word| !word))
    }

    /// Adds the other case of every ASCII letter.
    fn fold_case(self) -> ByteSet {
        let mut set = self;
        for lower in b'a'..=b'z' {
            let upper = lower.to_ascii_uppercase();
            if self.contains(lower) || self.contains(upper) {
                set = set.union(ByteSet::of(&[lower, upper]));
            }
        }
        set
    }

    fn digit() -> ByteSet {
        ByteSet::range(b'0', b'9')
    }

    fn word() -> ByteSet {
        ByteSet::digit()
            .union(ByteSet::range(b'a', b'z'))
            .union(ByteSet::range(b'A', b'Z'))
            .union(ByteSet::of(b"_"))
    }

    fn space() -> ByteSet {
        ByteSet::of(b"\t\n\x0c\r ")
    }
}

#[derive(Debug)]
enum Node {
    Byte(ByteSet),
    Start,
    End,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    /// The node, at least `min` times, at most `max` (None: unbounded).
    Repeat(Box<Node>, u32, Option<u32>),
}

/// The instructions `node` compiles to, saturating rather than overflowing.
fn size(node: &Node) -> u64 {
    match node {
        Node::Byte(_) | Node::Start | Node::End => 1,
        Node::Concat(nodes) => nodes.iter().fold(0, |n, node| n.saturating_add(size(node))),
        // A Split and a Jump for every branch but the last.
        Node::Alt(nodes) => nodes
            .iter()
            .fold(0, |n: u64, node| {
                n.saturating_add(size(node)).saturating_add(2)
            })
            .saturating_sub(2),
        Node::Repeat(node, min, max) => {
            let one = size(node);
            let tail = match max {
                None => one.saturating_add(2),
                Some(max) => {
                    u64::from(max.saturating_sub(*min)).saturating_mul(one.saturating_add(1))
                }
            };
            one.saturating_mul(u64::from(*min)).saturating_add(tail)
        }
    }
}

#[derive(Default)]
struct Compiler {
    program: Vec<Inst>,
    sets: Vec<ByteSet>,
}

impl Compiler {
    /// The next instruction's index; [`size`] has bounded the program already.
    fn pc(&self) -> u16 {
        self.program.len() as u16
    }

    fn push(&mut self, inst: Inst) -> u16 {
        let pc = self.pc();
        self.program.push(inst);
        pc
    }

    fn patch(&mut self, pc: u16, inst: Inst) {
        if let Some(slot) = self.program.get_mut(usize::from(pc)) {
            *slot = inst;
        }
    }

    fn emit(&mut self, node: &Node) {
        match node {
            Node::Byte(set) => {
                let index = self.set(*set);
                self.push(Inst::Byte(index));
            }
            Node::Start => {
                self.push(Inst::Start);
            }
            Node::End => {
                self.push(Inst::End);
            }
            Node::Concat(nodes) => nodes.iter().for_each(|node| self.emit(node)),
            Node::Alt(nodes) => self.alternation(nodes),
            Node::Repeat(node, min, max) => {
                for _ in 0..*min {
                    self.emit(node);
                }
                match max {
                    None => self.star(node),
                    Some(max) => (*min..*max).for_each(|_| self.optional(node)),
                }
            }
        }
    }

    fn set(&mut self, set: ByteSet) -> u16 {
        match self.sets.iter().position(|s| *s == set) {
            Some(index) => index as u16,
            None => {
                self.sets.push(set);
                (self.sets.len() - 1) as u16
            }
        }
    }

    fn alternation(&mut self, nodes: &[Node]) {
        let Some((last, rest)) = nodes.split_last() else {
            return;
        };
        let mut jumps = Vec::with_capacity(rest.len());
        for node in rest {
            let split = self.push(Inst::Split(0, 0));
            self.emit(node);
            jumps.push(self.push(Inst::Jump(0)));
            self.patch(split, Inst::Split(split + 1, self.pc()));
        }
        self.emit(last);
        for jump in jumps {
            self.patch(jump, Inst::Jump(self.pc()));
        }
    }

    fn optional(&mut self, node: &Node) {
        let split = self.push(Inst::Split(0, 0));
        self.emit(node);
        self.patch(split, Inst::Split(split + 1, self.pc()));
    }

    fn star(&mut self, node: &Node) {
        let split = self.push(Inst::Split(0, 0));
        self.emit(node);
        self.push(Inst::Jump(split));
        self.patch(split, Inst::Split(split + 1, self.pc()));
    }
}

/// A repetition's minimum and maximum (None: unbounded).
type Bounds = (u32, Option<u32>);

/// What a backslash sequence stands for.
enum Escape {
    Char(char),
    Set(ByteSet),
    Anchor(Node),
}

/// A recursive-descent parser; recursion follows groups, so [`MAX_NESTING`] bounds it.
struct Parser<'p> {
    pattern: &'p str,
    pos: usize,
    /// Whether `(?i)` is in effect.
    fold: bool,
    names: Vec<&'p str>,
}

impl<'p> Parser<'p> {
    fn new(pattern: &'p str) -> Parser<'p> {
        Parser {
            pattern,
            pos: 0,
            fold: false,
            names: Vec::new(),
        }
    }

    fn rest(&self) -> &'p str {
        self.pattern.get(self.pos..).unwrap_or_default()
    }

    /// The text from `at` to the current position.
    fn since(&self, at: usize) -> &'p str {
        self.pattern.get(at..self.pos).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.peek() == Some(c);
        if found {
            self.pos += c.len_utf8();
        }
        found
    }

    fn parse(mut self) -> Result<Node, RegexError> {
        let node = self.alternation(0)?;
        match self.peek() {
            None => Ok(node),
            Some(_) => fail(format!("unmatched \")\" at byte {}", self.pos)),
        }
    }

    fn alternation(&mut self, depth: usize) -> Result<Node, RegexError> {
        let mut branches = vec![self.concat(depth)?];
        while self.eat('|') {
            branches.push(self.concat(depth)?);
        }
        Ok(one_or(branches, Node::Alt))
    }

    fn concat(&mut self, depth: usize) -> Result<Node, RegexError> {
        let mut items = Vec::new();
        while !matches!(self.peek(), None | Some('|' | ')')) {
            if let Some(atom) = self.atom(depth)? {
                items.push(self.repetition(atom)?);
            }
        }
        Ok(one_or(items, Node::Concat))
    }

    /// One thing a repetition may follow, or None after a flag group such as `(?i)`.
    fn atom(&mut self, depth: usize) -> Result<Option<Node>, RegexError> {
        let at = self.pos;
        let node = match self.peek() {
            Some('(') => return self.group(depth),
            Some('[') => Node::Byte(self.class()?),
            Some('\\') => match self.escape()? {
                Escape::Char(c) => self.literal(c),
                Escape::Set(set) => Node::Byte(set),
                Escape::Anchor(node) => node,
            },
            Some('*' | '+' | '?') => return fail(format!("nothing to repeat at byte {at}")),
            Some('{') if self.counts().is_some() => {
                return fail(format!("nothing to repeat at byte {at}"))
            }
            Some(c) => {
                self.bump();
                match c {
                    '.' => Node::Byte(ByteSet::of(b"\n").complement()),
                    '^' => Node::Start,
                    '$' => Node::End,
                    c => self.literal(c),
                }
            }
            None => return Ok(None),
        };
        Ok(Some(node))
    }

    fn literal(&self, c: char) -> Node {
        let mut buf = [0; 4];
        let bytes = c.encode_utf8(&mut buf).bytes();
        let fold = self.fold;
        let sets = bytes.map(|b| ByteSet::range(b, b)).map(|set| {
            let set = if fold { set.fold_case() } else { set };
            Node::Byte(set)
        });
        one_or(sets.collect(), Node::Concat)
    }

    fn group(&mut self, depth: usize) -> Result<Option<Node>, RegexError> {
        let open = self.pos;
        self.bump();
        let outer = self.fold;
        if self.eat('?') {
            match self.peek() {
                Some(':') => {
                    self.bump();
                }
                Some('P' | '<') => self.name()?,
                Some('=' | '!') => return fail(LOOKAROUND),
                _ => {
                    if !self.flags(open)? {
                        return Ok(None);
                    }
                }
            }
        }
        if depth >= MAX_NESTING {
            return fail(format!(
                "the pattern nests deeper than {MAX_NESTING} groups"
            ));
        }
        let node = self.alternation(depth + 1)?;
        self.fold = outer;
        if !self.eat(')') {
            return fail(format!("unclosed group opened at byte {open}"));
        }
        Ok(Some(node))
    }

    /// Reads `P<name>` or `<name>` after `(?`.
    fn name(&mut self) -> Result<(), RegexError> {
        if self.eat('P') {
            if self.peek() == Some('=') {
                return fail(BACKREFERENCES);
            }
        } else if self.rest().starts_with("<=") || self.rest().starts_with("<!") {
            return fail(LOOKAROUND);
        }
        let at = self.pos;
        if !self.eat('<') {
            return fail(format!("invalid group name at byte {at}"));
        }
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let name = self.rest().split(|c| !word(c)).next().unwrap_or_default();
        self.pos += name.len();
        if name.is_empty() || !self.eat('>') {
            return fail(format!("invalid group name at byte {}", at + 1));
        }
        if self.names.contains(&name) {
            return fail(format!("duplicate group name {name} at byte {}", at + 1));
        }
        self.names.push(name);
        Ok(())
    }

    /// Reads the flags after `(?` up to `)` or `:`; true for `:`, which scopes them to
    /// the group. Without it they hold to the end of the enclosing group.
    fn flags(&mut self, open: usize) -> Result<bool, RegexError> {
        let mut fold = self.fold;
        let mut negated = false;
        let mut flag_since_minus = false;
        loop {
            let at = self.pos;
            match self.bump() {
                Some('i') => {
                    fold = !negated;
                    flag_since_minus = true;
                }
                Some('-') if !negated => {
                    negated = true;
                    flag_since_minus = false;
                }
                Some(c @ (':' | ')')) if !negated || flag_since_minus => {
                    self.fold = fold;
                    return Ok(c == ':');
                }
                Some(c @ ('m' | 's' | 'U')) => {
                    return fail(format!("the flag {c} is not supported"))
                }
                Some(_) => return fail(format!("invalid flags at byte {at}")),
                None => return fail(format!("unclosed group opened at byte {open}")),
            }
        }
    }

    /// Parses `[...]`; a `]` right after `[` or `[^` is a literal.
    fn class(&mut self) -> Result<ByteSet, RegexError> {
        let open = self.pos;
        self.bump();
        let negated = self.eat('^');
        let mut set = ByteSet::default();
        let mut first = true;
        loop {
            match self.peek() {
                None => return fail(format!("unclosed class opened at byte {open}")),
                Some(']') if !first => break,
                _ => first = false,
            }
            set = set.union(self.class_item(open)?);
        }
        self.bump();
        if self.fold {
            set = set.fold_case();
        }
        Ok(if negated { set.complement() } else { set })
    }

    /// One character, range or Perl class inside brackets.
    fn class_item(&mut self, open: usize) -> Result<ByteSet, RegexError> {
        let at = self.pos;
        if self.rest().starts_with("[:") {
            return fail("POSIX classes like [:alpha:] are not supported");
        }
        let lo = match self.class_char(open)? {
            Escape::Set(set) => return Ok(set),
            Escape::Char(c) => ascii(c)?,
            Escape::Anchor(_) => {
                return fail(format!(
                    "{} is not allowed in a class at byte {at}",
                    self.since(at)
                ))
            }
        };
        // Elsewhere `-` is literal, as in RE2.
        let range = matches!(self.rest().as_bytes(), [b'-', next, ..] if *next != b']');
        if !range {
            return Ok(ByteSet::range(lo, lo));
        }
        self.bump();
        let hi = match self.class_char(open)? {
            Escape::Char(c) => Some(ascii(c)?),
            _ => None,
        };
        match hi {
            Some(hi) if hi >= lo => Ok(ByteSet::range(lo, hi)),
            _ => fail(format!(
                "invalid class range {} at byte {at}",
                self.since(at)
            )),
        }
    }

    fn class_char(&mut self, open: usize) -> Result<Escape, RegexError> {
        match self.peek() {
            Some('\\') => self.escape(),
            Some(c) => {
                self.bump();
                Ok(Escape::Char(c))
            }
            None => fail(format!("unclosed class opened at byte {open}")),
        }
    }

    fn escape(&mut self) -> Result<Escape, RegexError> {
        let at = self.pos;
        self.bump();
        let Some(c) = self.bump() else {
            return fail(format!("trailing backslash at byte {at}"));
        };
        let escape = match c {
            'd' => Escape::Set(ByteSet::digit()),
            'D' => Escape::Set(ByteSet::digit().complement()),
            'w' => Escape::Set(ByteSet::word()),
            'W' => Escape::Set(ByteSet::word().complement()),
            's' => Escape::Set(ByteSet::space()),
            'S' => Escape::Set(ByteSet::space().complement()),
            't' => Escape::Char('\t'),
            'n' => Escape::Char('\n'),
            'r' => Escape::Char('\r'),
            'f' => Escape::Char('\x0c'),
            'v' => Escape::Char('\x0b'),
            'x' => Escape::Char(self.hex(at)?),
            'A' => Escape::Anchor(Node::Start),
            'z' => Escape::Anchor(Node::End),
            'b' | 'B' => return fail(r"word boundaries (\b, \B) are not supported"),
            'p' | 'P' => return fail(r"Unicode classes (\p, \P) are not supported"),
            '1'..='9' => return fail(BACKREFERENCES),
            c if c.is_ascii_punctuation() => Escape::Char(c),
            c => return fail(format!("unknown escape \\{c} at byte {at}")),
        };
        Ok(escape)
    }

    /// The two hex digits after `\x`; like RE2, `\xHH` is the character U+00HH.
    fn hex(&mut self, at: usize) -> Result<char, RegexError> {
        let digits = self.rest().get(..2);
        let digits = digits.filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
        match digits.and_then(|d| u8::from_str_radix(d, 16).ok()) {
            Some(byte) => {
                self.pos += 2;
                Ok(char::from(byte))
            }
            None => fail(format!(
                r"\x at byte {at} must be followed by two hex digits"
            )),
        }
    }

    /// A quantifier and an optional lazy `?` after `atom`; a second quantifier is an error.
    fn repetition(&mut self, atom: Node) -> Result<Node, RegexError> {
        let Some((min, max)) = self.quantifier()? else {
            return Ok(atom);
        };
        // Lazy or greedy, a repetition matches the same inputs.
        self.eat('?');
        if matches!(self.peek(), Some('*' | '+' | '?')) || self.counts().is_some() {
            return fail(format!("nested repetition at byte {}", self.pos));
        }
        Ok(Node::Repeat(Box::new(atom), min, max))
    }

    fn quantifier(&mut self) -> Result<Option<Bounds>, RegexError> {
        let bounds = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            _ => return self.counted(),
        };
        self.bump();
        Ok(Some(bounds))
    }

    /// A `{n}`, `{n,}` or `{n,m}` here; anything else starting with `{` is a literal.
    fn counted(&mut self) -> Result<Option<Bounds>, RegexError> {
        let at = self.pos;
        let Some((min, max, end)) = self.counts() else {
            return Ok(None);
        };
        self.pos = end;
        let text = self.since(at);
        if min.max(max.unwrap_or(0)) > MAX_REPEAT {
            return fail(format!(
                "the repetition {text} at byte {at} exceeds {MAX_REPEAT}"
            ));
        }
        if max.is_some_and(|max| max < min) {
            return fail(format!(
                "the repetition {text} at byte {at} has its minimum above its maximum"
            ));
        }
        Ok(Some((min, max)))
    }

    /// Reads `{n}`, `{n,}` or `{n,m}` without consuming it: the counts (saturated) and
    /// the position after `}`.
    fn counts(&self) -> Option<(u32, Option<u32>, usize)> {
        let rest = self.rest().strip_prefix('{')?;
        let (min, rest) = number(rest)?;
        let (max, rest) = match rest.strip_prefix(',') {
            None => (Some(min), rest),
            Some(rest) => match number(rest) {
                Some((max, rest)) => (Some(max), rest),
                None => (None, rest),
            },
        };
        let rest = rest.strip_prefix('}')?;
        Some((min, max, self.pattern.len() - rest.len()))
    }
}

fn ascii(c: char) -> Result<u8, RegexError> {
    match u8::try_from(c) {
        Ok(b) if b.is_ascii() => Ok(b),
        _ => fail("non-ASCII characters in classes are not supported"),
    }
}

/// Leading decimal digits, saturating at u32::MAX, and what follows them.
fn number(text: &str) -> Option<(u32, &str)> {
    let len = text.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, rest) = text.split_at_checked(len)?;
    if digits.is_empty() {
        return None;
    }
    let value = digits.bytes().fold(0u32, |n, d| {
        n.saturating_mul(10).saturating_add(u32::from(d - b'0'))
    });
    Some((value, rest))
}

/// The only node, or `many` of them.
fn one_or(nodes: Vec<Node>, many: fn(Vec<Node>) -> Node) -> Node {
    match <[Node; 1]>::try_from(nodes) {
        Ok([node]) => node,
        Err(nodes) => many(nodes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches() {
        #[rustfmt::skip]
        let table: &[(&str, &str, bool)] = &[
            // Literals, anchored at both ends.
            (r"https://a\.com", "https://a.com", true),
            (r"https://a\.com", "https://a.com.evil.net", false),
            (r"https://a\.com", "xhttps://a.com", false),
            (r"https://a\.com", "https://aXcom", false),
            ("", "", true),
            ("", "a", false),
            // Alternation is grouped before anchoring.
            ("a|b", "a", true),
            ("a|b", "b", true),
            ("a|b", "ab", false),
            (r"https://a\.com|https://b\.com", "https://a.com.evil.net", false),
            (r"https://a\.com|https://b\.com", "https://evil.net.https://b.com", false),
            ("a|", "", true),
            ("|a", "a", true),
            ("a||b", "", true),
            ("(|a)b", "b", true),
            // Redundant anchors.
            (r"^https://a\.com$", "https://a.com", true),
            (r"\Aab\z", "ab", true),
            ("a^b", "ab", false),
            ("a$b", "ab", false),
            ("^*a", "a", true),
            // Dot.
            ("a.c", "abc", true),
            ("a.c", "a\nc", false),
            ("a.c", "a\u{e9}c", false),
            ("a..c", "a\u{e9}c", true),
            (".*", "", true),
            // Classes.
            ("[abc]+", "cab", true),
            ("[abc]", "d", false),
            ("[a-z0-9-]+", "a-9", true),
            ("[a-z0-9-]+", "A", false),
            ("[^a-z]", "A", true),
            ("[^a-z]", "q", false),
            ("[^a]", "\n", true),
            ("[]a]+", "]a", true),
            ("[^]a]", "]", false),
            ("[-a]+", "-a", true),
            ("[a-]+", "-a", true),
            ("[a-c-e]+", "-be", true),
            ("[a-c-e]", "d", false),
            (r"[\]\\]+", r"]\", true),
            (r"[\d.]+", "1.2", true),
            (r"[\d-z]+", "1-z", true),
            (r"[\d-z]", "y", false),
            (r"[^:\[\]]+", "a.b", true),
            (r"[^:\[\]]+", "a:b", false),
            (r"\[[^\]]+\]", "[::1]", true),
            (r"[\x41-\x43]+", "ABC", true),
            ("[[]", "[", true),
            // Perl classes, ASCII only.
            (r"\d+", "0189", true),
            (r"\d", "a", false),
            (r"\D", "a", true),
            (r"\w+", "aZ_9", true),
            (r"\w", "-", false),
            (r"\W", "-", true),
            (r"\s+", " \t\n\r\x0c", true),
            (r"\s", "\x0b", false),
            (r"\S", "a", true),
            // Escapes.
            (r"\t\n\r\f\v", "\t\n\r\x0c\x0b", true),
            (r"\x41\x7e", "A~", true),
            (r"\xe9", "\u{e9}", true),
            (r"\.\-\/\*\+\?\(\)\{\}\|\^\$\_", ".-/*+?(){}|^$_", true),
            // Non-ASCII literals are their UTF-8 bytes, repeated as a whole.
            ("\u{e9}+", "\u{e9}\u{e9}", true),
            ("\u{e9}+", "\u{e9}\u{c3}", false),
            // Groups of every kind.
            ("(ab)+", "abab", true),
            ("(?:ab)+", "aba", false),
            ("(?P<x>a)(?<y>b)", "ab", true),
            ("()", "", true),
            // Case-insensitivity, ASCII only, to the end of the group.
            ("(?i)abc", "AbC", true),
            ("(?i)[a-c]+", "ABC", true),
            ("(?i)[^a]", "A", false),
            (r"(?i)\x41", "a", true),
            ("a(?i)b", "aB", true),
            ("a(?i)b", "AB", false),
            ("(?i:a)b", "AB", false),
            ("(?i:a)b", "Ab", true),
            ("((?i)a)b", "AB", false),
            ("(?i)a|b", "B", true),
            ("(?i)a(?-i)b", "Ab", true),
            ("(?i)a(?-i)b", "AB", false),
            ("(?i)\u{e9}", "\u{c9}", false),
            // Repetition.
            ("a*", "", true),
            ("a*", "aaa", true),
            ("a+", "", false),
            ("a?", "", true),
            ("a?", "aa", false),
            ("a{2}", "aa", true),
            ("a{2}", "aaa", false),
            ("a{2,}", "a", false),
            ("a{2,}", "aaaaa", true),
            ("a{2,3}", "a", false),
            ("a{2,3}", "aaa", true),
            ("a{2,3}", "aaaa", false),
            ("a{0}", "", true),
            ("a{0}b", "ab", false),
            ("a{0,0}", "", true),
            ("(ab){1,2}", "abab", true),
            ("a*?b+?c??d{1,2}?", "abd", true),
            ("(a*)*", "aa", true),
            ("(a|)+b", "aab", true),
            // A `{` that starts no count is a literal.
            ("a{", "a{", true),
            ("a{,2}", "a{,2}", true),
            ("a{x}", "a{x}", true),
            ("{", "{", true),
            // A real origin pattern.
            (r"https://(?:[^:\[\]]+|\[[^\]]+\]):8443", "https://[::1]:8443", true),
            (r"https://(?:[^:\[\]]+|\[[^\]]+\]):8443", "https://a.b:8443", true),
            (r"https://(?:[^:\[\]]+|\[[^\]]+\]):8443", "https://a:b:8443", false),
        ];
        for &(pattern, input, expected) in table {
            let regex = Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            let got = regex.is_match(input.as_bytes());
            assert_eq!(got, expected, "{pattern:?} on {input:?}");
        }
    }

    #[test]
    fn errors() {
        let long = "a{1000}".repeat(11);
        let deep = format!("{}a{}", "(".repeat(51), ")".repeat(51));
        #[rustfmt::skip]
        let table: &[(&str, &str)] = &[
            ("(", "unclosed group opened at byte 0"),
            ("a(b(c)", "unclosed group opened at byte 1"),
            ("(?i", "unclosed group opened at byte 0"),
            ("abc)", r#"unmatched ")" at byte 3"#),
            ("[a", "unclosed class opened at byte 0"),
            ("[]", "unclosed class opened at byte 0"),
            ("[a-", "unclosed class opened at byte 0"),
            ("*a", "nothing to repeat at byte 0"),
            ("a|+", "nothing to repeat at byte 2"),
            ("(?i)*", "nothing to repeat at byte 4"),
            ("{2}", "nothing to repeat at byte 0"),
            ("a**", "nested repetition at byte 2"),
            ("a*??", "nested repetition at byte 3"),
            ("a{2}{3}", "nested repetition at byte 4"),
            ("a{3,2}", "the repetition {3,2} at byte 1 has its minimum above its maximum"),
            ("a{1001}", "the repetition {1001} at byte 1 exceeds 1000"),
            ("a{0,99999999999}", "the repetition {0,99999999999} at byte 1 exceeds 1000"),
            ("[z-a]", "invalid class range z-a at byte 1"),
            (r"[a-\d]", r"invalid class range a-\d at byte 1"),
            (r"[\A]", r"\A is not allowed in a class at byte 1"),
            ("[\u{e9}]", "non-ASCII characters in classes are not supported"),
            (r"[\xe9]", "non-ASCII characters in classes are not supported"),
            ("[[:alpha:]]", "POSIX classes like [:alpha:] are not supported"),
            ("a\\", "trailing backslash at byte 1"),
            (r"\q", r"unknown escape \q at byte 0"),
            (r"a\x4", r"\x at byte 1 must be followed by two hex digits"),
            (r"\x{41}", r"\x at byte 0 must be followed by two hex digits"),
            (r"(a)\1", "backreferences are not supported"),
            ("(?P<n>a)(?P=n)", "backreferences are not supported"),
            ("(?=a)", "lookaround is not supported"),
            ("(?!a)", "lookaround is not supported"),
            ("(?<=a)", "lookaround is not supported"),
            ("(?<!a)", "lookaround is not supported"),
            (r"\bword", r"word boundaries (\b, \B) are not supported"),
            (r"\B", r"word boundaries (\b, \B) are not supported"),
            (r"\p{L}", r"Unicode classes (\p, \P) are not supported"),
            ("(?P<>a)", "invalid group name at byte 4"),
            ("(?P<a-b>c)", "invalid group name at byte 4"),
            ("(?Px)", "invalid group name at byte 3"),
            ("(?<a>x)(?<a>y)", "duplicate group name a at byte 10"),
            ("(?s).", "the flag s is not supported"),
            ("(?m)^", "the flag m is not supported"),
            ("(?x)", "invalid flags at byte 2"),
            ("(?i-)", "invalid flags at byte 4"),
            ("(?--i)", "invalid flags at byte 3"),
            (deep.as_str(), "the pattern nests deeper than 50 groups"),
            ("(?:a{0,100}){0,100}", "the compiled pattern exceeds 10000 instructions"),
            ("((a{1000}){1000}){1000}", "the compiled pattern exceeds 10000 instructions"),
            (long.as_str(), "the compiled pattern exceeds 10000 instructions"),
        ];
        for &(pattern, message) in table {
            match Regex::new(pattern) {
                Ok(_) => panic!("{pattern:?} compiled"),
                Err(e) => assert_eq!(e.to_string(), message, "{pattern:?}"),
            }
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let deep = format!("{}a{}", "(".repeat(50), ")".repeat(50));
        assert!(Regex::new(&deep).is_ok());
        // 9,999 bytes and a Match.
        assert!(Regex::new(&format!("a{{1000}}{}", "a".repeat(8999))).is_ok());
        assert!(Regex::new(&format!("a{{1000}}{}", "a".repeat(9000))).is_err());
    }

    #[test]
    fn any_run_of_open_parens_is_an_error_not_a_stack_overflow() {
        for n in [1, 50, 51, 1024, 100_000] {
            assert!(Regex::new(&"(".repeat(n)).is_err(), "{n}");
        }
    }

    #[test]
    fn the_program_is_as_long_as_size_says() {
        for pattern in ["a|b|c", "(a|bc)*d+", "x{2,5}(?:y{3,})?", "(?i)[a-z]{0,3}|$"] {
            let node = Parser::new(pattern).parse().unwrap();
            let regex = Regex::new(pattern).unwrap();
            assert_eq!(regex.program.len() as u64, size(&node) + 1, "{pattern}");
        }
    }

    #[test]
    fn time_is_linear_in_the_input() {
        // Each would take exponential time in a backtracking engine.
        let input = vec![b'a'; 100_000];
        for pattern in ["(a*)*b", "(a|a)*c", "(a|aa)+$b", "(?:a?){100}a{100}b"] {
            assert!(!Regex::new(pattern).unwrap().is_match(&input), "{pattern}");
        }
        assert!(Regex::new("(a|aa)+").unwrap().is_match(&input));
    }

    #[test]
    fn a_regex_is_reusable() {
        let regex = Regex::new("a+b").unwrap();
        for _ in 0..3 {
            assert!(regex.is_match(b"aab"));
            assert!(!regex.is_match(b"aa"));
            assert!(!regex.is_match(b""));
        }
    }
}
