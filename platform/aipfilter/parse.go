package aipfilter

import (
	"fmt"
	"strings"
)

// node is a parsed filter: andNode, orNode, notNode or *restriction.
type node interface {
	String() string
}

type andNode []node

type orNode []node

type notNode struct{ x node }

// restriction is `path op value` before the schema gives it meaning.
type restriction struct {
	path     string
	op       Op
	value    Value // Text, Quoted and Wildcard only
	pos      int   // of the path
	valuePos int
}

// String forms are for tests and debugging: AND(a = "x", OR(b, c)).
func (n andNode) String() string { return "AND(" + join(n) + ")" }
func (n orNode) String() string  { return "OR(" + join(n) + ")" }
func (n notNode) String() string { return "NOT(" + n.x.String() + ")" }
func (r *restriction) String() string {
	v := fmt.Sprintf("%q", r.value.Text)
	if !r.value.Quoted {
		v = r.value.Text
	}
	return r.path + " " + string(r.op) + " " + v
}

func join(nodes []node) string {
	s := make([]string, len(nodes))
	for i, n := range nodes {
		s[i] = n.String()
	}
	return strings.Join(s, ", ")
}

// parser is a recursive-descent parser over the AIP-160 grammar:
//
//	expression  = sequence { "AND" sequence }
//	sequence    = factor { factor }               (implicit AND)
//	factor      = term { "OR" term }
//	term        = [ "NOT" | "-" ] simple
//	simple      = restriction | "(" expression ")"
//	restriction = path comparator value
type parser struct {
	input string
	toks  []token
	i     int
	depth int
}

// parse parses a non-empty filter.
func parse(input string) (node, error) {
	toks, err := lex(input)
	if err != nil {
		return nil, err
	}
	p := &parser{input: input, toks: toks}
	n, err := p.expression()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t, "AND, OR or another restriction")
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return invalid("filter", p.input, t.pos, format, args...)
}

func (p *parser) unexpected(t token, want string) error {
	return p.errorf(t, "expected %s, found %s", want, t.describe(p.input))
}

func (p *parser) expression() (node, error) {
	return p.list(tokAnd, p.sequence, func(ns []node) node { return andNode(flatten[andNode](ns)) })
}

func (p *parser) sequence() (node, error) {
	first, err := p.factor()
	if err != nil {
		return nil, err
	}
	terms := []node{first}
	for startsTerm(p.peek().kind) {
		n, err := p.factor()
		if err != nil {
			return nil, err
		}
		terms = append(terms, n)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return andNode(flatten[andNode](terms)), nil
}

func startsTerm(k tokenKind) bool {
	return k == tokText || k == tokString || k == tokNot || k == tokMinus || k == tokLParen
}

func (p *parser) factor() (node, error) {
	return p.list(tokOr, p.term, func(ns []node) node { return orNode(flatten[orNode](ns)) })
}

// list parses item { sep item } and combines two or more items with build.
func (p *parser) list(sep tokenKind, item func() (node, error), build func([]node) node) (node, error) {
	first, err := item()
	if err != nil {
		return nil, err
	}
	items := []node{first}
	for p.peek().kind == sep {
		p.next()
		n, err := item()
		if err != nil {
			return nil, err
		}
		items = append(items, n)
	}
	if len(items) == 1 {
		return first, nil
	}
	return build(items), nil
}

// flatten merges children of the same kind as their parent, so
// `(a AND b) AND c` compiles to one flat AND.
func flatten[T andNode | orNode](nodes []node) []node {
	var out []node
	for _, n := range nodes {
		if same, ok := n.(T); ok {
			out = append(out, same...)
		} else {
			out = append(out, n)
		}
	}
	return out
}

func (p *parser) term() (node, error) {
	if k := p.peek().kind; k == tokNot || k == tokMinus {
		p.next()
		n, err := p.simple()
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	}
	return p.simple()
}

func (p *parser) simple() (node, error) {
	t := p.peek()
	if t.kind != tokLParen {
		return p.restriction()
	}
	p.next()
	if p.depth++; p.depth > MaxDepth {
		return nil, p.errorf(t, "parentheses nest deeper than %d levels", MaxDepth)
	}
	n, err := p.expression()
	if err != nil {
		return nil, err
	}
	p.depth--
	if c := p.next(); c.kind != tokRParen {
		return nil, p.unexpected(c, fmt.Sprintf(`")" to close the "(" at position %d`, charPos(p.input, t.pos)))
	}
	return n, nil
}

func (p *parser) restriction() (node, error) {
	f := p.next()
	if f.kind != tokText {
		return nil, p.unexpected(f, "a field name")
	}
	for _, seg := range strings.Split(f.text, ".") {
		if seg == "" {
			return nil, p.errorf(f, "field name %q has an empty part between dots", f.text)
		}
	}
	c := p.next()
	switch {
	case c.kind == tokLParen && !c.spaced:
		return nil, p.errorf(f, "functions such as %s(...) are not supported", f.text)
	case c.kind != tokComparator:
		return nil, p.errorf(c, "expected a comparator (=, !=, <, <=, >, >= or :) after %q, found %s; "+
			`restrictions look like field = value or field:"text"`, f.text, c.describe(p.input))
	}
	r := &restriction{path: f.text, op: Op(c.text), pos: f.pos}
	v := p.next()
	r.valuePos = v.pos
	switch v.kind {
	case tokString:
		r.value = Value{Text: v.text, Quoted: true}
	case tokText:
		r.value = Value{Text: v.text, Wildcard: v.text == "*" && r.op == Has}
	case tokMinus:
		// `-30` is a negative number: the minus touches what follows.
		n := p.next()
		if n.kind != tokText || n.spaced {
			return nil, p.unexpected(n, `a value right after "-"`)
		}
		r.value = Value{Text: "-" + n.text}
	case tokLParen:
		return nil, p.errorf(v, "lists of values are not supported; write %s %s x OR %s %s y", f.text, c.text, f.text, c.text)
	case tokAnd, tokOr, tokNot:
		return nil, p.errorf(v, "expected a value after %q, found %s; quote it to use it as a value", c.text, v.describe(p.input))
	default:
		return nil, p.errorf(v, "expected a value after %q, found %s", c.text, v.describe(p.input))
	}
	if n := p.peek(); n.kind == tokComparator && !n.spaced && !r.value.Quoted {
		return nil, p.errorf(n, "unexpected %q after the value %q; quote values that contain it, such as timestamps", n.text, r.value.Text)
	}
	return r, nil
}
