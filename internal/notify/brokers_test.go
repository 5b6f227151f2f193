package notify

// Each test here delivers through a target to the real broker running on
// loopback and consumes the message back from that broker.

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/cofferstore/coffer/internal/meta"
)

const (
	natsURL     = "nats://127.0.0.1:4222"
	amqpURL     = "amqp://guest:guest@127.0.0.1:5672/"
	mqttURL     = "tcp://127.0.0.1:1883"
	redisURL    = "redis://127.0.0.1:6379/0"
	postgresURL = "postgres://postgres@127.0.0.1:5432/test"
)

func openTarget(t *testing.T, tc TargetConfig) Target {
	t.Helper()
	tg, err := OpenTarget(tc, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tg.Close() })
	return tg
}

// sendSample encodes ev and sends it, returning the payload.
func sendSample(t *testing.T, tg Target, ev meta.Event) []byte {
	t.Helper()
	payload, err := Encoder{}.Encode(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tg.Send(ctx, payload, ev); err != nil {
		t.Fatalf("Send: %v", err)
	}
	return payload
}

func TestNATS(t *testing.T) {
	needService(t, "127.0.0.1:4222", "NATS")
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	subject := uniqueName("coffer.test")
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	tg := openTarget(t, TargetConfig{ID: "bus", Type: TypeNATS, URL: natsURL, Subject: subject})
	payload := sendSample(t, tg, sampleEvent())
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(msg.Data, payload) {
		t.Fatalf("got %s, want %s", msg.Data, payload)
	}
	sendDown(t, TargetConfig{ID: "bus", Type: TypeNATS, URL: "nats://" + closedAddr(t), Subject: subject})
}

func TestNATSJetStream(t *testing.T) {
	needService(t, "127.0.0.1:4222", "NATS")
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := uniqueName("COFFER_TEST")
	subject := strings.ReplaceAll(name, "_", ".")
	tc := TargetConfig{ID: "bus", Type: TypeNATS, URL: natsURL, Subject: subject, JetStream: true, Timeout: "2s"}

	// No stream captures the subject yet: the publish has no ack.
	tg := openTarget(t, tc)
	ev := sampleEvent()
	payload, _ := Encoder{}.Encode(ctx, ev)
	if err := tg.Send(ctx, payload, ev); err == nil {
		t.Fatal("JetStream publish without a stream succeeded")
	}

	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject}, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = js.DeleteStream(context.Background(), name) }()
	first := sendSample(t, tg, ev)
	sendSample(t, tg, ev) // a redelivery: the stream drops it by message id
	ev2 := ev
	ev2.Seq++
	second := sendSample(t, tg, ev2)

	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("stream holds %d messages, want 2 (the duplicate dropped)", info.State.Msgs)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for m := range batch.Messages() {
		got = append(got, m.Data())
		if m.Headers().Get(jetstream.MsgIDHeader) == "" {
			t.Error("message without Nats-Msg-Id")
		}
	}
	if len(got) != 2 || !bytes.Equal(got[0], first) || !bytes.Equal(got[1], second) {
		t.Fatalf("consumed %q", got)
	}
}

func TestAMQP(t *testing.T) {
	needService(t, "127.0.0.1:5672", "RabbitMQ")
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	exchange, queueName := uniqueName("coffer.test.x"), uniqueName("coffer.test.q")
	if err := ch.ExchangeDeclare(exchange, "direct", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = ch.QueueDelete(queueName, false, false, false)
		_ = ch.ExchangeDelete(exchange, false, false)
	}()
	if _, err := ch.QueueDeclare(queueName, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(queueName, "s3.events", exchange, false, nil); err != nil {
		t.Fatal(err)
	}

	tg := openTarget(t, TargetConfig{ID: "rabbit", Type: TypeAMQP, URL: amqpURL, Exchange: exchange, ExchangeType: "direct", RoutingKey: "s3.events"})
	payload := sendSample(t, tg, sampleEvent())
	// Send returned after the confirm, so the message is in the queue now.
	msg, ok, err := ch.Get(queueName, true)
	if err != nil || !ok {
		t.Fatalf("queue empty after a confirmed Send (%v)", err)
	}
	if !bytes.Equal(msg.Body, payload) {
		t.Fatalf("got %s, want %s", msg.Body, payload)
	}
	if msg.DeliveryMode != amqp.Persistent || msg.ContentType != "application/json" || msg.MessageId == "" || msg.Type != "s3:ObjectCreated:Put" {
		t.Fatalf("message properties: mode %d type %q id %q content %q", msg.DeliveryMode, msg.Type, msg.MessageId, msg.ContentType)
	}

	// A routing key no queue is bound to: the broker would confirm and drop
	// the message, so it must be a failure.
	lost := openTarget(t, TargetConfig{ID: "lost", Type: TypeAMQP, URL: amqpURL, Exchange: exchange, RoutingKey: "nobody"})
	ev := sampleEvent()
	if err := lost.Send(context.Background(), payload, ev); err == nil || !strings.Contains(err.Error(), "unroutable") {
		t.Fatalf("unroutable message: %v", err)
	}

	// An exchange that does not exist closes the channel; the target
	// reports it and recovers on the next Send.
	missing := openTarget(t, TargetConfig{ID: "missing", Type: TypeAMQP, URL: amqpURL, Exchange: exchange + ".missing", RoutingKey: "s3.events"})
	if err := missing.Send(context.Background(), payload, ev); err == nil {
		t.Fatal("publishing to a missing exchange succeeded")
	}
	if err := missing.Send(context.Background(), payload, ev); err == nil {
		t.Fatal("publishing to a missing exchange succeeded the second time")
	}
	// The same target keeps working after failures on its channel.
	if err := lost.Send(context.Background(), payload, ev); err == nil {
		t.Fatal("unroutable succeeded")
	}
	if err := tg.Send(context.Background(), payload, ev); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := ch.Get(queueName, true); err != nil || !ok {
		t.Fatalf("second message missing (%v)", err)
	}
	sendDown(t, TargetConfig{ID: "rabbit", Type: TypeAMQP, URL: "amqp://guest:guest@" + closedAddr(t) + "/", RoutingKey: "k"})
}

func TestMQTT(t *testing.T) {
	needService(t, "127.0.0.1:1883", "Mosquitto")
	topic := "coffer/test/" + uniqueName("events")
	got := make(chan []byte, 4)
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mqttURL).SetClientID(uniqueName("coffer-test-sub")))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	if tok := sub.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) { got <- m.Payload() }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	for _, qos := range []int{0, 2} { // 0 means the default, 1
		tg := openTarget(t, TargetConfig{ID: "iot", Type: TypeMQTT, URL: mqttURL, Topic: topic, QoS: qos})
		payload := sendSample(t, tg, sampleEvent())
		select {
		case p := <-got:
			if !bytes.Equal(p, payload) {
				t.Fatalf("got %s, want %s", p, payload)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("qos %d: nothing received", qos)
		}
	}
	sendDown(t, TargetConfig{ID: "iot", Type: TypeMQTT, URL: "tcp://" + closedAddr(t), Topic: topic})
}

func TestRedis(t *testing.T) {
	needService(t, "127.0.0.1:6379", "Redis")
	opts, _ := redis.ParseURL(redisURL)
	rc := redis.NewClient(opts)
	defer func() { _ = rc.Close() }()
	ctx := context.Background()

	key := uniqueName("coffer:test:list")
	defer rc.Del(ctx, key)
	list := openTarget(t, TargetConfig{ID: "cache", Type: TypeRedis, URL: redisURL, Mode: "list", Key: key})
	ev2 := sampleEvent()
	ev2.Seq++
	first := sendSample(t, list, sampleEvent())
	second := sendSample(t, list, ev2)
	for _, want := range [][]byte{first, second} {
		res, err := rc.BLPop(ctx, 5*time.Second, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if res[1] != string(want) {
			t.Fatalf("popped %s, want %s", res[1], want)
		}
	}

	channel := uniqueName("coffer:test:chan")
	ps := rc.Subscribe(ctx, channel)
	defer func() { _ = ps.Close() }()
	if _, err := ps.Receive(ctx); err != nil { // the subscription confirmation
		t.Fatal(err)
	}
	pub := openTarget(t, TargetConfig{ID: "cache", Type: TypeRedis, URL: redisURL, Mode: "pubsub", Key: channel})
	payload := sendSample(t, pub, sampleEvent())
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msg, err := ps.ReceiveMessage(rctx)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Payload != string(payload) {
		t.Fatalf("got %s, want %s", msg.Payload, payload)
	}
	sendDown(t, TargetConfig{ID: "cache", Type: TypeRedis, URL: "redis://" + closedAddr(t) + "/0", Mode: "list", Key: key})
}

func TestPostgres(t *testing.T) {
	needService(t, "127.0.0.1:5432", "PostgreSQL")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, postgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	table := strings.ToLower(uniqueName("coffer_test_events"))
	defer func() { _, _ = conn.Exec(ctx, "DROP TABLE IF EXISTS "+table) }()

	tg := openTarget(t, TargetConfig{ID: "audit", Type: TypePostgres, URL: postgresURL, Table: table})
	ev := sampleEvent()
	payload := sendSample(t, tg, ev)
	ev2 := ev
	ev2.Seq, ev2.Key, ev2.Name = ev.Seq+1, "odd\x00key", "s3:ObjectRemoved:Delete"
	sendSample(t, tg, ev2)

	rows, err := conn.Query(ctx, "SELECT event_time, event_name, bucket, key, payload, payload->'Records'->0->>'eventName' FROM "+table+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		when                        time.Time
		name, bucket, key, fromJSON string
		payload                     map[string]any
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.when, &r.name, &r.bucket, &r.key, &r.payload, &r.fromJSON); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d rows", len(got))
	}
	r := got[0]
	if !r.when.Equal(ev.Time.Truncate(time.Microsecond)) || r.name != ev.Name || r.bucket != "photos" || r.key != ev.Key || r.fromJSON != "ObjectCreated:Put" {
		t.Fatalf("row %+v", r)
	}
	var want map[string]any
	_ = json.Unmarshal(payload, &want)
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(r.payload)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("payload column %s, want %s", gotJSON, wantJSON)
	}
	if got[1].key != "odd\uFFFDkey" || got[1].fromJSON != "ObjectRemoved:Delete" {
		t.Fatalf("second row %+v", got[1])
	}
	sendDown(t, TargetConfig{ID: "audit", Type: TypePostgres, URL: "postgres://postgres@" + closedAddr(t) + "/test", Table: table})
}
