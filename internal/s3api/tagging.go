package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"sort"
	"strconv"

	"github.com/cofferstore/coffer/internal/object"
)

const maxTaggingXML = 64 << 10

type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	TagSet  struct {
		Tags []struct {
			Key   string `xml:"Key"`
			Value string `xml:"Value"`
		} `xml:"Tag"`
	} `xml:"TagSet"`
}

// ParseTagging decodes a Tagging document into a map, rejecting
// duplicate keys and sets over max tags. It is exported for its fuzz
// target.
func ParseTagging(data []byte, max int) (map[string]string, error) {
	var t tagging
	if err := xml.Unmarshal(data, &t); err != nil {
		return nil, errMalformedXML
	}
	tags := make(map[string]string, len(t.TagSet.Tags))
	for _, tg := range t.TagSet.Tags {
		if _, dup := tags[tg.Key]; dup {
			return nil, errorf("InvalidTag", http.StatusBadRequest, "Cannot provide multiple Tags with the same key")
		}
		tags[tg.Key] = tg.Value
	}
	if err := object.ValidateTags(tags, max); err != nil {
		return nil, err
	}
	return tags, nil
}

func appendTagging(b []byte, tags map[string]string) []byte {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, `<Tagging xmlns="`+xmlNS+`"><TagSet>`...)
	for _, k := range keys {
		b = append(b, "<Tag>"...)
		b = appendElem(b, "Key", k)
		b = appendElem(b, "Value", tags[k])
		b = append(b, "</Tag>"...)
	}
	return append(b, "</TagSet></Tagging>"...)
}

// readTagging reads and verifies a Tagging request body.
func (h *Handler) readTagging(rq *request, max int) (map[string]string, error) {
	body, err := rq.auth.Body(rq.r.Body)
	if err != nil {
		return nil, err
	}
	data, err := readLimited(body, maxTaggingXML)
	if err != nil {
		return nil, err
	}
	if md5, err := parseContentMD5(rq.r.Header); err != nil {
		return nil, err
	} else if md5 != nil {
		if err := verifyBodyDigest(rq.r.Header, data); err != nil {
			return nil, err
		}
	}
	return ParseTagging(data, max)
}

func (h *Handler) getObjectTagging(rq *request) error {
	vid, err := versionID(rq)
	if err != nil {
		return err
	}
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	tags, id, err := h.objects.ObjectTags(rq.ctx(), rq.bucket, rq.key, vid)
	if err != nil {
		return err
	}
	setVersionHeader(rq, id)
	return rq.writeXML(appendTagging(xmlHeader(), tags))
}

func (h *Handler) putObjectTagging(rq *request) error {
	vid, err := versionID(rq)
	if err != nil {
		return err
	}
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	tags, err := h.readTagging(rq, object.MaxObjectTags)
	if err != nil {
		return err
	}
	id, err := h.objects.PutObjectTags(rq.ctx(), rq.bucket, rq.key, vid, tags)
	if err != nil {
		return err
	}
	setVersionHeader(rq, id)
	return rq.writeStatus(http.StatusOK)
}

func (h *Handler) deleteObjectTagging(rq *request) error {
	vid, err := versionID(rq)
	if err != nil {
		return err
	}
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	id, err := h.objects.PutObjectTags(rq.ctx(), rq.bucket, rq.key, vid, nil)
	if err != nil {
		return err
	}
	setVersionHeader(rq, id)
	return rq.writeStatus(http.StatusNoContent)
}

const bucketTaggingConfig = "tagging"

func (h *Handler) getBucketTagging(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	data, err := h.objects.BucketConfig(rq.ctx(), rq.bucket, bucketTaggingConfig)
	if errors.Is(err, object.ErrNoSuchConfig) {
		return errorf("NoSuchTagSet", http.StatusNotFound, "The TagSet does not exist")
	}
	if err != nil {
		return err
	}
	tags, err := ParseTagging(data, object.MaxBucketTags)
	if err != nil {
		return err
	}
	return rq.writeXML(appendTagging(xmlHeader(), tags))
}

func (h *Handler) putBucketTagging(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	tags, err := h.readTagging(rq, object.MaxBucketTags)
	if err != nil {
		return err
	}
	// Stored re-encoded, so what is kept is exactly what was validated.
	if err := h.objects.PutBucketConfig(rq.ctx(), rq.bucket, bucketTaggingConfig, appendTagging(nil, tags)); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusNoContent)
}

func (h *Handler) deleteBucketTagging(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	if err := h.objects.DeleteBucketConfig(rq.ctx(), rq.bucket, bucketTaggingConfig); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusNoContent)
}

// tagCount is the x-amz-tagging-count header value, "" when untagged.
func tagCount(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	return strconv.Itoa(len(tags))
}
