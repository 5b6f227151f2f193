package lifecycle

import "encoding/xml"

const namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// dateLayout is how S3 writes an expiration Date.
const dateLayout = "2006-01-02T15:04:05.000Z"

// The output shapes omit absent elements (nil pointers) and keep present
// empty ones, so that a configuration reads back exactly as it was parsed.

type outRule struct {
	ID         string         `xml:"ID,omitempty"`
	Prefix     *string        `xml:"Prefix"`
	Filter     *outFilter     `xml:"Filter"`
	Status     string         `xml:"Status"`
	Expiration *outExpiration `xml:"Expiration"`
	Noncurrent *outNoncurrent `xml:"NoncurrentVersionExpiration"`
	Abort      *outAbort      `xml:"AbortIncompleteMultipartUpload"`
}

type outFilter struct {
	Prefix      *string `xml:"Prefix"`
	Tag         *outTag `xml:"Tag"`
	GreaterThan *int64  `xml:"ObjectSizeGreaterThan"`
	LessThan    *int64  `xml:"ObjectSizeLessThan"`
	And         *outAnd `xml:"And"`
}

type outAnd struct {
	Prefix      *string  `xml:"Prefix"`
	Tags        []outTag `xml:"Tag"`
	GreaterThan *int64   `xml:"ObjectSizeGreaterThan"`
	LessThan    *int64   `xml:"ObjectSizeLessThan"`
}

type outTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type outExpiration struct {
	Days   int    `xml:"Days,omitempty"`
	Date   string `xml:"Date,omitempty"`
	Marker *bool  `xml:"ExpiredObjectDeleteMarker"`
}

type outNoncurrent struct {
	NoncurrentDays int `xml:"NoncurrentDays"`
	Newer          int `xml:"NewerNoncurrentVersions,omitempty"`
}

type outAbort struct {
	Days int `xml:"DaysAfterInitiation"`
}

// MarshalXML writes the LifecycleConfiguration element of
// GetBucketLifecycleConfiguration, in the S3 namespace whatever start says.
func (c *Configuration) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Space: namespace, Local: "LifecycleConfiguration"}}
	out := struct {
		Rules []outRule `xml:"Rule"`
	}{Rules: make([]outRule, 0, len(c.Rules))}
	for i := range c.Rules {
		out.Rules = append(out.Rules, ruleToXML(&c.Rules[i]))
	}
	return e.EncodeElement(out, start)
}

// Bytes is the complete GetBucketLifecycleConfiguration body, XML
// declaration included. Parse(c.Bytes()) gives back c.
func (c *Configuration) Bytes() []byte {
	b, err := xml.Marshal(c)
	if err != nil {
		// Every field is a string, a number or a pointer to one, and
		// encoding/xml writes any string (it replaces characters XML
		// cannot hold): encoding cannot fail.
		panic("lifecycle: encoding a configuration: " + err.Error())
	}
	return append([]byte(xml.Header), b...)
}

func ruleToXML(r *Rule) outRule {
	o := outRule{ID: r.ID, Prefix: r.Prefix, Status: r.Status}
	if f := r.Filter; f != nil {
		of := &outFilter{
			Prefix:      f.Prefix,
			GreaterThan: f.ObjectSizeGreaterThan,
			LessThan:    f.ObjectSizeLessThan,
		}
		if f.Tag != nil {
			t := outTag(*f.Tag)
			of.Tag = &t
		}
		if a := f.And; a != nil {
			oa := &outAnd{Prefix: a.Prefix, GreaterThan: a.ObjectSizeGreaterThan, LessThan: a.ObjectSizeLessThan}
			for _, t := range a.Tags {
				oa.Tags = append(oa.Tags, outTag(t))
			}
			of.And = oa
		}
		o.Filter = of
	}
	if e := r.Expiration; e != nil {
		oe := &outExpiration{Days: e.Days}
		if !e.Date.IsZero() {
			oe.Date = e.Date.UTC().Format(dateLayout)
		}
		if e.Days == 0 && e.Date.IsZero() {
			// Without Days or Date the element is there, true or false.
			m := e.ExpiredObjectDeleteMarker
			oe.Marker = &m
		}
		o.Expiration = oe
	}
	if n := r.NoncurrentVersionExpiration; n != nil {
		o.Noncurrent = &outNoncurrent{NoncurrentDays: n.NoncurrentDays, Newer: n.NewerNoncurrentVersions}
	}
	if a := r.AbortIncompleteMultipartUpload; a != nil {
		o.Abort = &outAbort{Days: a.DaysAfterInitiation}
	}
	return o
}

var _ xml.Marshaler = (*Configuration)(nil)
