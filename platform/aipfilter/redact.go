package aipfilter

import "strings"

// Redacted stands for a value Redact dropped.
const Redacted = "…"

// Redact keeps filter's fields, operators and layout and replaces the value
// after each comparator with Redacted, for logs and audit entries that must
// not keep what the values may hold (a person's name or phone). It reads
// the filter with the same lexer as Compile, so a quoted value holding
// quotes, spaces or parentheses is dropped whole. A filter that does not
// lex is dropped whole: Compile refuses it anyway.
func Redact(filter string) string {
	toks, err := lex(filter)
	if err != nil {
		return Redacted
	}
	var b strings.Builder
	done := 0 // filter[:done] is written
	for i := 0; i < len(toks); i++ {
		if toks[i].kind != tokComparator {
			continue
		}
		j := i + 1
		if j < len(toks) && toks[j].kind == tokMinus && j+1 < len(toks) && toks[j+1].kind == tokText && !toks[j+1].spaced {
			j++ // a negative number: "-" and its digits are one value
		} else if j >= len(toks) || (toks[j].kind != tokText && toks[j].kind != tokString) {
			continue
		}
		b.WriteString(filter[done:toks[i].end])
		b.WriteString(" " + Redacted)
		done = toks[j].end
		i = j
	}
	b.WriteString(filter[done:])
	return b.String()
}
