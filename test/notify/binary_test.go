package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/cofferstore/coffer/internal/notify"
	"github.com/cofferstore/coffer/test/coffertest"
)

// hookSink is a webhook receiver on a fixed loopback address that checks
// each request's signature and counts deliveries per event id.
type hookSink struct {
	mu     sync.Mutex
	byID   map[string]int
	names  []string // event name and key of each first delivery, in order
	badSig int
	srv    *http.Server
}

func newHookSink() *hookSink { return &hookSink{byID: map[string]int{}} }

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !notify.VerifySignature([]byte(secret), body, r.Header.Get(notify.SignatureHeader)) {
		h.badSig++
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	id := r.Header.Get(notify.EventIDHeader)
	h.byID[id]++
	if h.byID[id] == 1 {
		var msg struct {
			Records []record `json:"Records"`
			Event   string   `json:"Event"`
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			h.names = append(h.names, "undecodable: "+err.Error())
		} else if len(msg.Records) == 1 {
			h.names = append(h.names, msg.Records[0].EventName+" "+msg.Records[0].S3.Object.Key)
		} else {
			h.names = append(h.names, msg.Event)
		}
	}
	w.WriteHeader(http.StatusOK)
}

// serve starts the sink on addr (which must be free).
func (h *hookSink) serve(t *testing.T, addr string) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("webhook sink on %s: %v", addr, err)
	}
	h.srv = &http.Server{Handler: h}
	go h.srv.Serve(l)
	t.Cleanup(func() { h.srv.Close() })
}

func (h *hookSink) snapshot() (names []string, dups int, bad int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.byID {
		if n > 1 {
			dups += n - 1
		}
	}
	return slices.Clone(h.names), dups, h.badSig
}

func writeTargets(t *testing.T, dir string, targets ...map[string]any) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{"targets": targets})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "targets.json")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func s3Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{Region: coffertest.Region, BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(coffertest.AccessKey, coffertest.SecretKey, "")})
}

func putNotification(t *testing.T, ctx context.Context, c *s3.Client, bucket string, cfg *types.NotificationConfiguration) {
	t.Helper()
	if _, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(bucket), NotificationConfiguration: cfg}); err != nil {
		t.Fatalf("PutBucketNotificationConfiguration: %v", err)
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBinaryDeliversToBrokers: the built server, configured with a
// webhook, a NATS subject and a Redis list, delivers S3 events for the
// bucket's configuration to each, consumed back from the real services.
func TestBinaryDeliversToBrokers(t *testing.T) {
	requireService(t, "NATS", "127.0.0.1:4222")
	requireService(t, "Redis", "127.0.0.1:6379")
	bin := coffertest.Build(t)
	hookAddr, err := coffertest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	hook := newHookSink()
	hook.serve(t, hookAddr)
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	subject, listKey := "coffer.test."+run, "coffer:test:"+run
	dir := t.TempDir()
	targetsFile := writeTargets(t, dir,
		map[string]any{"id": "hooks", "type": "webhook", "url": "http://" + hookAddr + "/s3", "secret": secret, "timeout": "2s"},
		map[string]any{"id": "bus", "type": "nats", "url": "nats://127.0.0.1:4222", "subject": subject},
		map[string]any{"id": "cache", "type": "redis", "url": "redis://127.0.0.1:6379/0", "mode": "list", "key": listKey})
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	natsMsgs := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe(subject, natsMsgs)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	defer rdb.Del(context.Background(), listKey)

	srv := coffertest.Start(t, bin, coffertest.Options{Env: []string{"COFFER_NOTIFY_TARGETS=" + targetsFile}})
	c := s3Client(srv.Endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("events")}); err != nil {
		t.Fatal(err)
	}
	arn := func(id, typ string) *string { return aws.String(notify.ARN(coffertest.Region, id, typ)) }
	prefix := func(p string) *types.NotificationConfigurationFilter {
		return &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{FilterRules: []types.FilterRule{{Name: types.FilterRuleNamePrefix, Value: aws.String(p)}}}}
	}
	putNotification(t, ctx, c, "events", &types.NotificationConfiguration{
		QueueConfigurations: []types.QueueConfiguration{
			{Id: aws.String("all-to-hook"), QueueArn: arn("hooks", "webhook"), Events: []types.Event{"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}},
			{Id: aws.String("images-to-bus"), QueueArn: arn("bus", "nats"), Events: []types.Event{"s3:ObjectCreated:Put"}, Filter: prefix("images/")},
			{Id: aws.String("deletes-to-cache"), QueueArn: arn("cache", "redis"), Events: []types.Event{"s3:ObjectRemoved:Delete"}},
		}})
	// A configuration naming an unknown target is refused.
	_, err = c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("events"),
		NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{
			{QueueArn: arn("nobody", "webhook"), Events: []types.Event{"s3:ObjectCreated:*"}}}}})
	if err == nil || !strings.Contains(err.Error(), "InvalidArgument") {
		t.Errorf("configuration naming an unknown target: err = %v, want InvalidArgument", err)
	}
	got, err := c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("events")})
	if err != nil || len(got.QueueConfigurations) != 3 {
		t.Fatalf("GetBucketNotificationConfiguration = %+v, %v", got, err)
	}

	for _, k := range []string{"images/a.png", "docs/b.txt"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("events"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("events"), Key: aws.String("docs/b.txt")}); err != nil {
		t.Fatal(err)
	}

	// Webhook: the test event from saving the configuration, two puts, a delete.
	want := []string{"s3:TestEvent", "ObjectCreated:Put images/a.png", "ObjectCreated:Put docs/b.txt", "ObjectRemoved:Delete docs/b.txt"}
	waitFor(t, "webhook deliveries", 30*time.Second, func() bool { n, _, _ := hook.snapshot(); return len(n) >= len(want) })
	names, dups, bad := hook.snapshot()
	if !slices.Equal(names, want) || dups != 0 || bad != 0 {
		t.Errorf("webhook got %q (dups %d, bad signatures %d), want %q", names, dups, bad, want)
	}
	// NATS: the test event, then only the put under images/.
	var natsGot []string
	timeout := time.After(30 * time.Second)
	for len(natsGot) < 2 {
		select {
		case m := <-natsMsgs:
			natsGot = append(natsGot, eventLine(t, m.Data))
		case <-timeout:
			t.Fatalf("NATS got %q, want 2 messages", natsGot)
		}
	}
	if want := []string{"s3:TestEvent", "ObjectCreated:Put images/a.png"}; !slices.Equal(natsGot, want) {
		t.Errorf("NATS got %q, want %q", natsGot, want)
	}
	// Redis: the test event, then the delete.
	var redisGot []string
	for len(redisGot) < 2 {
		res, err := rdb.BLPop(ctx, 30*time.Second, listKey).Result()
		if err != nil {
			t.Fatalf("BLPOP after %q: %v", redisGot, err)
		}
		redisGot = append(redisGot, eventLine(t, []byte(res[1])))
	}
	if want := []string{"s3:TestEvent", "ObjectRemoved:Delete docs/b.txt"}; !slices.Equal(redisGot, want) {
		t.Errorf("Redis got %q, want %q", redisGot, want)
	}
}

// eventLine renders a message as "EventName key", or the test event's name.
func eventLine(t *testing.T, data []byte) string {
	t.Helper()
	var msg struct {
		Records []record `json:"Records"`
		Event   string   `json:"Event"`
	}
	if err := json.Unmarshal(data, &msg); err != nil {
		t.Fatalf("undecodable event %q: %v", data, err)
	}
	if len(msg.Records) == 1 {
		return msg.Records[0].EventName + " " + msg.Records[0].S3.Object.Key
	}
	return msg.Event
}

// TestBinaryOutageAndRestart: events produced while the target is down
// survive a SIGKILL of the server and are all delivered, once each, when
// the target is back.
func TestBinaryOutageAndRestart(t *testing.T) {
	bin := coffertest.Build(t)
	hookAddr, err := coffertest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	targetsFile := writeTargets(t, dir,
		map[string]any{"id": "hooks", "type": "webhook", "url": "http://" + hookAddr + "/s3", "secret": secret, "timeout": "1s"})
	data := filepath.Join(dir, "data")
	// A short lease: the killed server's delivery lease must expire before
	// the restarted one may deliver.
	opts := coffertest.Options{DataDir: data, Env: []string{"COFFER_NOTIFY_TARGETS=" + targetsFile, "COFFER_LEASE_TTL=2s"}}
	srv := coffertest.Start(t, bin, opts)
	c := s3Client(srv.Endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("outage")}); err != nil {
		t.Fatal(err)
	}
	putNotification(t, ctx, c, "outage", &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{
		{Id: aws.String("hook"), QueueArn: aws.String(notify.ARN(coffertest.Region, "hooks", "webhook")), Events: []types.Event{"s3:ObjectCreated:*"}}}})
	const n = 20
	for i := range n {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("outage"), Key: aws.String(fmt.Sprintf("k%02d", i)), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	// The webhook has been down all along; the health report says so.
	waitFor(t, "the health report to show the failing target", 30*time.Second, func() bool {
		st, err := notificationStats(ctx, srv.Console)
		return err == nil && len(st) == 1 && st[0].State == notify.StateFailing && st[0].Pending == n+1
	})
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	hook := newHookSink()
	hook.serve(t, hookAddr)
	coffertest.Start(t, bin, opts)
	waitFor(t, "every event after the restart", 60*time.Second, func() bool { names, _, _ := hook.snapshot(); return len(names) >= n+1 })
	time.Sleep(500 * time.Millisecond) // let any duplicate arrive
	names, dups, bad := hook.snapshot()
	if dups != 0 || bad != 0 || len(names) != n+1 {
		t.Fatalf("after the restart: %d distinct events (want %d), %d duplicates, %d bad signatures: %q", len(names), n+1, dups, bad, names)
	}
	if names[0] != "s3:TestEvent" {
		t.Errorf("first event %q, want the test event", names[0])
	}
	for i := range n {
		if want := fmt.Sprintf("ObjectCreated:Put k%02d", i); names[i+1] != want {
			t.Errorf("event %d = %q, want %q (commit order)", i+1, names[i+1], want)
		}
	}
}

// notificationStats reads the notifications part of /api/health.
func notificationStats(ctx context.Context, console string) ([]notify.TargetStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, console+"/api/health", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var h struct {
		Notifications []notify.TargetStats `json:"notifications"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return nil, err
	}
	return h.Notifications, nil
}

// requireService fails the test under CI=true, and skips it otherwise,
// when a service it needs does not answer on addr.
func requireService(t *testing.T, name, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not reachable on %s (%v); CI needs it", name, addr, err)
	}
	t.Skipf("%s is not reachable on %s (%v)", name, addr, err)
}
