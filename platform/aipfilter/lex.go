package aipfilter

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

type tokenKind int

const (
	tokEOF    tokenKind = iota
	tokText             // bare word: field path, enum name, number, true
	tokString           // quoted literal; text holds it unescaped
	tokAnd
	tokOr
	tokNot
	tokMinus // a `-` that starts a token: negation, or a negative number
	tokLParen
	tokRParen
	tokComma
	tokComparator
)

type token struct {
	kind tokenKind
	text string
	// pos and end are the byte offsets of the token in the input.
	pos, end int
	// spaced reports whether whitespace (or the start of the input)
	// comes right before the token.
	spaced bool
}

// describe names a token for an error message.
func (t token) describe(input string) string {
	switch t.kind {
	case tokEOF:
		return "the end of the filter"
	case tokString:
		return "string " + input[t.pos:t.end]
	default:
		return strconv.Quote(t.text)
	}
}

// special are the characters that end a bare word.
const special = `()"'=<>!:,`

func isWordRune(r rune) bool {
	return !unicode.IsSpace(r) && !strings.ContainsRune(special, r)
}

// lex splits input into tokens, ending with tokEOF.
func lex(input string) ([]token, error) {
	var toks []token
	i := 0
	for {
		start := i
		for i < len(input) {
			r, n := utf8.DecodeRuneInString(input[i:])
			if !unicode.IsSpace(r) {
				break
			}
			i += n
		}
		t := token{pos: i, spaced: i > start || i == 0}
		if i == len(input) {
			t.kind = tokEOF
			return append(toks, t), nil
		}
		rest := input[i:]
		t.end = i + 1
		switch c := rest[0]; {
		case c == '(':
			t.kind, t.text = tokLParen, "("
		case c == ')':
			t.kind, t.text = tokRParen, ")"
		case c == ',':
			t.kind, t.text = tokComma, ","
		case c == '"' || c == '\'':
			end, text, err := scanString(input, i)
			if err != nil {
				return nil, err
			}
			t.kind, t.text, t.end = tokString, text, end
		case c == '-':
			t.kind, t.text = tokMinus, "-"
		case strings.HasPrefix(rest, "<=") || strings.HasPrefix(rest, ">=") || strings.HasPrefix(rest, "!="):
			t.kind, t.text, t.end = tokComparator, rest[:2], i+2
		case c == '<' || c == '>' || c == '=' || c == ':':
			t.kind, t.text = tokComparator, rest[:1]
		case c == '!':
			return nil, invalid("filter", input, i, `"!" must be followed by "=": write NOT or "-" to negate`)
		default:
			n := strings.IndexFunc(rest, func(r rune) bool { return !isWordRune(r) })
			if n < 0 {
				n = len(rest)
			}
			t.kind, t.text, t.end = tokText, rest[:n], i+n
			switch t.text {
			case "AND":
				t.kind = tokAnd
			case "OR":
				t.kind = tokOr
			case "NOT":
				t.kind = tokNot
			}
		}
		toks = append(toks, t)
		i = t.end
	}
}

// scanString reads the quoted string starting at input[start] and returns
// the offset just past its closing quote and its unescaped text.
func scanString(input string, start int) (end int, text string, err error) {
	quote := input[start]
	var b strings.Builder
	i := start + 1
	for i < len(input) {
		c := input[i]
		switch {
		case c == quote:
			return i + 1, b.String(), nil
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 == len(input) {
			break
		}
		switch e := input[i+1]; e {
		case '\\', '"', '\'':
			b.WriteByte(e)
			i += 2
		case 'n':
			b.WriteByte('\n')
			i += 2
		case 'r':
			b.WriteByte('\r')
			i += 2
		case 't':
			b.WriteByte('\t')
			i += 2
		case 'u':
			r, n := hexRune(input[i+2:])
			if n == 0 {
				return 0, "", invalid("filter", input, i, `"\u" must be followed by 4 hex digits naming a character other than NUL`)
			}
			b.WriteRune(r)
			i += 2 + n
		default:
			return 0, "", invalid("filter", input, i, `unknown escape "\%c" in string; write "\\" for a backslash`, e)
		}
	}
	return 0, "", invalid("filter", input, start, "the string starting here has no closing %c", quote)
}

// hexRune decodes the 4 hex digits of a \u escape, or a UTF-16 surrogate
// pair written as two escapes, and returns the rune and the bytes used; n is
// 0 when they do not name a valid character other than NUL.
func hexRune(s string) (r rune, n int) {
	if len(s) < 4 {
		return 0, 0
	}
	v, err := strconv.ParseUint(s[:4], 16, 16)
	switch {
	case err != nil || v == 0:
		return 0, 0
	case !utf16.IsSurrogate(rune(v)):
		return rune(v), 4
	}
	if len(s) < 10 || s[4:6] != `\u` {
		return 0, 0
	}
	lo, err := strconv.ParseUint(s[6:10], 16, 16)
	if err != nil {
		return 0, 0
	}
	if r := utf16.DecodeRune(rune(v), rune(lo)); r != utf8.RuneError {
		return r, 10
	}
	return 0, 0
}
