package notify

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParseConfig checks that ParseConfig never panics, refuses only with
// its sentinels, and that an accepted configuration survives Marshal and
// ParseConfig unchanged.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`<NotificationConfiguration/>`))
	f.Add(doc(queue("a", arnHooks, filter("prefix", "images/", "suffix", ".jpg"), "s3:ObjectCreated:*")))
	f.Add(doc(queue("", arnHooks, "", "s3:ObjectRemoved:*"), queue("", arnHooks, "", "s3:ObjectCreated:Put")))
	f.Add(doc("<TopicConfiguration><Topic>t</Topic><Event>s3:ObjectTagging:Put</Event><Filter><S3Key/></Filter></TopicConfiguration>"))
	f.Add(doc("<CloudFunctionConfiguration><Id>&lt;x&gt;</Id><CloudFunction>f</CloudFunction><Event>s3:LifecycleExpiration:*</Event></CloudFunctionConfiguration>"))
	f.Add(doc("<EventBridgeConfiguration/>"))
	f.Add(doc(queue("a", arnHooks, filter("Prefix", "a", "prefix", "b"), "s3:ObjectCreated:Put")))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			if !errors.Is(err, ErrMalformedXML) && !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		out, err := cfg.Marshal()
		if err != nil {
			t.Fatalf("marshal of an accepted config: %v", err)
		}
		again, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("re-parsing %q: %v", out, err)
		}
		if !reflect.DeepEqual(again, cfg) {
			t.Fatalf("round trip changed\n%+v\ninto\n%+v", cfg, again)
		}
		for _, r := range cfg.Rules {
			for _, e := range r.Events {
				cfg.Match(e, r.Prefix+r.Suffix)
			}
		}
		_ = Validate(cfg, func(string) bool { return false })
	})
}
