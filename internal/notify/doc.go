// Package notify implements S3 event notifications: the bucket
// notification configuration (the XML of Put/GetBucketNotificationConfiguration),
// the event messages in AWS's JSON format, the targets they are delivered
// to, and the Dispatcher that delivers the metadata store's outbox to them.
//
// The flow: a write path asks Config.Match which targets an event goes to
// and passes them to the store in a meta.Notice; the store records one
// outbox event per target in the same commit as the change; the writer
// calls Dispatcher.Notify; the Dispatcher reads each target's events,
// sends them and acknowledges them, retrying with backoff until the target
// accepts. Delivery is at least once.
//
// # Notification targets
//
// Targets are configured by the operator in a JSON file, never by S3
// clients; a bucket's notification configuration names them by ARN:
//
//	arn:coffer:sqs:<region>:<id>:<type>
//
// for instance arn:coffer:sqs:us-east-1:hooks:webhook. The file:
//
//	{
//	  "targets": [
//	    {"id": "hooks", "type": "webhook", "url": "https://hooks.example.com/s3",
//	     "secret": "s3cr3t", "timeout": "5s"},
//	    {"id": "bus", "type": "nats", "url": "nats://127.0.0.1:4222",
//	     "subject": "coffer.events", "jetstream": true},
//	    {"id": "rabbit", "type": "amqp", "url": "amqp://guest:guest@127.0.0.1:5672/",
//	     "exchange": "coffer", "exchangeType": "topic", "routingKey": "s3.events"},
//	    {"id": "iot", "type": "mqtt", "url": "tcp://127.0.0.1:1883",
//	     "topic": "coffer/events", "qos": 1},
//	    {"id": "cache", "type": "redis", "url": "redis://127.0.0.1:6379/0",
//	     "mode": "list", "key": "coffer:events"},
//	    {"id": "audit", "type": "postgres", "url": "postgres://coffer@127.0.0.1:5432/app",
//	     "table": "s3_events"}
//	  ]
//	}
//
// Fields of every target:
//   - id: 1-64 letters, digits, '-' or '_', unique in the file.
//   - type: webhook, nats, amqp, mqtt, redis or postgres.
//   - url: where the target is (its form is the type's own, see below).
//   - timeout: how long one delivery attempt may take, a Go duration
//     ("500ms", "5s"); default 10s.
//
// Unknown fields are refused, so that a misspelt setting is an error.
//
// Per type:
//   - webhook: url is http(s). Each event is a POST of the JSON message
//     with Content-Type application/json, X-Coffer-Event (the event name),
//     X-Coffer-Event-Id (stable across redeliveries, for deduplication)
//     and, when "secret" is set, X-Coffer-Signature: sha256=<hex
//     HMAC-SHA256 of the body keyed with the secret>. Any answer other than
//     2xx, redirects included, is a failure and is retried.
//   - nats: url is nats://host:port; "subject" is required; "username" and
//     "password" are optional. With "jetstream": true the publish waits for
//     the stream's acknowledgement and carries Nats-Msg-Id, so the stream
//     drops redelivered duplicates; a stream must capture the subject.
//     Without it, delivery ends at the NATS server: only subscribers
//     connected at that moment receive the event.
//   - amqp: url is amqp://user:password@host:port/vhost; "exchange" and
//     "routingKey" (at least one; the default exchange "" routes to the
//     queue named by the routing key). With "exchangeType" (direct, fanout,
//     topic, headers) the exchange is declared durable; without it, it must
//     exist. Messages are persistent and mandatory, sent on a
//     publisher-confirm channel: a delivery succeeds only when the broker
//     confirms it, and a message no queue takes is a failure.
//   - mqtt: url is tcp://host:port (or ssl://, ws://); "topic" is required;
//     "qos" is 1 (default) or 2; "username" and "password" are optional. A
//     delivery succeeds when the broker acknowledges the publish.
//   - redis: url is redis://[user:password@]host:port/db; "mode" is "list"
//     (RPUSH to "key": events wait in the list for a consumer) or "pubsub"
//     (PUBLISH on channel "key": only subscribers listening at that moment
//     receive the event).
//   - postgres: url is a PostgreSQL connection URL; "table" (a plain
//     identifier) is created when missing with columns id bigserial,
//     event_time timestamptz, event_name text, bucket text, key text and
//     payload jsonb (the message); one row per event.
//
// Secrets (passwords in URLs, webhook secrets) are never logged.
package notify
