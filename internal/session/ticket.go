package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// A ticket lets a client that cannot send headers (an EventSource, a
// download link) authenticate one request: a logged-in client asks for a
// ticket for a resource, then presents its id in the URL. Tickets are
// one-time, short-lived and bound to one resource, so an id that leaks
// through a log or the browser history is worth nothing.

// ticketIDBytes is the entropy of a ticket id; its base64url form has
// ticketIDLen characters.
const (
	ticketIDBytes = 32
	ticketIDLen   = 43
)

// Ticket is a one-time credential for one resource.
type Ticket struct {
	ID string // 43 base64url characters; secret
	Subject
	Resource  string
	ExpiresAt time.Time
}

// ticketData is a ticket record's data.
type ticketData struct {
	User      string `json:"user"`
	Root      bool   `json:"root,omitempty"`
	AccessKey string `json:"ak,omitempty"`
	Resource  string `json:"resource"`
	// Expires is checked by RedeemTicket with the Manager's clock, in case
	// the store's clock runs behind it.
	Expires time.Time `json:"expires"`
}

// NewTicket issues a ticket for s on resource (non-empty), valid for the
// Manager's TicketTTL.
func (m *Manager) NewTicket(ctx context.Context, s Subject, resource string) (Ticket, error) {
	if resource == "" {
		return Ticket{}, errors.New("issuing ticket: empty resource")
	}
	id, err := m.randomID(ticketIDBytes)
	if err != nil {
		return Ticket{}, fmt.Errorf("issuing ticket: %w", err)
	}
	t := Ticket{ID: id, Subject: s, Resource: resource, ExpiresAt: m.now().Add(m.ticketTTL).UTC()}
	data, err := json.Marshal(ticketData{User: s.User, Root: s.Root, AccessKey: s.AccessKey, Resource: resource, Expires: t.ExpiresAt})
	if err != nil {
		return Ticket{}, fmt.Errorf("issuing ticket: %w", err)
	}
	// RevNew: a colliding id (never, with 256 bits) must not replace a
	// ticket someone else holds.
	if _, err := m.store.PutRecord(ctx, meta.Record{Kind: KindTicket, ID: id, Data: data, Rev: meta.RevNew, Expires: t.ExpiresAt}); err != nil {
		return Ticket{}, fmt.Errorf("issuing ticket: %w", err)
	}
	return t, nil
}

// RedeemTicket consumes ticket id for resource and returns whom it was
// issued to. Of concurrent redeemers, on any instances, exactly one
// succeeds: the record is deleted by the revision read, in one atomic step.
//
// A ticket presented for another resource is refused and NOT consumed:
// whoever holds the id could redeem it for its own resource anyway, so
// burning it would only let a confused or hostile page cancel the
// legitimate client's request. Unknown, used and expired tickets, and
// other resources, all return ErrTicketInvalid alike.
func (m *Manager) RedeemTicket(ctx context.Context, id, resource string) (Subject, error) {
	invalid := func(why string) (Subject, error) {
		return Subject{}, fmt.Errorf("redeeming ticket: %s: %w", why, ErrTicketInvalid)
	}
	if !validTicketID(id) {
		return invalid("malformed id")
	}
	rec, err := m.store.GetRecord(ctx, KindTicket, id)
	if errors.Is(err, meta.ErrRecordNotFound) {
		return invalid("unknown or used")
	}
	if err != nil {
		return Subject{}, fmt.Errorf("redeeming ticket: %w", err)
	}
	var td ticketData
	if err := json.Unmarshal(rec.Data, &td); err != nil || td.Resource == "" || td.Expires.IsZero() {
		return invalid("unreadable record")
	}
	if td.Resource != resource {
		return invalid("another resource")
	}
	expired := !m.now().Before(td.Expires)
	// Consume before answering, even when expired: an expired ticket is
	// removed rather than left for the purge, and the outcome of the
	// delete decides the race between redeemers.
	err = m.store.DeleteRecord(ctx, KindTicket, id, rec.Rev)
	switch {
	case errors.Is(err, meta.ErrRecordNotFound), errors.Is(err, meta.ErrConflict):
		return invalid("used concurrently")
	case err != nil:
		return Subject{}, fmt.Errorf("redeeming ticket: %w", err)
	case expired:
		return invalid("expired")
	}
	return Subject{User: td.User, Root: td.Root, AccessKey: td.AccessKey}, nil
}

// validTicketID rejects what NewTicket cannot have made before it reaches
// the store.
func validTicketID(id string) bool {
	if len(id) != ticketIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
