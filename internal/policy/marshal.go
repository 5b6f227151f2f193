package policy

import (
	"bytes"
	"encoding/json"
)

// The canonical form: Statement, Action, Resource, principal lists and
// condition values are always arrays; condition values are strings; empty
// optional elements are left out. Go's encoder sorts the Condition maps.
type jsonPolicy struct {
	Version   string          `json:"Version,omitempty"`
	ID        string          `json:"Id,omitempty"`
	Statement []jsonStatement `json:"Statement"`
}

type jsonStatement struct {
	Sid          string                         `json:"Sid,omitempty"`
	Effect       string                         `json:"Effect"`
	Principal    any                            `json:"Principal,omitempty"`
	NotPrincipal any                            `json:"NotPrincipal,omitempty"`
	Action       []string                       `json:"Action,omitempty"`
	NotAction    []string                       `json:"NotAction,omitempty"`
	Resource     []string                       `json:"Resource,omitempty"`
	NotResource  []string                       `json:"NotResource,omitempty"`
	Condition    map[string]map[string][]string `json:"Condition,omitempty"`
}

type jsonPrincipal struct {
	AWS           []string `json:"AWS,omitempty"`
	CanonicalUser []string `json:"CanonicalUser,omitempty"`
}

// MarshalJSON renders the policy in canonical form, which Parse reads back
// to an equal policy. Coffer stores policies in this form, so that what is
// kept is exactly what was validated.
func (p *Policy) MarshalJSON() ([]byte, error) {
	out := jsonPolicy{Version: p.version, ID: p.id, Statement: make([]jsonStatement, len(p.statements))}
	for i := range p.statements {
		s := &p.statements[i]
		js := jsonStatement{Sid: s.sid, Effect: s.effect.String()}
		if s.principal != nil {
			var pr any = "*"
			if !s.principal.wildcard {
				pr = jsonPrincipal{AWS: s.principal.aws, CanonicalUser: s.principal.canonical}
			}
			if s.notPrincipal {
				js.NotPrincipal = pr
			} else {
				js.Principal = pr
			}
		}
		if s.notAction {
			js.NotAction = raws(s.actions)
		} else {
			js.Action = raws(s.actions)
		}
		if s.notResource {
			js.NotResource = raws(s.resources)
		} else {
			js.Resource = raws(s.resources)
		}
		if len(s.conditions) > 0 {
			js.Condition = map[string]map[string][]string{}
			for _, c := range s.conditions {
				if js.Condition[c.operator] == nil {
					js.Condition[c.operator] = map[string][]string{}
				}
				js.Condition[c.operator][c.key] = c.values
			}
		}
		out.Statement[i] = js
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func raws(pats []pattern) []string {
	out := make([]string, len(pats))
	for i := range pats {
		out[i] = pats[i].raw
	}
	return out
}
