package policy

import (
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	litTok   tokKind = iota // text matched as is
	starTok                 // * : any run of characters, empty included
	questTok                // ? : exactly one character
	varTok                  // ${key}: the request's value for key, matched as literal text
)

type token struct {
	kind tokKind
	text string // the literal text, or the variable's key
}

// pattern is one policy string compiled once at Parse, so evaluation does
// no parsing. Variables stay symbolic because their values come from each
// request; a value is always matched literally, so a user name holding "*"
// could never widen a grant.
type pattern struct {
	raw  string
	toks []token
}

// compilePattern splits raw into tokens. wildcards enables * and ?; vars
// enables ${...}, where ${*}, ${?} and ${$} stand for the literal
// characters (the only way to write them where they would be wildcards).
// An unterminated "${" is literal text, as AWS treats it.
func compilePattern(raw string, wildcards, vars bool) pattern {
	var toks []token
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			toks = append(toks, token{kind: litTok, text: string(lit)})
			lit = lit[:0]
		}
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case wildcards && c == '*':
			flush()
			if n := len(toks); n == 0 || toks[n-1].kind != starTok {
				toks = append(toks, token{kind: starTok})
			}
		case wildcards && c == '?':
			flush()
			toks = append(toks, token{kind: questTok})
		case vars && c == '$' && i+1 < len(raw) && raw[i+1] == '{':
			end := strings.IndexByte(raw[i+2:], '}')
			if end < 0 {
				lit = append(lit, c)
				continue
			}
			inner := raw[i+2 : i+2+end]
			switch inner {
			case "*", "?", "$":
				lit = append(lit, inner...)
			default:
				flush()
				toks = append(toks, token{kind: varTok, text: inner})
			}
			i += 2 + end
		default:
			lit = append(lit, c)
		}
	}
	flush()
	return pattern{raw: raw, toks: toks}
}

// fixed reports whether the pattern matches exactly one string whatever the
// request: no wildcard and no variable.
func (p *pattern) fixed() bool {
	for _, t := range p.toks {
		if t.kind != litTok {
			return false
		}
	}
	return true
}

// match reports whether s matches the pattern. fold compares ASCII letters
// case-insensitively (action names). A variable with no single value in the
// request matches nothing.
//
// The algorithm keeps only the last star and, on a mismatch, lets that star
// swallow one more character: cost is at most len(s) times the pattern's
// length, never exponential.
func (p *pattern) match(s string, fold bool, r *Request) bool {
	toks := p.toks
	switch {
	case len(toks) == 0:
		return s == ""
	case len(toks) == 1 && toks[0].kind == litTok:
		if fold {
			return len(s) == len(toks[0].text) && hasPrefixFold(s, toks[0].text)
		}
		return s == toks[0].text
	case len(toks) == 1 && toks[0].kind == starTok:
		return true
	}
	pi, si := 0, 0
	starPi, starSi := -1, 0
	for {
		if pi < len(toks) {
			t := toks[pi]
			switch t.kind {
			case starTok:
				if pi == len(toks)-1 {
					return true
				}
				starPi, starSi = pi, si
				pi++
				continue
			case questTok:
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					pi++
					continue
				}
			default:
				text := t.text
				if t.kind == varTok {
					v, ok := variable(r, text)
					if !ok {
						return false
					}
					text = v
				}
				if fold && hasPrefixFold(s[si:], text) || !fold && strings.HasPrefix(s[si:], text) {
					si += len(text)
					pi++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starPi < 0 || starSi >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starSi:])
		starSi += n
		pi, si = starPi+1, starSi
	}
}

// expand returns the pattern's text with variables replaced, for operators
// that compare whole strings; ok is false when a variable has no value.
func (p *pattern) expand(r *Request) (string, bool) {
	if len(p.toks) == 1 && p.toks[0].kind == litTok {
		return p.toks[0].text, true
	}
	var b strings.Builder
	for _, t := range p.toks {
		switch t.kind {
		case litTok:
			b.WriteString(t.text)
		case varTok:
			v, ok := variable(r, t.text)
			if !ok {
				return "", false
			}
			b.WriteString(v)
		case starTok:
			b.WriteByte('*')
		case questTok:
			b.WriteByte('?')
		}
	}
	return b.String(), true
}

func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		a, b := s[i], prefix[i]
		if a != b && lowerASCII(a) != lowerASCII(b) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
