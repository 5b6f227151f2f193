package lifecycle

import (
	"bytes"
	"crypto/rand"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The wire shapes hold every element that may appear once as a slice, so
// that a repeated element is seen (S3's schema refuses it and encoding/xml
// would silently keep the last), and catch unknown elements with ",any".

type xmlAny struct {
	XMLName xml.Name
}

type xmlConfig struct {
	XMLName xml.Name  `xml:"LifecycleConfiguration"`
	Rules   []xmlRule `xml:"Rule"`
	Other   []xmlAny  `xml:",any"`
}

type xmlRule struct {
	ID                             []string        `xml:"ID"`
	Status                         []string        `xml:"Status"`
	Prefix                         []string        `xml:"Prefix"`
	Filter                         []xmlFilter     `xml:"Filter"`
	Expiration                     []xmlExpiration `xml:"Expiration"`
	NoncurrentVersionExpiration    []xmlNoncurrent `xml:"NoncurrentVersionExpiration"`
	AbortIncompleteMultipartUpload []xmlAbort      `xml:"AbortIncompleteMultipartUpload"`
	Transition                     []xmlAny        `xml:"Transition"`
	NoncurrentVersionTransition    []xmlAny        `xml:"NoncurrentVersionTransition"`
	Other                          []xmlAny        `xml:",any"`
}

type xmlFilter struct {
	Prefix      []string `xml:"Prefix"`
	Tag         []xmlTag `xml:"Tag"`
	GreaterThan []string `xml:"ObjectSizeGreaterThan"`
	LessThan    []string `xml:"ObjectSizeLessThan"`
	And         []xmlAnd `xml:"And"`
	Other       []xmlAny `xml:",any"`
}

type xmlAnd struct {
	Prefix      []string `xml:"Prefix"`
	Tags        []xmlTag `xml:"Tag"`
	GreaterThan []string `xml:"ObjectSizeGreaterThan"`
	LessThan    []string `xml:"ObjectSizeLessThan"`
	Other       []xmlAny `xml:",any"`
}

type xmlTag struct {
	Key   []string `xml:"Key"`
	Value []string `xml:"Value"`
	Other []xmlAny `xml:",any"`
}

type xmlExpiration struct {
	Days   []string `xml:"Days"`
	Date   []string `xml:"Date"`
	Marker []string `xml:"ExpiredObjectDeleteMarker"`
	Other  []xmlAny `xml:",any"`
}

type xmlNoncurrent struct {
	NoncurrentDays []string `xml:"NoncurrentDays"`
	Newer          []string `xml:"NewerNoncurrentVersions"`
	Other          []xmlAny `xml:",any"`
}

type xmlAbort struct {
	Days  []string `xml:"DaysAfterInitiation"`
	Other []xmlAny `xml:",any"`
}

// Parse decodes and validates a LifecycleConfiguration document (the body
// of PutBucketLifecycleConfiguration; the S3 namespace is optional). Rules
// without an ID get a random one. Every error is an *Error; see the package
// documentation for the S3 codes.
func Parse(data []byte) (*Configuration, error) {
	if len(data) > MaxSize {
		return nil, malformed("the configuration is larger than " + strconv.Itoa(MaxSize) + " bytes")
	}
	var x xmlConfig
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&x); err != nil {
		return nil, malformed("the XML is not well-formed: " + err.Error())
	}
	if err := onlyMiscAfterRoot(dec); err != nil {
		return nil, err
	}
	c, err := fromXML(&x)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	assignIDs(c)
	return c, nil
}

// onlyMiscAfterRoot refuses a second root or text after the document, which
// xml.Decoder.Decode would leave unread.
func onlyMiscAfterRoot(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return malformed("the XML is not well-formed: " + err.Error())
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return malformed("text after the root element")
			}
		case xml.Comment, xml.ProcInst, xml.Directive:
		default:
			return malformed("content after the root element")
		}
	}
}

func fromXML(x *xmlConfig) (*Configuration, error) {
	if len(x.Other) > 0 {
		return nil, malformed("unknown element " + x.Other[0].XMLName.Local + " in LifecycleConfiguration")
	}
	if len(x.Rules) == 0 {
		return nil, malformed("a LifecycleConfiguration needs at least one Rule")
	}
	if len(x.Rules) > MaxRules {
		return nil, invalidArg("The number of lifecycle rules must not exceed the allowed limit of " + strconv.Itoa(MaxRules) + " rules")
	}
	c := &Configuration{Rules: make([]Rule, 0, len(x.Rules))}
	for i := range x.Rules {
		r, err := ruleFromXML(&x.Rules[i])
		if err != nil {
			return nil, err
		}
		c.Rules = append(c.Rules, r)
	}
	return c, nil
}

func ruleFromXML(x *xmlRule) (Rule, error) {
	var r Rule
	if len(x.Other) > 0 {
		return r, malformed("unknown element " + x.Other[0].XMLName.Local + " in Rule")
	}
	if err := atMostOnce("Rule", map[string]int{
		"ID": len(x.ID), "Status": len(x.Status), "Prefix": len(x.Prefix), "Filter": len(x.Filter),
		"Expiration": len(x.Expiration), "NoncurrentVersionExpiration": len(x.NoncurrentVersionExpiration),
		"AbortIncompleteMultipartUpload": len(x.AbortIncompleteMultipartUpload),
	}); err != nil {
		return r, err
	}
	if len(x.Status) == 0 {
		return r, malformed("a Rule needs a Status")
	}
	r.Status = x.Status[0]
	if len(x.ID) == 1 {
		r.ID = x.ID[0]
	}
	if len(x.Prefix) == 1 {
		p := x.Prefix[0]
		r.Prefix = &p
	}
	if len(x.Filter) == 1 {
		f, err := filterFromXML(&x.Filter[0])
		if err != nil {
			return r, err
		}
		r.Filter = f
	}
	if len(x.Expiration) == 1 {
		e, err := expirationFromXML(&x.Expiration[0])
		if err != nil {
			return r, err
		}
		r.Expiration = e
	}
	if len(x.NoncurrentVersionExpiration) == 1 {
		n := &x.NoncurrentVersionExpiration[0]
		if len(n.Other) > 0 {
			return r, malformed("unknown element " + n.Other[0].XMLName.Local + " in NoncurrentVersionExpiration")
		}
		if len(n.NoncurrentDays) != 1 || len(n.Newer) > 1 {
			return r, malformed("NoncurrentVersionExpiration needs one NoncurrentDays and at most one NewerNoncurrentVersions")
		}
		days, err := parseInt32(n.NoncurrentDays[0], "NoncurrentDays")
		if err != nil {
			return r, err
		}
		nve := &NoncurrentVersionExpiration{NoncurrentDays: days}
		if len(n.Newer) == 1 {
			if nve.NewerNoncurrentVersions, err = parseInt32(n.Newer[0], "NewerNoncurrentVersions"); err != nil {
				return r, err
			}
			if nve.NewerNoncurrentVersions == 0 {
				// 0 is our "unset"; S3 refuses an explicit 0.
				return r, invalidArg("'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer")
			}
		}
		r.NoncurrentVersionExpiration = nve
	}
	if len(x.AbortIncompleteMultipartUpload) == 1 {
		a := &x.AbortIncompleteMultipartUpload[0]
		if len(a.Other) > 0 {
			return r, malformed("unknown element " + a.Other[0].XMLName.Local + " in AbortIncompleteMultipartUpload")
		}
		if len(a.Days) != 1 {
			return r, malformed("AbortIncompleteMultipartUpload needs one DaysAfterInitiation")
		}
		days, err := parseInt32(a.Days[0], "DaysAfterInitiation")
		if err != nil {
			return r, err
		}
		if days == 0 {
			return r, invalidArg("'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
		}
		r.AbortIncompleteMultipartUpload = &AbortIncompleteMultipartUpload{DaysAfterInitiation: days}
	}
	if len(x.Transition) > 0 || len(x.NoncurrentVersionTransition) > 0 {
		// Checked after the rest so that a malformed rule is reported as
		// such first, as S3's schema validation would.
		return r, notImplemented("Coffer has a single storage class: Transition and NoncurrentVersionTransition actions are not supported")
	}
	return r, nil
}

func filterFromXML(x *xmlFilter) (*Filter, error) {
	if len(x.Other) > 0 {
		return nil, malformed("unknown element " + x.Other[0].XMLName.Local + " in Filter")
	}
	if n := len(x.Prefix) + len(x.Tag) + len(x.GreaterThan) + len(x.LessThan) + len(x.And); n > 1 {
		return nil, malformed("a Filter holds at most one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan and And")
	}
	f := &Filter{}
	var err error
	switch {
	case len(x.Prefix) == 1:
		p := x.Prefix[0]
		f.Prefix = &p
	case len(x.Tag) == 1:
		t, err := tagFromXML(&x.Tag[0])
		if err != nil {
			return nil, err
		}
		f.Tag = &t
	case len(x.GreaterThan) == 1:
		f.ObjectSizeGreaterThan, err = parseSize(x.GreaterThan[0], "ObjectSizeGreaterThan")
	case len(x.LessThan) == 1:
		f.ObjectSizeLessThan, err = parseSize(x.LessThan[0], "ObjectSizeLessThan")
	case len(x.And) == 1:
		f.And, err = andFromXML(&x.And[0])
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

func andFromXML(x *xmlAnd) (*And, error) {
	if len(x.Other) > 0 {
		return nil, malformed("unknown element " + x.Other[0].XMLName.Local + " in And")
	}
	if err := atMostOnce("And", map[string]int{
		"Prefix": len(x.Prefix), "ObjectSizeGreaterThan": len(x.GreaterThan), "ObjectSizeLessThan": len(x.LessThan),
	}); err != nil {
		return nil, err
	}
	a := &And{}
	if len(x.Prefix) == 1 {
		p := x.Prefix[0]
		a.Prefix = &p
	}
	for i := range x.Tags {
		t, err := tagFromXML(&x.Tags[i])
		if err != nil {
			return nil, err
		}
		a.Tags = append(a.Tags, t)
	}
	var err error
	if len(x.GreaterThan) == 1 {
		if a.ObjectSizeGreaterThan, err = parseSize(x.GreaterThan[0], "ObjectSizeGreaterThan"); err != nil {
			return nil, err
		}
	}
	if len(x.LessThan) == 1 {
		if a.ObjectSizeLessThan, err = parseSize(x.LessThan[0], "ObjectSizeLessThan"); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func tagFromXML(x *xmlTag) (Tag, error) {
	if len(x.Other) > 0 {
		return Tag{}, malformed("unknown element " + x.Other[0].XMLName.Local + " in Tag")
	}
	if len(x.Key) != 1 || len(x.Value) > 1 {
		return Tag{}, malformed("a Tag needs one Key and at most one Value")
	}
	t := Tag{Key: x.Key[0]}
	if len(x.Value) == 1 {
		t.Value = x.Value[0]
	}
	return t, nil
}

func expirationFromXML(x *xmlExpiration) (*Expiration, error) {
	if len(x.Other) > 0 {
		return nil, malformed("unknown element " + x.Other[0].XMLName.Local + " in Expiration")
	}
	if err := atMostOnce("Expiration", map[string]int{
		"Days": len(x.Days), "Date": len(x.Date), "ExpiredObjectDeleteMarker": len(x.Marker),
	}); err != nil {
		return nil, err
	}
	switch {
	case len(x.Days)+len(x.Date)+len(x.Marker) == 0:
		return nil, malformed("an Expiration needs one of Days, Date and ExpiredObjectDeleteMarker")
	case len(x.Days) == 1 && len(x.Date) == 1:
		return nil, malformed("an Expiration cannot have both Days and Date")
	case len(x.Marker) == 1 && len(x.Days)+len(x.Date) > 0:
		// S3 answers MalformedXML here, even for a false marker (the
		// element's presence is what its schema refuses).
		return nil, malformed("ExpiredObjectDeleteMarker cannot be specified with Days or Date")
	}
	e := &Expiration{}
	var err error
	if len(x.Days) == 1 {
		if e.Days, err = parseInt32(x.Days[0], "Days"); err != nil {
			return nil, err
		}
		if e.Days == 0 {
			return nil, invalidArg("'Days' for Expiration action must be a positive integer")
		}
	}
	if len(x.Date) == 1 {
		if e.Date, err = parseDate(x.Date[0]); err != nil {
			return nil, err
		}
	}
	if len(x.Marker) == 1 {
		if e.ExpiredObjectDeleteMarker, err = parseBool(x.Marker[0], "ExpiredObjectDeleteMarker"); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func atMostOnce(parent string, counts map[string]int) error {
	for name, n := range counts {
		if n > 1 {
			return malformed(name + " appears more than once in " + parent)
		}
	}
	return nil
}

// parseInt32 reads an xs:int. The range is checked by Validate so that a
// negative number gets S3's InvalidArgument, not MalformedXML.
func parseInt32(s, name string) (int, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, malformed(name + " is not an integer")
	}
	return int(n), nil
}

func parseSize(s, name string) (*int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return nil, malformed(name + " is not an integer")
	}
	return &n, nil
}

func parseBool(s, name string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, malformed(name + " is not a boolean")
}

// dateLayouts are the xs:dateTime forms clients send: with a zone or
// without (read as UTC), with or without fractional seconds.
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"}

func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range dateLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		t = t.UTC()
		if t.IsZero() {
			// The zero instant is how Expiration says "no Date".
			return time.Time{}, malformed("Date is out of range")
		}
		if t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 || t.Nanosecond() != 0 {
			return time.Time{}, invalidArg("'Date' must be at midnight GMT")
		}
		return t, nil
	}
	return time.Time{}, malformed("Date is not an ISO 8601 date and time")
}

// Validate checks a configuration against S3's rules: Parse calls it, and a
// configuration built by hand should pass it before it is stored. Rules may
// lack an ID here (Parse assigns them).
func (c *Configuration) Validate() error {
	if len(c.Rules) == 0 {
		return malformed("a LifecycleConfiguration needs at least one Rule")
	}
	if len(c.Rules) > MaxRules {
		return invalidArg("The number of lifecycle rules must not exceed the allowed limit of " + strconv.Itoa(MaxRules) + " rules")
	}
	seen := make(map[string]bool, len(c.Rules))
	for i := range c.Rules {
		r := &c.Rules[i]
		if err := r.validate(); err != nil {
			return err
		}
		if r.ID == "" {
			continue
		}
		if seen[r.ID] {
			return invalidArg("Rule ID must be unique. Found same ID for more than one rule")
		}
		seen[r.ID] = true
	}
	return nil
}

func (r *Rule) validate() error {
	if utf8.RuneCountInString(r.ID) > MaxIDLength {
		return invalidArg("ID length should not exceed allowed limit of 255")
	}
	if r.Status != StatusEnabled && r.Status != StatusDisabled {
		return malformed("Status must be Enabled or Disabled")
	}
	if r.Prefix != nil && r.Filter != nil {
		return malformed("a Rule cannot have both Prefix and Filter")
	}
	if r.Filter != nil {
		if err := r.Filter.validate(); err != nil {
			return err
		}
	}
	if r.Expiration == nil && r.NoncurrentVersionExpiration == nil && r.AbortIncompleteMultipartUpload == nil {
		return invalidReq("At least one action needs to be specified in a rule")
	}
	sel := r.selector()
	if e := r.Expiration; e != nil {
		if e.Days != 0 && !e.Date.IsZero() {
			return malformed("an Expiration cannot have both Days and Date")
		}
		if e.ExpiredObjectDeleteMarker && (e.Days != 0 || !e.Date.IsZero()) {
			return malformed("ExpiredObjectDeleteMarker cannot be specified with Days or Date")
		}
		if e.Days < 0 {
			return invalidArg("'Days' for Expiration action must be a positive integer")
		}
		if !e.Date.IsZero() && !isMidnightUTC(e.Date) {
			return invalidArg("'Date' must be at midnight GMT")
		}
		if e.ExpiredObjectDeleteMarker {
			// A delete marker has neither tags nor a size, so such a
			// filter could never select one.
			if len(sel.tags) > 0 {
				return invalidReq("ExpiredObjectDeleteMarker cannot be specified with Tags.")
			}
			if sel.hasSize() {
				return malformed("ExpiredObjectDeleteMarker cannot be specified with Object Size")
			}
		}
	}
	if n := r.NoncurrentVersionExpiration; n != nil {
		if n.NoncurrentDays <= 0 {
			return invalidArg("'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
		}
		if n.NewerNoncurrentVersions < 0 {
			return invalidArg("'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer")
		}
		if n.NewerNoncurrentVersions > MaxNewerNoncurrentVersions {
			return invalidArg("'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must not exceed 100")
		}
	}
	if a := r.AbortIncompleteMultipartUpload; a != nil {
		if a.DaysAfterInitiation <= 0 {
			return invalidArg("'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
		}
		// An upload has no tags or size yet.
		if len(sel.tags) > 0 {
			return invalidReq("AbortIncompleteMultipartUpload cannot be specified with Tags.")
		}
		if sel.hasSize() {
			return invalidReq("AbortIncompleteMultipartUpload cannot be specified with Object Size.")
		}
	}
	return nil
}

func (f *Filter) validate() error {
	n := 0
	for _, set := range []bool{f.Prefix != nil, f.Tag != nil, f.ObjectSizeGreaterThan != nil, f.ObjectSizeLessThan != nil, f.And != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return malformed("a Filter holds at most one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan and And")
	}
	if f.Tag != nil {
		if err := validateTags([]Tag{*f.Tag}); err != nil {
			return err
		}
	}
	if err := validateSizes(f.ObjectSizeGreaterThan, f.ObjectSizeLessThan); err != nil {
		return err
	}
	if a := f.And; a != nil {
		if a.Prefix == nil && len(a.Tags) == 0 && a.ObjectSizeGreaterThan == nil && a.ObjectSizeLessThan == nil {
			return malformed("an And needs at least one predicate")
		}
		if err := validateTags(a.Tags); err != nil {
			return err
		}
		if err := validateSizes(a.ObjectSizeGreaterThan, a.ObjectSizeLessThan); err != nil {
			return err
		}
	}
	return nil
}

func validateTags(tags []Tag) error {
	keys := make(map[string]bool, len(tags))
	for _, t := range tags {
		if t.Key == "" {
			return invalidArg("The TagKey you have provided is invalid")
		}
		if utf8.RuneCountInString(t.Key) > 128 {
			return invalidArg("The TagKey you have provided is too long, max 128")
		}
		if utf8.RuneCountInString(t.Value) > 256 {
			return invalidArg("The TagValue you have provided is too long, max 256")
		}
		if keys[t.Key] {
			return invalidReq("Duplicate Tag Keys are not allowed.")
		}
		keys[t.Key] = true
	}
	return nil
}

func validateSizes(gt, lt *int64) error {
	if gt != nil && *gt < 0 {
		return invalidArg("'ObjectSizeGreaterThan' must be a non-negative integer")
	}
	if lt != nil && *lt <= 0 {
		return invalidArg("'ObjectSizeLessThan' must be a positive integer")
	}
	if gt != nil && lt != nil && *gt >= *lt {
		return invalidArg("'ObjectSizeLessThan' must be greater than 'ObjectSizeGreaterThan'")
	}
	return nil
}

func isMidnightUTC(t time.Time) bool {
	t = t.UTC()
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}

// assignIDs gives rules without an ID a random one that no other rule has.
func assignIDs(c *Configuration) {
	taken := make(map[string]bool, len(c.Rules))
	for _, r := range c.Rules {
		taken[r.ID] = true
	}
	for i := range c.Rules {
		if c.Rules[i].ID != "" {
			continue
		}
		id := rand.Text()
		for taken[id] {
			id = rand.Text()
		}
		taken[id] = true
		c.Rules[i].ID = id
	}
}
