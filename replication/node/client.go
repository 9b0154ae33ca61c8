package node

// Kafka framing of the broker ↔ controller requests (both ends), and the
// broker's side: sending one request to one controller node.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// versionRange is the versions of one request a controller node serves;
// brokers send the newest.
type versionRange struct{ min, max int16 }

// Versions of the requests a controller node serves, by key (rpc.go has
// what each one does).
var versions = map[int16]versionRange{
	int16(kmsg.CreateTopics):              {0, 7},
	int16(kmsg.DeleteTopics):              {0, 6},
	int16(kmsg.AlterConfigs):              {0, 2},
	int16(kmsg.CreatePartitions):          {0, 3},
	int16(kmsg.ElectLeaders):              {0, 2},
	int16(kmsg.AlterPartitionAssignments): {0, 0},
	int16(kmsg.AlterPartition):            {2, 3}, // by topic id
	int16(kmsg.FetchSnapshot):             {0, 1},
	int16(kmsg.BrokerRegistration):        {0, 4},
	int16(kmsg.BrokerHeartbeat):           {0, 2},
	int16(kmsg.AllocateProducerIDs):       {0, 0},
	int16(kmsg.CreateACLs):                {0, 3},
	int16(kmsg.DeleteACLs):                {0, 3},
	int16(kmsg.AlterUserSCRAMCredentials): {0, 0},
	int16(kmsg.AlterClientQuotas):         {1, 1}, // flexible: the answer's metadata offset tag
	int16(kmsg.DescribeQuorum):            {0, 2},
	int16(kmsg.UpdateFeatures):            {0, 2},
}

// MetadataSnapshotTopic is the topic and partition a FetchSnapshot names
// for the metadata image (Kafka's metadata log).
const MetadataSnapshotTopic = "__cluster_metadata"

// MetadataOffsetTag is the tagged field, Rill's own, in which a controller
// node's BrokerRegistration and BrokerHeartbeat answers carry the metadata
// log offset it had applied when it answered (an int64). Kafka's
// BrokerHeartbeatResponse says only IsCaughtUp; a broker back in session
// needs the offset itself, to lead again as soon as its metadata reaches
// it (see broker.Session). The answers to CreateAcls, DeleteAcls,
// AlterUserScramCredentials and AlterClientQuotas carry it too: the
// offset that includes the
// request's records, which the asking broker waits to apply. The tag is
// far above any Kafka uses; Kafka clients skip tags they do not know.
const MetadataOffsetTag = 10000

// ErrMalformed marks bytes that are not a request a controller node
// serves: not a Kafka request, or of a key or version outside Versions.
var ErrMalformed = errors.New("node: malformed or unsupported request")

// ParseRequest parses a request frame's body (a Kafka request without its
// size prefix: header, then body) into its correlation id and request.
func ParseRequest(data []byte) (int32, kmsg.Request, error) {
	b := kbin.Reader{Src: data}
	key, version, correlationID := b.Int16(), b.Int16(), b.Int32()
	b.NullableString() // client id
	if !b.Ok() {
		return 0, nil, fmt.Errorf("%w: %d-byte header", ErrMalformed, len(data))
	}
	vr, ok := versions[key]
	if !ok || version < vr.min || version > vr.max {
		return 0, nil, fmt.Errorf("%w: key %d v%d", ErrMalformed, key, version)
	}
	req := kmsg.RequestForKey(key)
	req.SetVersion(version)
	if req.IsFlexible() {
		kmsg.SkipTags(&b)
		if !b.Ok() {
			return 0, nil, fmt.Errorf("%w: header tags", ErrMalformed)
		}
	}
	if err := req.ReadFrom(b.Src); err != nil {
		return 0, nil, fmt.Errorf("%w: %s v%d: %v", ErrMalformed, kmsg.NameForKey(key), version, err)
	}
	return correlationID, req, nil
}

// AppendResponse appends a response frame's body: the Kafka response
// without its size prefix (correlation id, header tags, body).
func AppendResponse(dst []byte, correlationID int32, resp kmsg.Response) []byte {
	dst = kbin.AppendInt32(dst, correlationID)
	if resp.IsFlexible() {
		dst = append(dst, 0) // no tagged fields in the header
	}
	return resp.AppendTo(dst)
}

var formatter = kmsg.NewRequestFormatter(kmsg.FormatterClientID("rill-broker"))

// AppendRequest appends a request frame's body: req at the version a
// broker sends (set on req), as Kafka frames it, without the size prefix.
func AppendRequest(dst []byte, correlationID int32, req kmsg.Request) []byte {
	req.SetVersion(versions[req.Key()].max)
	framed := formatter.AppendRequest(nil, req, correlationID)
	return append(dst, framed[4:]...)
}

// ParseResponse parses a response frame's body as the answer to req.
func ParseResponse(data []byte, correlationID int32, req kmsg.Request) (kmsg.Response, error) {
	b := kbin.Reader{Src: data}
	if got := b.Int32(); !b.Ok() || got != correlationID {
		return nil, fmt.Errorf("node: answer to request %d is not (correlation id %d)", correlationID, got)
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() {
		kmsg.SkipTags(&b)
		if !b.Ok() {
			return nil, errors.New("node: answer's header tags do not decode")
		}
	}
	if err := resp.ReadFrom(b.Src); err != nil {
		return nil, fmt.Errorf("node: %s answer: %w", kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}

// Caller sends one request frame to a controller address and returns the
// answer frame (transport.Call).
type Caller func(ctx context.Context, addr string, req []byte) ([]byte, error)

var correlation atomic.Int32

// Ask sends req to the controller node at addr and returns its answer. An
// error is a failure to get one; the answer's own error is ResponseError.
func Ask(ctx context.Context, call Caller, addr string, req kmsg.Request) (kmsg.Response, error) {
	id := correlation.Add(1)
	data, err := call(ctx, addr, AppendRequest(nil, id, req))
	if err != nil {
		return nil, err
	}
	return ParseResponse(data, id, req)
}

// Error is a controller node's answer other than success: the Kafka error
// and the message it gave.
type Error struct {
	Kafka   *kerr.Error
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Kafka.Error()
	}
	return e.Message
}

// Unwrap makes errors.Is(err, kerr.X) and errors.As(err, **kerr.Error)
// see the code.
func (e *Error) Unwrap() error { return e.Kafka }

// AnswerError is the error of an item a controller node answered with a
// code and message (nil for code 0): an *Error.
func AnswerError(code int16, message *string) error { return answerError(code, message) }

func answerError(code int16, message *string) error {
	if code == 0 {
		return nil
	}
	e := &Error{Kafka: kerr.TypedErrorForCode(code)}
	if message != nil {
		e.Message = *message
	}
	return e
}

// notControllerItem is the request's refusal when one of its n items
// (code and message of item i) answers NOT_CONTROLLER; nil otherwise (the
// other items' errors are their own results).
func notControllerItem(n int, item func(i int) (int16, *string)) error {
	for i := range n {
		if code, msg := item(i); code == kerr.NotController.Code {
			return answerError(code, msg)
		}
	}
	return nil
}

// ResponseError is the error a controller node answered a request with:
// the response's top-level error, else its first item's (the brokers'
// requests name one item, except ElectLeaders, CreateAcls, DeleteAcls,
// AlterUserScramCredentials and AlterClientQuotas, whose per-item outcomes
// are results, not the request's error; for the last four a
// NOT_CONTROLLER item is the request's refusal). Nil: success.
func ResponseError(resp kmsg.Response) error {
	switch r := resp.(type) {
	case *kmsg.CreateACLsResponse:
		return notControllerItem(len(r.Results), func(i int) (int16, *string) { return r.Results[i].ErrorCode, r.Results[i].ErrorMessage })
	case *kmsg.DeleteACLsResponse:
		return notControllerItem(len(r.Results), func(i int) (int16, *string) { return r.Results[i].ErrorCode, r.Results[i].ErrorMessage })
	case *kmsg.AlterUserSCRAMCredentialsResponse:
		return notControllerItem(len(r.Results), func(i int) (int16, *string) { return r.Results[i].ErrorCode, r.Results[i].ErrorMessage })
	case *kmsg.AlterClientQuotasResponse:
		return notControllerItem(len(r.Entries), func(i int) (int16, *string) { return r.Entries[i].ErrorCode, r.Entries[i].ErrorMessage })
	case *kmsg.BrokerRegistrationResponse:
		return answerError(r.ErrorCode, nil)
	case *kmsg.BrokerHeartbeatResponse:
		return answerError(r.ErrorCode, nil)
	case *kmsg.AllocateProducerIDsResponse:
		return answerError(r.ErrorCode, nil)
	case *kmsg.DescribeQuorumResponse:
		return answerError(r.ErrorCode, r.ErrorMessage)
	case *kmsg.UpdateFeaturesResponse:
		return answerError(r.ErrorCode, r.ErrorMessage)
	case *kmsg.ElectLeadersResponse:
		return answerError(r.ErrorCode, nil)
	case *kmsg.AlterPartitionResponse:
		if r.ErrorCode != 0 {
			return answerError(r.ErrorCode, nil)
		}
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					return answerError(p.ErrorCode, nil)
				}
			}
		}
	case *kmsg.FetchSnapshotResponse:
		if r.ErrorCode != 0 {
			return answerError(r.ErrorCode, nil)
		}
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					return answerError(p.ErrorCode, nil)
				}
			}
		}
	case *kmsg.AlterPartitionAssignmentsResponse:
		if r.ErrorCode != 0 {
			return answerError(r.ErrorCode, r.ErrorMessage)
		}
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					return answerError(p.ErrorCode, p.ErrorMessage)
				}
			}
		}
	case *kmsg.CreateTopicsResponse:
		for _, t := range r.Topics {
			if t.ErrorCode != 0 {
				return answerError(t.ErrorCode, t.ErrorMessage)
			}
		}
	case *kmsg.DeleteTopicsResponse:
		for _, t := range r.Topics {
			if t.ErrorCode != 0 {
				return answerError(t.ErrorCode, t.ErrorMessage)
			}
		}
	case *kmsg.CreatePartitionsResponse:
		for _, t := range r.Topics {
			if t.ErrorCode != 0 {
				return answerError(t.ErrorCode, t.ErrorMessage)
			}
		}
	case *kmsg.AlterConfigsResponse:
		for _, t := range r.Resources {
			if t.ErrorCode != 0 {
				return answerError(t.ErrorCode, t.ErrorMessage)
			}
		}
	}
	return nil
}

// SetMetadataOffset puts offset in tags (MetadataOffsetTag).
func SetMetadataOffset(tags *kmsg.Tags, offset uint64) {
	tags.Set(MetadataOffsetTag, kbin.AppendInt64(nil, int64(offset)))
}

// MetadataOffset is the metadata offset an answer carries in
// MetadataOffsetTag (ok false: none).
func MetadataOffset(resp kmsg.Response) (uint64, bool) {
	var tags *kmsg.Tags
	switch r := resp.(type) {
	case *kmsg.BrokerRegistrationResponse:
		tags = &r.UnknownTags
	case *kmsg.BrokerHeartbeatResponse:
		tags = &r.UnknownTags
	case *kmsg.CreateACLsResponse:
		tags = &r.UnknownTags
	case *kmsg.DeleteACLsResponse:
		tags = &r.UnknownTags
	case *kmsg.AlterUserSCRAMCredentialsResponse:
		tags = &r.UnknownTags
	case *kmsg.AlterClientQuotasResponse:
		tags = &r.UnknownTags
	case *kmsg.AlterConfigsResponse:
		tags = &r.UnknownTags
	default:
		return 0, false
	}
	var offset int64 = -1
	tags.Each(func(key uint32, val []byte) {
		if key == MetadataOffsetTag {
			if b := (kbin.Reader{Src: val}); len(val) == 8 {
				offset = b.Int64()
			}
		}
	})
	if offset < 0 {
		return 0, false
	}
	return uint64(offset), true
}

// IncarnationID is the 16-byte incarnation id BrokerRegistration carries
// for a broker's incarnation (controller.BrokerInfo.Incarnation): the
// bytes of a 32-digit hex incarnation (what a broker makes), else a hash
// of it. The controller records it as hex (IncarnationString), so a hex
// incarnation reads back unchanged.
func IncarnationID(incarnation string) [16]byte {
	var id [16]byte
	if b, err := hex.DecodeString(incarnation); err == nil && len(b) == len(id) {
		copy(id[:], b)
		return id
	}
	sum := sha256.Sum256([]byte(incarnation))
	copy(id[:], sum[:])
	return id
}

// IncarnationString is how the image records an incarnation id.
func IncarnationString(id [16]byte) string { return hex.EncodeToString(id[:]) }
