package notify

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferstore/coffer/internal/meta"
)

// postgresTarget inserts one row per event into a table it creates when
// missing. The INSERT commits on its own, so a nil Send means the row is
// durable.
type postgresTarget struct {
	arn     string
	url     string
	table   string // already quoted
	timeout time.Duration

	mu   sync.Mutex
	conn *pgx.Conn
}

func newPostgres(arn string, tc TargetConfig, timeout time.Duration) *postgresTarget {
	return &postgresTarget{arn: arn, url: tc.URL, table: pgx.Identifier{tc.Table}.Sanitize(), timeout: timeout}
}

func (p *postgresTarget) ARN() string { return p.arn }

func (p *postgresTarget) connect(ctx context.Context) (*pgx.Conn, error) {
	if p.conn != nil && !p.conn.IsClosed() {
		return p.conn, nil
	}
	p.drop()
	conn, err := pgx.Connect(ctx, p.url)
	if err != nil {
		return nil, fmt.Errorf("postgres: connecting: %w", err)
	}
	_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+p.table+` (
		id bigserial PRIMARY KEY,
		event_time timestamptz NOT NULL,
		event_name text NOT NULL,
		bucket text NOT NULL,
		key text NOT NULL,
		payload jsonb NOT NULL)`)
	if err != nil {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("postgres: creating table: %w", err)
	}
	p.conn = conn
	return conn, nil
}

func (p *postgresTarget) drop() {
	if p.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = p.conn.Close(ctx)
		p.conn = nil
	}
}

func (p *postgresTarget) Send(ctx context.Context, payload []byte, ev meta.Event) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	conn, err := p.connect(ctx)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `INSERT INTO `+p.table+` (event_time, event_name, bucket, key, payload) VALUES ($1, $2, $3, $4, $5)`,
		ev.Time, ev.Name, ev.Bucket, textSafe(ev.Key), string(payload))
	if err != nil {
		// A timeout or a broken connection leaves the connection unusable;
		// a constraint error does not, but reconnecting costs little.
		p.drop()
		return fmt.Errorf("postgres: inserting event: %w", err)
	}
	return nil
}

func (p *postgresTarget) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drop()
	return nil
}

// textSafe replaces NUL, which S3 keys may hold and PostgreSQL text may
// not; the payload keeps the exact key, URL-encoded.
func textSafe(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
}
