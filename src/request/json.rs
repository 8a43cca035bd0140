//! A strict JSON pull parser (RFC 8259) over bytes, for the request path.
//!
//! Why not serde_json here: the policy reads a handful of fields out of
//! requests of up to megabytes, and everything else only has to be checked
//! and skipped. This parser yields events without building anything: string
//! and number contents are scanned and validated, never copied; a string is
//! decoded only when the caller asks. It never recurses (an explicit stack
//! of at most `MAX_DEPTH` levels), so no input can overflow the wasm stack.
//!
//! Accepted: exactly RFC 8259 JSON (one value, whitespace around it).
//! Checked everywhere: structure, escapes (`\uXXXX` with four hex digits),
//! no raw control characters in strings, the number grammar, literals.
//! UTF-8 is checked in every string (only strings with a byte >= 0x80 pay
//! for it).

use std::borrow::Cow;
use std::fmt;

/// Deepest nesting of objects and arrays accepted.
pub const MAX_DEPTH: usize = 1_000;

/// A JSON string as it stands in the input, between its quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawStr<'a> {
    pub raw: &'a [u8],
    pub has_escapes: bool,
}

impl<'a> RawStr<'a> {
    /// The string's value.
    pub fn decode(&self) -> Result<Cow<'a, str>, &'static str> {
        if !self.has_escapes {
            return std::str::from_utf8(self.raw).map(Cow::Borrowed).map_err(|_| "a string is not valid UTF-8");
        }
        decode_escapes(self.raw).map(Cow::Owned)
    }

    /// Equal to `s` (a plain ASCII keyword)? Escaped spellings count.
    #[inline]
    pub fn is(&self, s: &str) -> bool {
        if self.has_escapes { self.decode().is_ok_and(|d| d == s) } else { self.raw == s.as_bytes() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    ObjectStart,
    ObjectEnd,
    ArrayStart,
    ArrayEnd,
    Key(RawStr<'a>),
    String(RawStr<'a>),
    /// The number's text, validated.
    Number(&'a [u8]),
    Bool(bool),
    Null,
}

/// Why the input is not JSON, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub what: &'static str,
    pub at: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.at, self.what)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A value must come (top level, after ':' or after ',' in an array).
    Value,
    /// After '[': a value or ']'.
    FirstElement,
    /// After '{': a key or '}'.
    FirstKey,
    /// After ',' in an object: a key.
    Key,
    /// After a value: ',' or the container's end (or the end of input).
    AfterValue,
    Done,
}

pub struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// true for an object, false for an array.
    stack: Vec<bool>,
    state: State,
}

/// The first index at or after `i` holding '"', '\\' or a control
/// character (or the end), and whether a byte >= 0x80 came before it. The
/// hot loop of the parser: strings are most of a request's bytes, so eight
/// are checked at a time (SWAR, `first_stop_in`). High bytes seen past the stop only make the caller check
/// UTF-8 of a string that was ASCII: never wrong, rarely slower.
#[inline]
fn skip_ordinary(bytes: &[u8], mut i: usize) -> (usize, bool) {
    let mut high = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let v = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        high |= v;
        let stops = first_stop_in(v);
        if stops != 0 {
            return (i + (stops.trailing_zeros() / 8) as usize, high & HIGHS != 0);
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i).filter(|b| !STRING_STOPS[usize::from(**b)]) {
        high |= u64::from(b);
        i += 1;
    }
    (i, high & HIGHS != 0)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The stops among eight bytes (little-endian): the high bit of each byte
/// that is '"', '\\' or below 0x20 is set. The lowest set bit is exact;
/// above it a borrow may also flag a byte that is not a stop (`#` after
/// `"`), never miss one: a scan that goes on past a stop checks the byte.
#[inline(always)]
fn first_stop_in(v: u64) -> u64 {
    let zero = |t: u64| t.wrapping_sub(ONES) & !t;
    (zero(v ^ (ONES * u64::from(b'"'))) | zero(v ^ (ONES * u64::from(b'\\'))) | (v.wrapping_sub(ONES * 0x20) & !v))
        & HIGHS
}

/// The first '"' at or after `i` (or the end). Eight bytes at a time.
#[inline]
fn find_quote(bytes: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = bytes.get(i..i + 8) {
        let t = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ (ONES * u64::from(b'"'));
        let quotes = t.wrapping_sub(ONES) & !t & HIGHS;
        if quotes != 0 {
            return i + (quotes.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + bytes[i..].iter().position(|&b| b == b'"').unwrap_or(bytes.len() - i)
}

/// Bytes that end a string scan: '"', '\\' and control characters.
const fn string_stops() -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
}
static STRING_STOPS: [bool; 256] = string_stops();

impl<'a> Parser<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Parser { bytes, pos: 0, stack: Vec::new(), state: State::Value }
    }

    /// Nesting depth: 0 at the top level, 1 inside the outermost container.
    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    fn error(&self, what: &'static str) -> JsonError {
        JsonError { what, at: self.pos }
    }

    #[inline]
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next event; `None` once the whole input was one valid value.
    #[allow(clippy::should_implement_trait)] // fallible, so not an Iterator
    pub fn next(&mut self) -> Result<Option<Event<'a>>, JsonError> {
        loop {
            self.skip_whitespace();
            let Some(&byte) = self.bytes.get(self.pos) else {
                return if self.state == State::Done { Ok(None) } else { Err(self.error("unexpected end of input")) };
            };
            return match self.state {
                State::Done => Err(self.error("trailing characters after the value")),
                State::FirstKey | State::Key => {
                    if byte == b'}' && self.state == State::FirstKey {
                        self.pos += 1;
                        return Ok(Some(self.close()));
                    }
                    if byte != b'"' {
                        return Err(self.error("expected a key (a string)"));
                    }
                    let key = self.string()?;
                    self.skip_whitespace();
                    if self.bytes.get(self.pos) != Some(&b':') {
                        return Err(self.error("expected ':' after a key"));
                    }
                    self.pos += 1;
                    self.state = State::Value;
                    Ok(Some(Event::Key(key)))
                }
                State::AfterValue => {
                    let in_object = *self.stack.last().expect("AfterValue is only set inside a container");
                    match (byte, in_object) {
                        // A comma: go on to the next key or element.
                        (b',', _) => {
                            self.pos += 1;
                            self.state = if in_object { State::Key } else { State::Value };
                            continue;
                        }
                        (b'}', true) | (b']', false) => {
                            self.pos += 1;
                            Ok(Some(self.close()))
                        }
                        _ => Err(self.error(if in_object { "expected ',' or '}'" } else { "expected ',' or ']'" })),
                    }
                }
                State::FirstElement if byte == b']' => {
                    self.pos += 1;
                    Ok(Some(self.close()))
                }
                State::Value | State::FirstElement => self.value(byte).map(Some),
            };
        }
    }

    /// Closes the innermost container.
    #[inline]
    fn close(&mut self) -> Event<'a> {
        let object = self.stack.pop().expect("close is only called inside a container");
        self.after_value();
        if object { Event::ObjectEnd } else { Event::ArrayEnd }
    }

    #[inline]
    fn after_value(&mut self) {
        self.state = if self.stack.is_empty() { State::Done } else { State::AfterValue };
    }

    #[inline]
    fn open(&mut self, object: bool) -> Result<Event<'a>, JsonError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error("nested deeper than 1000 levels"));
        }
        self.pos += 1;
        self.stack.push(object);
        self.state = if object { State::FirstKey } else { State::FirstElement };
        Ok(if object { Event::ObjectStart } else { Event::ArrayStart })
    }

    #[inline]
    fn value(&mut self, byte: u8) -> Result<Event<'a>, JsonError> {
        let event = match byte {
            b'{' => return self.open(true),
            b'[' => return self.open(false),
            b'"' => Event::String(self.string()?),
            b't' => self.literal(b"true", Event::Bool(true))?,
            b'f' => self.literal(b"false", Event::Bool(false))?,
            b'n' => self.literal(b"null", Event::Null)?,
            b'-' | b'0'..=b'9' => Event::Number(self.number()?),
            _ => return Err(self.error("expected a value")),
        };
        self.after_value();
        Ok(event)
    }

    #[inline]
    fn literal(&mut self, word: &[u8], event: Event<'a>) -> Result<Event<'a>, JsonError> {
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(event)
        } else {
            Err(self.error("expected a value"))
        }
    }

    /// `-? (0 | [1-9][0-9]*) ('.' [0-9]+)? ([eE] [+-]? [0-9]+)?`
    #[inline]
    fn number(&mut self) -> Result<&'a [u8], JsonError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let from = p.pos;
            while p.bytes.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos - from
        };
        if self.bytes[self.pos] == b'-' {
            self.pos += 1;
        }
        match self.bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.error("invalid number")),
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.error("invalid number"));
            }
        }
        let number = &self.bytes[start..self.pos];
        if beyond_f64(number) {
            return Err(JsonError { what: "a number is out of range", at: start });
        }
        Ok(number)
    }

    /// A string starting at the opening quote; checks escapes and control
    /// characters, and UTF-8 when a byte >= 0x80 was seen.
    ///
    /// Eight bytes at a time (the SWAR test of `skip_ordinary`), and an
    /// escape is consumed inside the chunk that found it: the last-applied
    /// annotation of a `kubectl apply` is a whole second copy of the object
    /// with a `\"` every few bytes, and reloading a chunk after each escape
    /// was most of what skipping `metadata` cost (callgrind).
    #[inline(always)]
    fn string(&mut self) -> Result<RawStr<'a>, JsonError> {
        let bytes = self.bytes;
        let start = self.pos + 1;
        let (mut i, mut has_escapes, mut high) = (start, false, 0u64);
        // The stop that ends the scan: the closing quote, or an error.
        let at = 'scan: loop {
            let Some(chunk) = bytes.get(i..i + 8) else {
                // The tail, a byte at a time; an escape is left to the
                // escape code below.
                while let Some(&b) = bytes.get(i) {
                    if STRING_STOPS[usize::from(b)] {
                        break;
                    }
                    high |= u64::from(b);
                    i += 1;
                }
                match bytes.get(i) {
                    Some(b'\\') => {
                        has_escapes = true;
                        i = self.escape(i)?;
                        continue 'scan;
                    }
                    _ => break 'scan i,
                }
            };
            let v = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            high |= v;
            let mut stops = first_stop_in(v);
            while stops != 0 {
                let k = (stops.trailing_zeros() / 8) as usize;
                let b = bytes[i + k];
                if b != b'\\' {
                    if STRING_STOPS[usize::from(b)] {
                        break 'scan i + k;
                    }
                    // Flagged by a borrow from the escape before it.
                    stops &= stops - 1;
                    continue;
                }
                has_escapes = true;
                let after = self.escape(i + k)?;
                if after >= i + 8 {
                    // The escape ran past this chunk: go on from its end.
                    i = after;
                    continue 'scan;
                }
                // Forget the stops of the escape's own bytes (an escaped
                // quote or backslash is one).
                stops &= u64::MAX << ((after - i) * 8);
            }
            i += 8;
        };
        self.pos = at;
        match bytes.get(at) {
            None => Err(self.error("unterminated string")),
            Some(b'"') => {
                let raw = &bytes[start..at];
                // RFC 8259 text is UTF-8, in strings the policy skips too.
                if high & 0x8080_8080_8080_8080 != 0 && std::str::from_utf8(raw).is_err() {
                    return Err(JsonError { what: "a string is not valid UTF-8", at: start });
                }
                self.pos += 1;
                Ok(RawStr { raw, has_escapes })
            }
            Some(_) => Err(self.error("control character in a string")),
        }
    }

    /// The escape whose backslash is at `at`: where the text after it
    /// starts, or the error (at the backslash).
    #[inline(always)]
    fn escape(&mut self, at: usize) -> Result<usize, JsonError> {
        let fail = |p: &mut Self, what| {
            p.pos = at;
            Err(p.error(what))
        };
        match self.bytes.get(at + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(at + 2),
            Some(b'u') => self.unicode_escape(at),
            _ => fail(self, "invalid escape"),
        }
    }

    /// A `\\uXXXX` escape (or a surrogate pair of them) at `at`: out of
    /// line, being rare in requests and most of the escape code.
    #[inline(never)]
    fn unicode_escape(&mut self, at: usize) -> Result<usize, JsonError> {
        let fail = |p: &mut Self, what| {
            p.pos = at;
            Err(p.error(what))
        };
        match self.bytes.get(at + 1) {
            Some(b'u') => {
                // A surrogate must come as a high-low pair, as serde_json
                // requires (it cannot be UTF-8 text).
                let unit = |at: usize| -> Option<u16> {
                    let hex = self.bytes.get(at + 2..at + 6)?;
                    hex_digits(hex).filter(|_| self.bytes[at..].starts_with(b"\\u")).map(|v| v as u16)
                };
                match unit(at) {
                    None => fail(self, "invalid \\u escape"),
                    Some(0xD800..=0xDBFF) => match unit(at + 6) {
                        Some(0xDC00..=0xDFFF) => Ok(at + 12),
                        _ => fail(self, "a lone surrogate in a string"),
                    },
                    Some(0xDC00..=0xDFFF) => fail(self, "a lone surrogate in a string"),
                    Some(_) => Ok(at + 6),
                }
            }
            _ => fail(self, "invalid escape"),
        }
    }

    /// Skips the value that comes next (after a key, or as an array
    /// element), checking it as thoroughly as `next` does, without events:
    /// scalars by `skip_if_scalar`, containers by `skip_container`.
    pub fn skip_value(&mut self) -> Result<(), JsonError> {
        if self.skip_if_scalar()? {
            return Ok(());
        }
        if matches!(self.state, State::Value | State::FirstElement)
            && let Some(b'{' | b'[') = self.bytes.get(self.pos)
        {
            return self.skip_container();
        }
        self.skip_by_events()
    }

    /// `skip_value` through `next`: the event path, for what is not a
    /// container (an error, or a misplaced call), and the reference the
    /// skip path is checked against (`fuzz/fuzz_targets/skip_path.rs`).
    pub fn skip_by_events(&mut self) -> Result<(), JsonError> {
        let depth = self.depth();
        loop {
            if self.skip_if_scalar()? {
                if self.depth() == depth {
                    return Ok(());
                }
                continue;
            }
            match self.next()? {
                Some(Event::ObjectStart | Event::ArrayStart | Event::Key(_)) => {}
                None => return Err(self.error("unexpected end of input")),
                Some(_) if self.depth() == depth => return Ok(()),
                Some(_) => {}
            }
        }
    }

    /// The skip path: the container at `pos` (its `{` or `[`) consumed to
    /// its end, with the grammar, depth limit and error messages of `next`
    /// (the same error at the same byte), and no event: a bracket counter
    /// over the parser's own stack, with strings, numbers and literals
    /// scanned by the same functions as `next` scans them. The subtrees the
    /// walker does not read (`metadata` with its last-applied copy of the
    /// object, `status`) are most of a request's bytes.
    #[inline(never)]
    fn skip_container(&mut self) -> Result<(), JsonError> {
        let base = self.stack.len();
        // At the top of this loop a value is due at `pos` (whitespace skipped).
        'value: loop {
            match self.bytes.get(self.pos) {
                Some(&open @ (b'{' | b'[')) => {
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(self.error("nested deeper than 1000 levels"));
                    }
                    let object = open == b'{';
                    self.stack.push(object);
                    self.pos += 1;
                    self.skip_whitespace();
                    let close = if object { b'}' } else { b']' };
                    if self.bytes.get(self.pos) == Some(&close) {
                        self.pos += 1;
                        self.stack.pop();
                    } else {
                        if object {
                            self.skip_key()?;
                        }
                        continue 'value;
                    }
                }
                Some(_) if self.scalar()? => {}
                Some(_) => return Err(self.error("expected a value")),
                None => return Err(self.error("unexpected end of input")),
            }
            // After a value: the container's next element, or its end.
            loop {
                let Some(&in_object) = self.stack.last().filter(|_| self.stack.len() > base) else {
                    self.after_value();
                    return Ok(());
                };
                self.skip_whitespace();
                match self.bytes.get(self.pos) {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_whitespace();
                        if in_object {
                            self.skip_key()?;
                        } else if self.bytes.get(self.pos).is_none() {
                            return Err(self.error("unexpected end of input"));
                        }
                        continue 'value;
                    }
                    Some(b'}') if in_object => {}
                    Some(b']') if !in_object => {}
                    Some(_) => {
                        return Err(self.error(if in_object { "expected ',' or '}'" } else { "expected ',' or ']'" }));
                    }
                    None => return Err(self.error("unexpected end of input")),
                }
                self.pos += 1;
                self.stack.pop();
            }
        }
    }

    /// In `skip_container`, a key due at `pos` (whitespace skipped), its
    /// `:`, and the whitespace before its value.
    #[inline]
    fn skip_key(&mut self) -> Result<(), JsonError> {
        match self.bytes.get(self.pos) {
            Some(b'"') => {}
            Some(_) => return Err(self.error("expected a key (a string)")),
            None => return Err(self.error("unexpected end of input")),
        }
        self.string()?;
        self.skip_whitespace();
        if self.bytes.get(self.pos) != Some(&b':') {
            return Err(self.error("expected ':' after a key"));
        }
        self.pos += 1;
        self.skip_whitespace();
        Ok(())
    }

    /// When a value is due and it is a scalar (string, number, `true`,
    /// `false`, `null`), consumes it, checked as `next` checks it, and
    /// returns true. Otherwise (a container, a closing bracket, a comma is
    /// due) consumes nothing and returns false: `next` takes it from there.
    /// The walker skips the values it does not read this way, without an
    /// event for each (most of a request's values are such scalars).
    #[inline(always)]
    pub fn skip_if_scalar(&mut self) -> Result<bool, JsonError> {
        if !matches!(self.state, State::Value | State::FirstElement) {
            return Ok(false);
        }
        self.skip_whitespace();
        if !self.scalar()? {
            return Ok(false);
        }
        self.after_value();
        Ok(true)
    }

    /// The scalar (string, number, `true`, `false`, `null`) that starts at
    /// `pos`, consumed and checked as `next` checks it: true. Anything else
    /// is left where it is: false. Shared by both skips (`skip_if_scalar`,
    /// `skip_container`), which leave the state to their callers.
    #[inline(always)]
    fn scalar(&mut self) -> Result<bool, JsonError> {
        match self.bytes.get(self.pos) {
            Some(b'"') => {
                self.string()?;
            }
            Some(b't') => {
                self.literal(b"true", Event::Null)?;
            }
            Some(b'f') => {
                self.literal(b"false", Event::Null)?;
            }
            Some(b'n') => {
                self.literal(b"null", Event::Null)?;
            }
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Right after `[`, the elements that are plain strings (ASCII, no
    /// escape), each given to `each` as it stands in the input, without an
    /// event: the settings' rule lists are thousands of such strings. Stops
    /// before anything else (another value, an escape, a byte >= 0x80, the
    /// `]`), leaving the parser where `next` goes on from, with every byte
    /// consumed checked as `next` checks it. True when what stopped it is
    /// the `]` that ends the array (every element was plain).
    #[inline(never)]
    pub fn plain_strings(&mut self, mut each: impl FnMut(&'a str)) -> bool {
        if self.state != State::FirstElement {
            return false;
        }
        loop {
            self.skip_whitespace();
            match self.bytes.get(self.pos) {
                Some(b'"') => {}
                // `]` right after `[` or after an element; not after a comma.
                Some(b']') => return self.state != State::Value,
                _ => return false,
            }
            let start = self.pos + 1;
            let (stop, high) = skip_ordinary(self.bytes, start);
            if high || self.bytes.get(stop) != Some(&b'"') {
                return false;
            }
            // SAFETY: `skip_ordinary` saw every byte of start..stop and none
            // was >= 0x80 (`high` is false): ASCII, so UTF-8. `from_utf8`
            // here was 40% of reading 1,000 rules (callgrind).
            let text = unsafe { std::str::from_utf8_unchecked(&self.bytes[start..stop]) };
            self.pos = stop + 1;
            self.state = State::AfterValue;
            each(text);
            self.skip_whitespace();
            if self.bytes.get(self.pos) != Some(&b',') {
                return self.bytes.get(self.pos) == Some(&b']');
            }
            self.pos += 1;
            self.state = State::Value;
        }
    }

    /// Where the next value starts (after whitespace).
    pub fn value_start(&mut self) -> usize {
        self.skip_whitespace();
        self.pos
    }

    /// Where the parser stands.
    pub fn position(&self) -> usize {
        self.pos
    }
}

/// A number token as text (the parser only lets ASCII through), without
/// `from_utf8_lossy` and its code.
pub fn ascii(number: &[u8]) -> &str {
    std::str::from_utf8(number).unwrap_or("?")
}

/// A parsed JSON value, for small documents (the settings). Built without
/// recursion; a key that appears twice in a mapping is an error, not a
/// silent "last one wins". Strings and numbers borrow from the bytes read
/// (a copy only for strings with escapes): settings are read on every
/// request, and thousands of rules must not cost thousands of allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document<'a> {
    Null,
    Bool(bool),
    /// The number's text.
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Vec<Document<'a>>),
    /// A rule list of the settings (`registries.allow`, `images.reject`,
    /// `tags.allow`, `exemptImages`, ...) whose elements are all plain
    /// strings (ASCII, no escape), as `Document::read_settings` reads it:
    /// its bytes, scanned again when the list is read, and no `Document` nor
    /// any other allocation per string. A PolicyServer reads the settings on
    /// every request in a fresh instance, where every page of memory an
    /// allocation touches is a page fault: 1,000 rules as 1,000 `Document`s
    /// (built, grown, dropped) cost more than the rest of the request.
    /// Nothing else is read this way, so only the reader of rule lists
    /// (`settings::Reader::strings`) meets it.
    Strings(PlainStrings<'a>),
    Object(Vec<(Cow<'a, str>, Document<'a>)>),
}

impl<'a> Document<'a> {
    /// The document that is the whole of `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Document<'a>, String> {
        Document::parse_as(bytes, false)
    }

    /// The settings document that is the whole of `bytes`, its rule lists
    /// read as `Document::Strings` where they can be.
    pub fn parse_settings(bytes: &'a [u8]) -> Result<Document<'a>, String> {
        Document::parse_as(bytes, true)
    }

    fn parse_as(bytes: &'a [u8], settings: bool) -> Result<Document<'a>, String> {
        let mut parser = Parser::new(bytes);
        let document = Document::read_as(&mut parser, settings).map_err(|e| e.to_string())??;
        match parser.next().map_err(|e| e.to_string())? {
            None => Ok(document),
            Some(_) => Err("trailing characters after the value".into()),
        }
    }

    /// Reads the next value of `parser`, whole, and leaves the parser after
    /// it: so that a value inside a larger document (the settings in a
    /// validate payload) is read in the same pass that checks the document.
    /// The outer error is invalid JSON; the inner one a key repeated in one
    /// mapping (the value is still read to its end).
    pub fn read(parser: &mut Parser<'a>) -> Result<Result<Document<'a>, String>, JsonError> {
        Document::read_as(parser, false)
    }

    /// `read`, for the settings: their rule lists of plain strings are read
    /// as `Document::Strings`.
    pub fn read_settings(parser: &mut Parser<'a>) -> Result<Result<Document<'a>, String>, JsonError> {
        Document::read_as(parser, true)
    }

    fn read_as(parser: &mut Parser<'a>, settings: bool) -> Result<Result<Document<'a>, String>, JsonError> {
        let depth = parser.depth();
        // Open containers, each with the key it sits under in its parent.
        let mut open: Vec<(Option<Cow<'a, str>>, Document<'a>)> = Vec::new();
        let mut key: Option<Cow<'a, str>> = None;
        let mut repeated: Option<String> = None;
        let decoded = |raw: RawStr<'a>, parser: &Parser<'a>| raw.decode().map_err(|what| parser.error(what));
        loop {
            let Some(event) = parser.next()? else {
                return Err(parser.error("unexpected end of input"));
            };
            let value = match event {
                Event::ObjectStart => {
                    open.push((key.take(), Document::Object(Vec::new())));
                    continue;
                }
                Event::ArrayStart => {
                    // Plain strings first, without an event each.
                    let array = if settings && is_rule_list(&open, key.as_deref()) {
                        let begin = parser.position();
                        let mut len = 0;
                        let whole = parser.plain_strings(|_| len += 1);
                        let plain = PlainStrings { raw: &parser.bytes[begin..parser.position()], len };
                        if whole {
                            Document::Strings(plain)
                        } else {
                            Document::Array(plain.iter().map(|s| Document::String(Cow::Borrowed(s))).collect())
                        }
                    } else {
                        let mut items = Vec::new();
                        parser.plain_strings(|s| items.push(Document::String(Cow::Borrowed(s))));
                        Document::Array(items)
                    };
                    open.push((key.take(), array));
                    continue;
                }
                Event::Key(k) => {
                    let k = decoded(k, parser)?;
                    if let Some((_, Document::Object(entries))) = open.last()
                        && entries.iter().any(|(existing, _)| *existing == k)
                    {
                        repeated.get_or_insert_with(|| format!("the key {k:?} appears twice in one mapping"));
                    }
                    key = Some(k);
                    continue;
                }
                Event::ObjectEnd | Event::ArrayEnd => {
                    let (under, container) = open.pop().expect("the parser balances containers");
                    key = under;
                    container
                }
                Event::String(s) => Document::String(decoded(s, parser)?),
                Event::Number(n) => Document::Number(ascii(n)),
                Event::Bool(b) => Document::Bool(b),
                Event::Null => Document::Null,
            };
            match open.last_mut() {
                None => {
                    debug_assert_eq!(parser.depth(), depth);
                    return Ok(repeated.map_or(Ok(value), Err));
                }
                Some((_, Document::Object(entries))) => entries.push((key.take().expect("a key precedes"), value)),
                Some((_, Document::Array(items))) => items.push(value),
                // A `Strings` list is only made when its `]` is next.
                Some(_) => unreachable!("only containers are open"),
            }
        }
    }

    /// The value under `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Document<'a>> {
        match self {
            Document::Object(entries) => entry(entries, key),
            _ => None,
        }
    }
}

/// The strings of a rule list read by `Document::read_settings`: the bytes
/// between its `[` and `]`, which `Parser::plain_strings` checked to be
/// plain strings (ASCII, no escape, no control byte) separated by commas and
/// whitespace. Only the parser makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlainStrings<'a> {
    raw: &'a [u8],
    len: usize,
}

impl<'a> PlainStrings<'a> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The strings, in order, borrowed from the input.
    pub fn iter(&self) -> PlainStringsIter<'a> {
        PlainStringsIter { raw: self.raw, at: 0 }
    }
}

/// The strings of `PlainStrings`, found again in its bytes.
pub struct PlainStringsIter<'a> {
    raw: &'a [u8],
    at: usize,
}

impl<'a> Iterator for PlainStringsIter<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let raw = self.raw;
        // Between strings only ',' and whitespace: the next '"' opens one,
        // and (no escape inside) the one after closes it.
        let open = self.at + raw.get(self.at..)?.iter().position(|&b| b == b'"')?;
        let close = find_quote(raw, open + 1);
        let text = raw.get(open + 1..close)?;
        self.at = close + 1;
        // SAFETY: `plain_strings` found every byte of these strings below
        // 0x80 before this list was made: ASCII, so UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(text) })
    }
}

/// Whether an array opening under `key`, inside the containers `open`, is
/// one of the settings' rule lists: `exemptImages`, or `allow` / `reject`
/// of `registries`, `images` or `tags` (`settings::Reader::strings` reads
/// them all).
fn is_rule_list(open: &[(Option<Cow<'_, str>>, Document<'_>)], key: Option<&str>) -> bool {
    match (open, key) {
        ([(None, Document::Object(_))], Some("exemptImages")) => true,
        ([(None, Document::Object(_)), (Some(section), Document::Object(_))], Some("allow" | "reject")) => {
            matches!(section.as_ref(), "registries" | "images" | "tags")
        }
        _ => false,
    }
}

/// The value under `key` among a mapping's entries.
pub fn entry<'v, 'a>(entries: &'v [(Cow<'a, str>, Document<'a>)], key: &str) -> Option<&'v Document<'a>> {
    entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A number (valid JSON) whose magnitude is past `f64::MAX`, which
/// serde_json (and so every Kubewarden host) refuses as "number out of
/// range": reading what the hosts refuse is where differential bugs start
/// (found by fuzzing: `44444441615E0001000000000000000000000`). Decided on
/// the digits, without float parsing: the decimal exponent of the first
/// significant digit above 308 is out of range, and at 308 the numbers
/// near `f64::MAX` (below). A number that underflows is 0, as for serde.
fn beyond_f64(number: &[u8]) -> bool {
    // Numbers without an exponent and of 15 digits or fewer: the common case.
    if number.len() <= 15 && !number.iter().any(|b| matches!(b, b'e' | b'E')) {
        return false;
    }
    let number = number.strip_prefix(b"-").unwrap_or(number);
    let (mantissa, exponent) = match number.iter().position(|b| matches!(b, b'e' | b'E')) {
        Some(at) => (&number[..at], &number[at + 1..]),
        None => (number, &b""[..]),
    };
    let (integer, fraction) = match mantissa.iter().position(|b| *b == b'.') {
        Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
        None => (mantissa, &b""[..]),
    };
    // The exponent, saturating: its digits may be many.
    let (negative, exponent_digits) = match exponent.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, exponent),
    };
    let magnitude = exponent_digits.iter().fold(0i64, |e, d| e.saturating_mul(10).saturating_add(i64::from(d - b'0')));
    let exponent = if negative { -magnitude } else { magnitude };
    // The significant digits, and the decimal exponent of the first one.
    let digits: Vec<u8> = integer.iter().chain(fraction).copied().collect();
    let Some(first) = digits.iter().position(|d| *d != b'0') else {
        return false;
    };
    let place = integer.len() as i64 - 1 - first as i64;
    let decimal_exponent = place.saturating_add(exponent);
    match decimal_exponent.cmp(&308) {
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => {
            // f64::MAX is 1.7976931348623157e308. serde_json multiplies in
            // f64, so where it gives up wobbles in the last digits
            // (1.79769313486231575e308 passes, 1.7976931348623157081e308
            // does not): refuse from 1.7976931348623e308 up, so that nothing
            // serde refuses is read here. No Kubernetes object holds such a
            // number.
            digits[first..] >= b"17976931348623"[..]
        }
    }
}

/// The value of exactly four hex digits (`\uXXXX`), nothing else: not
/// `from_str_radix`, which also takes a leading `+` (`\u+eca` is not JSON).
fn hex_digits(digits: &[u8]) -> Option<u32> {
    if digits.len() != 4 {
        return None;
    }
    digits.iter().try_fold(0u32, |value, &b| Some(value * 16 + char::from(b).to_digit(16)?))
}

/// Decodes a string body with escapes (already checked by the parser).
fn decode_escapes(raw: &[u8]) -> Result<String, &'static str> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'\\' {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let simple = match raw[i + 1] {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            i += 2;
            continue;
        }
        let unit = |at: usize| -> Option<u32> { hex_digits(raw.get(at + 2..at + 6)?).filter(|_| raw[at + 1] == b'u') };
        let first = unit(i).ok_or("invalid \\u escape")?;
        let (code, len) = match first {
            0xD800..=0xDBFF => {
                let second = raw.get(i + 6).filter(|b| **b == b'\\').and_then(|_| unit(i + 6));
                match second {
                    Some(low @ 0xDC00..=0xDFFF) => (0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00), 12),
                    _ => return Err("a string has a lone surrogate"),
                }
            }
            0xDC00..=0xDFFF => return Err("a string has a lone surrogate"),
            _ => (first, 6),
        };
        let c = char::from_u32(code).ok_or("invalid \\u escape")?;
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        i += len;
    }
    String::from_utf8(out).map_err(|_| "a string is not valid UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(text: &[u8]) -> Result<usize, JsonError> {
        let mut parser = Parser::new(text);
        let mut events = 0;
        while parser.next()?.is_some() {
            events += 1;
        }
        Ok(events)
    }

    /// Our verdict on validity equals serde_json's on every input here.
    #[test]
    fn agrees_with_serde_json_on_validity() {
        for input in VALIDITY_CASES {
            let ours = parse_all(input.as_bytes()).is_ok();
            let theirs = serde_json::from_str::<serde_json::Value>(input).is_ok();
            assert_eq!(ours, theirs, "{input:?}");
        }
    }

    /// A document skipped whole, by the skip path or the event path: the
    /// error (what and where), or the byte after the value.
    fn skip_whole(text: &[u8], skip_path: bool) -> Result<usize, JsonError> {
        let mut parser = Parser::new(text);
        if skip_path {
            parser.skip_value()?
        } else {
            parser.skip_by_events()?
        }
        let end = parser.position();
        match parser.next()? {
            None => Ok(end),
            Some(_) => Err(parser.error("trailing characters after the value")),
        }
    }

    /// The skip path gives the event path's verdict, error and position, on
    /// every validity case, alone and inside containers, and on every
    /// prefix of them (cut anywhere, the error is the same too).
    #[test]
    fn the_skip_path_agrees_with_the_event_path() {
        let mut inputs: Vec<String> = VALIDITY_CASES.iter().map(|s| s.to_string()).collect();
        for case in VALIDITY_CASES {
            inputs.push(format!("{{\"k\": {case}}}"));
            inputs.push(format!("[0, {case}, {{}}]"));
            inputs.push(format!("{{\"a\": [{{\"b\": {case} }}, [[{case}]]], \"c\" : {{ }} }}"));
        }
        inputs.extend(
            [
                "{\"a\" 1}",
                "{\"a\":1 \"b\":2}",
                "{\"a\":1,}",
                "{\"a\":1, }",
                "[1, ]",
                "[1 ,, 2]",
                "{ , }",
                "[ ] ]",
                "{\"a\": [1, 2}",
                "[{\"a\": 1]]",
                "{\"\\u0041\": \"\\ud83d\\ude00\", \"x\":\t[ \n] }",
            ]
            .map(String::from),
        );
        inputs.push("[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH));
        inputs.push("[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1));
        inputs.push("{\"a\":".repeat(MAX_DEPTH + 1) + "1" + &"}".repeat(MAX_DEPTH + 1));
        for input in &inputs {
            for cut in (0..=input.len()).filter(|&i| input.is_char_boundary(i)) {
                let text = &input.as_bytes()[..cut];
                assert_eq!(skip_whole(text, true), skip_whole(text, false), "{:?}", &input[..cut]);
            }
        }
    }

    /// Inputs on which our verdict on validity must equal serde_json's.
    const VALIDITY_CASES: &[&str] = &[
        "{}",
        "[]",
        "0",
        "-0",
        "1.5e10",
        "-1E-2",
        "true",
        "false",
        "null",
        "\"a\"",
        " { \"a\" : [1, 2, {\"b\": null}] } ",
        "{\"a\":\"\\u00e9\\n\\\"\"}",
        "[\"\\ud83d\\ude00\"]",
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "[,1]",
        "{\"a\":1,}",
        "{,}",
        "{\"a\"}",
        "{\"a\" 1}",
        "{1:2}",
        "[1 2]",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "1e+",
        "+1",
        "tru",
        "nul",
        "True",
        "\"a",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12g4\"",
        "\"a\tb\"",
        "[1]]",
        "{}{}",
        "[]x",
        "\"\\\"",
        "[[[]]]",
        "{\"a\":{\"b\":{\"c\":[]}}}",
        "[1e5, -0.0, 2E+3]",
        r#"["\ud800"]"#,
        r#"["\udc00"]"#,
        r#"["\ud800\u0041"]"#,
        r#"["\ud800x"]"#,
        r#"["\ud83d\ude00"]"#,
        r#"{"\udb27": 1}"#,
        "\u{feff}{}",
        "[\"\u{e9}\"]",
        "123abc",
        "[true false]",
        "nulll",
        "[-]",
        "[0x1]",
        "[1.2.3]",
        // Found by fuzzing: numbers past f64's range, which serde refuses.
        "[44444441615E0001000000000000000000000]",
        "[1e400]",
        "[-1e400]",
        "[1e-400]",
        "[1E308]",
        "[1.7976931348623158e308]",
        "[1.7976931348623157081e308]",
        "[1.8e308]",
        "[1.797693134862e308]",
        "[0e999999999999999999999]",
        "[0.0000000000000000000001e330]",
        "[0.00000000000000000000001e330]",
        "[123456789012345678901234567890]",
        "[1e-99999999999999999999999]",
        // Found by fuzzing: `from_str_radix` read `\u+eca` as U+0ECA.
        r#"["\u+eca"]"#,
        r#"{"a\u+eca": 1}"#,
        r#"["\u-eca"]"#,
        r#"["\u eca"]"#,
        r#"["\ud83d\u+e00"]"#,
        // The bytes after an escape inside one eight-byte chunk: each
        // must be read as itself (a borrow once flagged `#` after `"`).
        r##"["\"#\"#\"#\"#\"#"]"##,
        r#"["a\\]\\]b\\]]"]"#,
        r#"["\n \t!\r\u0020 \/0"]"#,
        "[\"ab\\\"\u{1}\"]",
        "[\"\\\"\\\"\\\"\\\"\\\"\u{e9}\\\"\"]",
        "[\"\\\"\\\"\\\"\\\"\\\"\u{80}\\\"\"]",
        r#"["1234567\u00e9\ud83d\ude00x\"y"]"#,
        r#"["1234567\ud83d"]"#,
        r#"["123456\ud83d\u"]"#,
        r#"["12345\"#,
    ];

    #[test]
    fn numbers_past_f64_are_refused_as_serde_refuses_them() {
        let long_max = format!("[17976931348623157{}]", "0".repeat(292));
        let long_small = format!("[1{}]", "0".repeat(300));
        let tiny = format!("[0.{}1]", "0".repeat(400));
        for input in [long_max.as_str(), long_small.as_str(), tiny.as_str()] {
            let ours = parse_all(input.as_bytes()).is_ok();
            let theirs = serde_json::from_str::<serde_json::Value>(input).is_ok();
            assert_eq!(ours, theirs, "{input}");
        }
        assert_eq!(parse_all(b"[1e400]").unwrap_err(), JsonError { what: "a number is out of range", at: 1 });
    }

    #[test]
    fn invalid_utf8_anywhere_is_refused() {
        for bytes in [&b"[\"\x88\xa2\"]"[..], b"{\"\xff\": 1}", b"[\"abcdefgh\xc3\"]", b"[\"\xed\xa0\x80\"]"] {
            assert_eq!(parse_all(bytes).unwrap_err().what, "a string is not valid UTF-8", "{bytes:?}");
            assert!(serde_json::from_slice::<serde_json::Value>(bytes).is_err());
        }
        assert!(parse_all("[\"caf\u{e9} \u{1F600} longer than eight bytes\"]".as_bytes()).is_ok());
        // Found by fuzzing: a bad byte in a full 8-byte chunk, then a short tail.
        assert_eq!(parse_all(b"[\"laau\xefitest\"]").unwrap_err().what, "a string is not valid UTF-8");
    }

    #[test]
    fn events_and_decoding() {
        let mut parser = Parser::new(br#"{"k\u0065y": ["v\n", 12, true]}"#);
        assert_eq!(parser.next().unwrap(), Some(Event::ObjectStart));
        let Some(Event::Key(key)) = parser.next().unwrap() else { panic!() };
        assert!(key.is("key"));
        assert_eq!(parser.next().unwrap(), Some(Event::ArrayStart));
        let Some(Event::String(s)) = parser.next().unwrap() else { panic!() };
        assert_eq!(s.decode().unwrap(), "v\n");
        assert_eq!(parser.next().unwrap(), Some(Event::Number(b"12")));
        assert_eq!(parser.next().unwrap(), Some(Event::Bool(true)));
        assert_eq!(parser.next().unwrap(), Some(Event::ArrayEnd));
        assert_eq!(parser.next().unwrap(), Some(Event::ObjectEnd));
        assert_eq!(parser.next().unwrap(), None);
    }

    #[test]
    fn invalid_strings_are_refused_on_decoding() {
        let lone = RawStr { raw: br"\ud800x", has_escapes: true };
        assert_eq!(lone.decode(), Err("a string has a lone surrogate"));
        let bad_utf8 = RawStr { raw: &[0xff, 0xfe], has_escapes: false };
        assert_eq!(bad_utf8.decode(), Err("a string is not valid UTF-8"));
    }

    #[test]
    fn depth_is_bounded_without_recursion() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_all(deep.as_bytes()).is_ok());
        let deeper = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            parse_all(deeper.as_bytes()).unwrap_err(),
            JsonError { what: "nested deeper than 1000 levels", at: 1000 }
        );
    }

    #[test]
    fn skip_value() {
        let mut parser = Parser::new(br#"{"a": {"x": [1, "}"]}, "b": {"s": 1}, "c": 2}"#);
        parser.next().unwrap();
        parser.next().unwrap();
        parser.skip_value().unwrap();
        let Some(Event::Key(b)) = parser.next().unwrap() else { panic!() };
        assert!(b.is("b"));
        parser.skip_value().unwrap();
        let Some(Event::Key(c)) = parser.next().unwrap() else { panic!() };
        assert!(c.is("c"));
        assert_eq!(parser.next().unwrap(), Some(Event::Number(b"2")));
    }

    /// `first_stop_in` flags every stop byte, at every position, whatever
    /// its neighbours, and its lowest flag is a stop.
    #[test]
    fn first_stop_in_misses_no_stop_and_its_first_is_exact() {
        let neighbours = [0x00, b'"', b'\\', b'#', b']', 0x20, 0x1F, 0x21, 0x01, 0x7F, 0x80, 0xFF, b'a'];
        for at in 0..8 {
            for byte in 0..=255u8 {
                for &n in &neighbours {
                    let mut chunk = [n; 8];
                    chunk[at] = byte;
                    let flagged = first_stop_in(u64::from_le_bytes(chunk));
                    for (k, &b) in chunk.iter().enumerate() {
                        if STRING_STOPS[usize::from(b)] {
                            assert_eq!(flagged >> (k * 8 + 7) & 1, 1, "{chunk:?} byte {k}");
                        }
                    }
                    let first = chunk.iter().position(|&b| STRING_STOPS[usize::from(b)]);
                    let lowest = (flagged != 0).then(|| (flagged.trailing_zeros() / 8) as usize);
                    assert_eq!(lowest, first, "{chunk:?}");
                }
            }
        }
    }

    #[test]
    fn find_quote_finds_the_first_quote_at_every_offset() {
        for len in 0..40 {
            for at in 0..=len {
                let mut bytes: Vec<u8> = (0..len).map(|i| [b'a', 0x23, 0x21, 0x00, 0xff, b'\\'][i % 6]).collect();
                if at < len {
                    bytes[at] = b'"';
                }
                assert_eq!(find_quote(&bytes, 0), at, "at {at} of {len}");
                if at < len {
                    bytes.push(b'"');
                    assert_eq!(find_quote(&bytes, 0), at, "at {at} of {len}, another after");
                }
            }
        }
    }

    #[test]
    fn skip_ordinary_finds_the_first_stop_at_every_offset() {
        for stop in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
            for len in 0..40 {
                for at in 0..=len {
                    let mut bytes = vec![b'a'; len];
                    // High bytes (UTF-8) and near-misses must not stop the scan.
                    for (i, b) in bytes.iter_mut().enumerate() {
                        *b = [b'a', 0xc3, 0xa9, 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0xff][i % 10];
                    }
                    if at < len {
                        bytes[at] = stop;
                    }
                    assert_eq!(skip_ordinary(&bytes, 0).0, at, "stop {stop:#x} at {at} of {len}");
                }
            }
        }
    }

    /// Only the settings' rule lists, and only when every element is a
    /// plain string, are read as `Strings`; the same values elsewhere, or
    /// with an escape or a non-string among them, are an `Array`.
    #[test]
    fn settings_rule_lists_of_plain_strings_are_read_as_strings() {
        let text = br#"{"registries": {"allow": ["a.io", "b.io" ], "reject": []},
            "images": {"allow": ["x", "\u0079"], "reject": ["p", 1]}, "tags": {"allow": ["v1"]},
            "exemptImages": ["e"], "mirrors": [{"from": "a.io", "to": "m.io"}],
            "imageConfig": {"platforms": ["linux/amd64"]}, "other": {"allow": ["z"]}}"#;
        let document = Document::parse_settings(text).unwrap();
        let at = |section: &str, list: &str| document.get(section).and_then(|s| s.get(list)).unwrap().clone();
        let strings = |items: &[&str]| items.join(",");
        let listed = |value: Document<'_>| match value {
            Document::Strings(plain) => plain.iter().collect::<Vec<_>>().join(","),
            other => panic!("not Strings: {other:?}"),
        };
        let array = |items: Vec<Document<'static>>| Document::Array(items);
        assert_eq!(listed(at("registries", "allow")), strings(&["a.io", "b.io"]));
        assert_eq!(listed(at("registries", "reject")), strings(&[]));
        assert_eq!(at("images", "allow"), array(vec![Document::String("x".into()), Document::String("y".into())]));
        assert_eq!(at("images", "reject"), array(vec![Document::String("p".into()), Document::Number("1")]));
        assert_eq!(listed(at("tags", "allow")), strings(&["v1"]));
        assert_eq!(listed(document.get("exemptImages").unwrap().clone()), strings(&["e"]));
        assert_eq!(at("imageConfig", "platforms"), array(vec![Document::String("linux/amd64".into())]));
        assert_eq!(at("other", "allow"), array(vec![Document::String("z".into())]));
        // Read as a document of anything else, nothing is `Strings`.
        let plain = Document::parse(text).unwrap();
        assert_eq!(plain.get("exemptImages").unwrap(), &array(vec![Document::String("e".into())]));
        // A trailing comma is still an error.
        assert!(Document::parse_settings(br#"{"exemptImages": ["a",]}"#).is_err());
        assert!(Document::parse_settings(br#"{"exemptImages": ["a" "b"]}"#).is_err());
    }

    #[test]
    fn documents_are_built_and_duplicate_keys_refused() {
        let doc = Document::parse(br#" {"a": [1, "x", null, true, {"b": {}}], "c": -2.5e3} "#).unwrap();
        assert_eq!(doc.get("c"), Some(&Document::Number("-2.5e3")));
        let Some(Document::Array(items)) = doc.get("a") else { panic!() };
        assert_eq!(items.len(), 5);
        assert_eq!(items[4].get("b"), Some(&Document::Object(vec![])));
        assert_eq!(Document::parse(b"\"s\"").unwrap(), Document::String("s".into()));
        assert_eq!(Document::parse(br#"{"a": 1, "a": 2}"#).unwrap_err(), "the key \"a\" appears twice in one mapping");
        assert_eq!(
            Document::parse(b"{} 1").unwrap_err(),
            "invalid JSON at byte 3: trailing characters after the value"
        );
        assert_eq!(Document::parse(b"").unwrap_err(), "invalid JSON at byte 0: unexpected end of input");
    }
}
