package authz

// Conversions between kmsg's CreateAcls, DescribeAcls and DeleteAcls
// messages and this package's types, with Kafka's error codes: this is the
// only file that knows the wire.

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrUnsupportedVersion is a pattern type version 0 of the ACL APIs
// cannot carry (anything but LITERAL, or ANY in filters): Kafka answers
// UNSUPPORTED_VERSION.
var ErrUnsupportedVersion = errors.New("authz: version 0 only supports literal resource pattern types")

// ErrSecurityDisabled is the answer of the ACL APIs when no authorizer is
// configured.
var ErrSecurityDisabled = errors.New("authz: no authorizer is configured on the broker")

// ErrorCode is err's Kafka code: 0 for nil, INVALID_REQUEST for ErrInvalid
// errors, UNSUPPORTED_VERSION, SECURITY_DISABLED, and
// UNKNOWN_SERVER_ERROR for anything else.
func ErrorCode(err error) int16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrInvalid):
		return kerr.InvalidRequest.Code
	case errors.Is(err, ErrUnsupportedVersion):
		return kerr.UnsupportedVersion.Code
	case errors.Is(err, ErrSecurityDisabled):
		return kerr.SecurityDisabled.Code
	}
	return kerr.UnknownServerError.Code
}

func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}

// wirePattern reads a request's pattern type: version 0 has no field
// (kmsg leaves the default or zero), and means LITERAL; a filter's ANY
// means LITERAL there too.
func wirePattern(version int16, p kmsg.ACLResourcePatternType, filter bool) (PatternType, error) {
	pt := PatternType(p)
	if version > 0 {
		return pt, nil
	}
	switch {
	case pt == PatternUnknown || pt == PatternLiteral:
		return PatternLiteral, nil
	case filter && pt == PatternAny:
		return PatternLiteral, nil
	}
	return pt, fmt.Errorf("%w (got %s)", ErrUnsupportedVersion, pt)
}

// BindingsFromCreate converts a CreateAcls request's creations; errs[i]
// is creation i's error (Binding.Validate's, or ErrUnsupportedVersion),
// nil for a valid one.
func BindingsFromCreate(req *kmsg.CreateACLsRequest) ([]Binding, []error) {
	bs := make([]Binding, len(req.Creations))
	errs := make([]error, len(req.Creations))
	for i, c := range req.Creations {
		pt, err := wirePattern(req.Version, c.ResourcePatternType, false)
		bs[i] = Binding{
			Pattern: Pattern{Type: ResourceType(c.ResourceType), Name: c.ResourceName, PatternType: pt},
			Entry:   Entry{Principal: c.Principal, Host: c.Host, Operation: Operation(c.Operation), Permission: Permission(c.PermissionType)},
		}
		if err == nil {
			err = bs[i].Validate()
		}
		errs[i] = err
	}
	return bs, errs
}

// CreateResponse answers req, one result per creation with errs[i]'s
// code; a nil errs answers success for all.
func CreateResponse(req *kmsg.CreateACLsRequest, errs []error) *kmsg.CreateACLsResponse {
	resp := kmsg.NewPtrCreateACLsResponse()
	resp.Version = req.Version
	for i := range req.Creations {
		var err error
		if i < len(errs) {
			err = errs[i]
		}
		r := kmsg.NewCreateACLsResponseResult()
		r.ErrorCode, r.ErrorMessage = ErrorCode(err), errorMessage(err)
		resp.Results = append(resp.Results, r)
	}
	return resp
}

// Creation is b as a CreateAcls creation (for clients and tools).
func Creation(b Binding) kmsg.CreateACLsRequestCreation {
	c := kmsg.NewCreateACLsRequestCreation()
	c.ResourceType = kmsg.ACLResourceType(b.Pattern.Type)
	c.ResourceName = b.Pattern.Name
	c.ResourcePatternType = kmsg.ACLResourcePatternType(b.Pattern.PatternType)
	c.Principal, c.Host = b.Entry.Principal, b.Entry.Host
	c.Operation = kmsg.ACLOperation(b.Entry.Operation)
	c.PermissionType = kmsg.ACLPermissionType(b.Entry.Permission)
	return c
}

func wireFilter(version int16, rt kmsg.ACLResourceType, name *string, p kmsg.ACLResourcePatternType, principal, host *string, op kmsg.ACLOperation, perm kmsg.ACLPermissionType) (Filter, error) {
	pt, err := wirePattern(version, p, true)
	f := Filter{
		Type: ResourceType(rt), Name: name, PatternType: pt,
		Principal: principal, Host: host, Operation: Operation(op), Permission: Permission(perm),
	}
	if err != nil {
		return f, err
	}
	return f, f.Validate()
}

// FilterFromDescribe converts a DescribeAcls request; an error
// (ErrInvalid, ErrUnsupportedVersion) is the whole answer's.
func FilterFromDescribe(req *kmsg.DescribeACLsRequest) (Filter, error) {
	return wireFilter(req.Version, req.ResourceType, req.ResourceName, req.ResourcePatternType, req.Principal, req.Host, req.Operation, req.PermissionType)
}

// DescribeResponse answers req with acls (Authorizer.ACLs' order), grouped
// by resource pattern, or with err's code and no resources.
func DescribeResponse(req *kmsg.DescribeACLsRequest, acls []ACL, err error) *kmsg.DescribeACLsResponse {
	resp := kmsg.NewPtrDescribeACLsResponse()
	resp.Version = req.Version
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = ErrorCode(err), errorMessage(err)
		return resp
	}
	resp.Resources = []kmsg.DescribeACLsResponseResource{}
	for _, group := range groupByPattern(acls) {
		p := group[0].Binding.Pattern
		r := kmsg.NewDescribeACLsResponseResource()
		r.ResourceType = kmsg.ACLResourceType(p.Type)
		r.ResourceName = p.Name
		r.ResourcePatternType = kmsg.ACLResourcePatternType(p.PatternType)
		for _, a := range group {
			e := kmsg.NewDescribeACLsResponseResourceACL()
			e.Principal, e.Host = a.Binding.Entry.Principal, a.Binding.Entry.Host
			e.Operation = kmsg.ACLOperation(a.Binding.Entry.Operation)
			e.PermissionType = kmsg.ACLPermissionType(a.Binding.Entry.Permission)
			r.ACLs = append(r.ACLs, e)
		}
		resp.Resources = append(resp.Resources, r)
	}
	return resp
}

// groupByPattern splits acls, sorted as ACLs sorts them, into runs of one
// resource pattern; an unsorted input gets a group per run.
func groupByPattern(acls []ACL) [][]ACL {
	var out [][]ACL
	for i := 0; i < len(acls); {
		j := i + 1
		for j < len(acls) && acls[j].Binding.Pattern == acls[i].Binding.Pattern {
			j++
		}
		out = append(out, acls[i:j])
		i = j
	}
	return out
}

// FiltersFromDelete converts a DeleteAcls request's filters; errs[i] is
// filter i's error, nil for a valid one.
func FiltersFromDelete(req *kmsg.DeleteACLsRequest) ([]Filter, []error) {
	fs := make([]Filter, len(req.Filters))
	errs := make([]error, len(req.Filters))
	for i, f := range req.Filters {
		fs[i], errs[i] = wireFilter(req.Version, f.ResourceType, f.ResourceName, f.ResourcePatternType, f.Principal, f.Host, f.Operation, f.PermissionType)
	}
	return fs, errs
}

// DeleteResponse answers req: filter i deleted matched[i], or failed with
// errs[i] (nil errs: all succeeded).
func DeleteResponse(req *kmsg.DeleteACLsRequest, matched [][]ACL, errs []error) *kmsg.DeleteACLsResponse {
	resp := kmsg.NewPtrDeleteACLsResponse()
	resp.Version = req.Version
	for i := range req.Filters {
		r := kmsg.NewDeleteACLsResponseResult()
		var err error
		if i < len(errs) {
			err = errs[i]
		}
		r.ErrorCode, r.ErrorMessage = ErrorCode(err), errorMessage(err)
		if err == nil && i < len(matched) {
			for _, a := range matched[i] {
				m := kmsg.NewDeleteACLsResponseResultMatchingACL()
				b := a.Binding
				m.ResourceType = kmsg.ACLResourceType(b.Pattern.Type)
				m.ResourceName = b.Pattern.Name
				m.ResourcePatternType = kmsg.ACLResourcePatternType(b.Pattern.PatternType)
				m.Principal, m.Host = b.Entry.Principal, b.Entry.Host
				m.Operation = kmsg.ACLOperation(b.Entry.Operation)
				m.PermissionType = kmsg.ACLPermissionType(b.Entry.Permission)
				r.MatchingACLs = append(r.MatchingACLs, m)
			}
		}
		resp.Results = append(resp.Results, r)
	}
	return resp
}

// SecurityDisabled is the answer to CreateAcls, DescribeAcls or DeleteAcls
// when no authorizer is configured (SECURITY_DISABLED everywhere), and
// nil for any other request.
func SecurityDisabled(req kmsg.Request) kmsg.Response {
	switch r := req.(type) {
	case *kmsg.CreateACLsRequest:
		errs := make([]error, len(r.Creations))
		for i := range errs {
			errs[i] = ErrSecurityDisabled
		}
		return CreateResponse(r, errs)
	case *kmsg.DescribeACLsRequest:
		return DescribeResponse(r, nil, ErrSecurityDisabled)
	case *kmsg.DeleteACLsRequest:
		errs := make([]error, len(r.Filters))
		for i := range errs {
			errs[i] = ErrSecurityDisabled
		}
		return DeleteResponse(r, nil, errs)
	}
	return nil
}
